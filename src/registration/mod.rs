//! Course selection (选课): add, drop and swap sections with waitlists that promote
//! automatically, safe under any number of racing requests and app instances.

mod admission;
mod api;
pub mod dto;
mod forms;
pub mod holds;
pub mod idempotency;
mod pages;
pub mod roster;
pub mod rules;
pub mod service;

crate::typed_api! {
    tag: "registration",
    routes: [
        api::api_list,
        api::api_add,
        api::api_drop,
        api::api_swap,
        api::api_holds,
        api::api_place_hold,
        api::api_lift_hold,
        api::api_grant_override,
        api::api_roster,
    ],
    schemas: [
        dto::AddBody,
        dto::SwapBody,
        dto::DropOut,
        dto::HoldBody,
        dto::HoldOut,
        dto::OverrideBody,
        dto::OverrideOut,
        service::Registration,
        service::MyRegistration,
        roster::RosterRow,
        crate::entity::enrolments::EnrolmentStatus,
    ],
}

/// My registrations, the registrar's holds page and a section's roster.
pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::page,
        pages::page_add,
        pages::page_drop,
        pages::page_swap,
        pages::roster_page,
        pages::holds_page,
        pages::place_hold_submit,
        pages::lift_hold_submit,
        pages::override_submit,
    ]
}
