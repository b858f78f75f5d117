//! Care for students at risk: the work list, the interventions staff record, the effect report.

mod api;
pub mod dto;
mod forms;
mod pages;
pub mod service;

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![
        api::api_care_worklist,
        api::api_record_intervention,
        api::api_care_effect,
    ]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![pages::care_page, pages::care_submit, pages::effect_page]
}

/// This domain's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        api::api_care_worklist,
        api::api_record_intervention,
        api::api_care_effect
    ),
    components(schemas(
        dto::WorkRow,
        dto::WorkPage,
        dto::NewIntervention,
        dto::InterventionItem,
        dto::Group,
        dto::Comparison,
        dto::Effect,
    ))
)]
struct ApiDoc;
