//! Interaction and care (互动沟通, 客户关怀): messages, inquiries and complaints, course
//! feedback, announcements, and the care given to students at risk. Each sub-area is a domain
//! folder of its own; this module only gathers their routes.

pub mod announcements;
pub mod care;
pub mod cases;
pub mod feedback;
pub mod messages;
mod panel;
pub mod settings;
pub mod util;

pub use messages::notify::unread_counts;
pub use panel::{dashboard_announcements, profile_panel};

pub fn page_routes() -> Vec<rocket::Route> {
    [
        cases::page_routes(),
        messages::page_routes(),
        announcements::page_routes(),
        feedback::page_routes(),
        care::page_routes(),
        settings::page_routes(),
    ]
    .concat()
}

pub fn api_routes() -> Vec<rocket::Route> {
    [
        cases::api_routes(),
        messages::api_routes(),
        announcements::api_routes(),
        feedback::api_routes(),
        care::api_routes(),
    ]
    .concat()
}

/// The interaction domains' part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = cases::openapi();
    for part in [
        messages::openapi(),
        announcements::openapi(),
        feedback::openapi(),
        care::openapi(),
    ] {
        api.merge(part);
    }
    api
}
