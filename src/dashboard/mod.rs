//! One dashboard per role: a student's own record, a teacher's sections, the administrator's
//! overview of the university.

mod pages;
pub mod service;

/// The dashboard has no API.
pub fn api_routes() -> Vec<rocket::Route> {
    Vec::new()
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![pages::dashboard]
}
