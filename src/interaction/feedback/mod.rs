//! Course feedback: the anonymous end-of-term survey per section and its results.

mod api;
mod forms;
mod pages;
pub mod service;

pub use service::threshold;

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api::api_feedback_results, api::api_feedback_submit]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::feedback_page,
        pages::feedback_results_page,
        pages::feedback_submit,
    ]
}
