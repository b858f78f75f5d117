//! Course feedback: the anonymous end-of-term survey per section and its results.

mod api;
pub mod dto;
mod forms;
mod pages;
pub mod service;

pub use service::threshold;

crate::typed_api! {
    tag: "feedback",
    routes: [
        api::api_feedback_results,
        api::api_feedback_submit,
    ],
    schemas: [
        dto::Answers,
        dto::Answered,
        dto::Question,
        dto::Results,
    ],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::feedback_page,
        pages::feedback_results_page,
        pages::feedback_submit,
    ]
}
