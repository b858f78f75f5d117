//! Courses and course selection (选课信息管理): terms, courses and sections, browsed by
//! students and managed by staff.

mod api;
pub mod dto;
pub mod edit;
mod forms;
mod pages;
pub mod service;
pub mod timetable;

crate::typed_api! {
    tag: "courses",
    routes: [
        api::api_terms,
        api::api_sections,
        api::api_term_create,
        api::api_term_update,
        api::api_course_create,
        api::api_course_update,
        api::api_section_create,
        api::api_section_update,
    ],
    schemas: [
        dto::TermOut,
        dto::SectionPage,
        dto::CourseOut,
        dto::SectionOut,
        dto::TermBody,
        dto::CourseBody,
        dto::PrereqBody,
        dto::MeetingBody,
        dto::SectionBody,
        service::SectionRow,
        service::Meeting,
    ],
}

/// The catalogue for everyone, and the catalogue office's pages.
pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::catalogue,
        pages::manage_page,
        pages::term_form,
        pages::term_submit,
        pages::course_form,
        pages::course_submit,
        pages::section_form,
        pages::section_submit,
    ]
}
