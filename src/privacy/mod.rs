//! A student's own data: "download my data", everything the portal holds about them as one
//! archive of JSON and CSV, built in the background. ("Who has looked at my record" is the
//! students domain's `reads`.)

mod api;
mod pages;

pub mod archive;
pub mod service;

crate::typed_api! {
    tag: "students",
    routes: [api::api_my_export, api::api_my_export_refresh],
    schemas: [service::ExportStatus],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::my_data_page,
        pages::my_data_submit,
        pages::my_data_download
    ]
}
