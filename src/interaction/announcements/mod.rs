//! Announcements: university, department and section notices, published at a chosen time.

mod api;
pub mod dto;
mod forms;
mod pages;
pub mod service;

crate::typed_api! {
    tag: "announcements",
    routes: [
        api::api_list_announcements,
        api::api_create_announcement,
    ],
    schemas: [
        dto::NewAnnouncement,
        dto::AnnouncementItem,
        dto::AnnouncementPage,
    ],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![pages::announcements_page, pages::announcements_submit]
}
