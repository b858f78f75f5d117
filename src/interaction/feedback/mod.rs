//! Course feedback: the anonymous end-of-term survey per section and its results.

mod api;
pub mod dto;
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

/// This domain's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api::api_feedback_results, api::api_feedback_submit),
    components(schemas(dto::Answers, dto::Answered, dto::Question, dto::Results))
)]
struct ApiDoc;
