//! Care for students at risk: the work list, the interventions staff record, the effect report.

mod api;
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
