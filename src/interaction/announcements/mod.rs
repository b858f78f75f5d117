//! Announcements: university, department and section notices, published at a chosen time.

mod api;
mod forms;
mod pages;
pub mod service;

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api::api_list_announcements, api::api_create_announcement]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![pages::announcements_page, pages::announcements_submit]
}
