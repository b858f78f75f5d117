//! Interaction and care (互动沟通, 客户关怀): messages, inquiries and complaints, course
//! feedback, announcements, and the care given to students at risk.

use rocket::Route;

pub fn page_routes() -> Vec<Route> {
    rocket::routes![]
}

pub fn api_routes() -> Vec<Route> {
    rocket::routes![]
}
