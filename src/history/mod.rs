//! Importing a university's history (issue 18): `srm import history DIR` and the registrar's
//! page `/import/history`, the same code.

mod pages;
pub mod read;
pub mod service;

/// The registrar's history import pages.
pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::import_page,
        pages::import_submit,
        pages::job_page,
        pages::job_cancel,
        pages::job_resume,
        pages::job_rejected,
    ]
}
