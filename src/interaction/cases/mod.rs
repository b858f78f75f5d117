//! Cases (inquiries, complaints, suggestions): opening, routing, handling, rating, the report.

mod api;
pub mod dto;
mod forms;
mod pages;
pub mod service;

crate::typed_api! {
    tag: "cases",
    routes: [
        api::api_open_case,
        api::api_list_cases,
        api::api_show_case,
        api::api_case_action,
        api::api_case_report,
    ],
    schemas: [
        crate::entity::cases::CaseStatus,
        dto::NewCase,
        dto::Action,
        dto::Step,
        dto::OpenedCase,
        dto::CaseItem,
        dto::CasePage,
        dto::CaseEvent,
        dto::CaseRating,
        dto::CaseDetail,
        dto::CaseState,
        dto::ActionResult,
        dto::ReportRow,
    ],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::cases_page,
        pages::cases_submit,
        pages::case_page,
        pages::case_submit,
        pages::report_page,
    ]
}
