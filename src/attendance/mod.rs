//! Attendance (考勤): the teacher takes the roll of each class meeting on a phone (everyone
//! present, the exceptions marked), students see their own record, advisors see it on the
//! 360° page, and card-reader files are imported. The rates feed the early warning.

mod api;
pub mod dto;
mod forms;
pub mod import;
pub mod meetings;
mod pages;
mod panel;
pub mod service;

pub use panel::profile_panel;

/// The attendance pages: the teacher's meetings and rolls, and the student's own record.
pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::index,
        pages::section_page,
        pages::roll_page,
        pages::roll_submit,
        pages::mine,
        pages::import_page,
        pages::import_submit,
        pages::import_report,
        pages::import_rejected,
    ]
}

crate::typed_api! {
    tag: "attendance",
    routes: [
        api::api_meetings,
        api::api_roll,
        api::api_save_roll,
        api::api_my_attendance,
        api::api_student_attendance,
    ],
    schemas: [
        dto::RollBody,
        dto::SectionMeetings,
        service::Mark,
        service::MarkIn,
        service::MeetingOut,
        service::Roll,
        service::RollLine,
        service::RollSaved,
        service::MarkLine,
        service::SectionAttendance,
        service::StudentAttendance,
    ],
}
