//! The administrator's interaction settings: routing, queues, deadlines, thresholds, e-mail.

mod forms;
mod pages;
pub mod service;

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![pages::settings_page, pages::settings_submit]
}
