//! Courses and course selection (选课信息管理): terms, courses and sections, browsed by
//! students and managed by staff.

pub mod handlers;
pub mod manage;
pub mod manage_pages;
pub mod service;

pub use handlers::api_routes;

/// The catalogue for everyone, and the catalogue office's pages.
pub fn page_routes() -> Vec<rocket::Route> {
    let mut routes = handlers::page_routes();
    routes.extend(manage_pages::page_routes());
    routes
}
