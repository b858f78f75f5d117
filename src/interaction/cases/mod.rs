//! Cases (inquiries, complaints, suggestions): opening, routing, handling, rating, the report.

mod api;
mod forms;
mod pages;
pub mod service;

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![
        api::api_open_case,
        api::api_list_cases,
        api::api_show_case,
        api::api_case_action,
        api::api_case_report,
    ]
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
