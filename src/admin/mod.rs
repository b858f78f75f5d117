//! Administration: accounts, permission groups, functional modules, the audit log.

pub mod handlers;
pub mod service;

pub fn page_routes() -> Vec<rocket::Route> {
    handlers::page_routes()
}

pub fn api_routes() -> Vec<rocket::Route> {
    handlers::api_routes()
}
