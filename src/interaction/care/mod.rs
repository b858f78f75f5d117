//! Care for students at risk: the work list, the interventions staff record, the effect report.

mod api;
pub mod dto;
mod forms;
mod pages;
pub mod service;

crate::typed_api! {
    tag: "care",
    routes: [
        api::api_care_worklist,
        api::api_record_intervention,
        api::api_care_effect,
        api::api_care_referrals,
    ],
    schemas: [
        dto::WorkRow,
        dto::NewIntervention,
        dto::InterventionItem,
        dto::Group,
        dto::Comparison,
        dto::Effect,
        dto::ReferralRow,
        dto::Referred,
    ],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::care_page,
        pages::care_submit,
        pages::effect_page,
        pages::referrals_list_page,
        pages::referrals_submit,
    ]
}
