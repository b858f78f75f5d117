//! Announcements: university, department and section notices, published at a chosen time.

mod api;
pub mod dto;
mod forms;
mod pages;
pub mod service;

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api::api_list_announcements, api::api_create_announcement]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![pages::announcements_page, pages::announcements_submit]
}

/// This domain's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api::api_list_announcements, api::api_create_announcement),
    components(schemas(dto::NewAnnouncement, dto::AnnouncementItem, dto::AnnouncementPage))
)]
struct ApiDoc;
