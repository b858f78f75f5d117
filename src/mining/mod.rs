//! Mining (数据挖掘): at-risk flags with reasons, clusters and personalised teaching
//! suggestions, evaluated honestly against baselines and published results.

pub mod alerts;
mod api;
mod charts;
pub mod cli;
pub mod dto;
pub mod early;
pub mod features;
pub mod formula;
pub mod jobs;
pub mod ml;
mod pages;
mod panel;
pub mod plan;
pub mod reasons;
pub mod recommend;
pub mod recommend_store;
pub mod rules;
pub mod run;
pub mod service;
pub mod settings;
pub mod trial;

pub use panel::profile_panel;

use rocket::Route;

pub fn page_routes() -> Vec<Route> {
    rocket::routes![
        pages::overview,
        pages::start_run,
        pages::cancel_run,
        pages::run_page,
        pages::save_settings,
        pages::flags_page,
        pages::feedback,
        pages::rules_page,
        pages::rule_create,
        pages::rule_save,
        pages::rule_active,
        pages::rule_delete,
        pages::formula_page,
        pages::formula_post,
        pages::formula_active,
        pages::formula_delete,
        pages::my_suggestions,
    ]
}

crate::typed_api! {
    tag: "mining",
    routes: [
        api::api_runs,
        api::api_run,
        api::api_start_run,
        api::api_cancel_run,
        api::api_flags,
        api::api_flag_feedback,
        api::api_formula_trial,
        api::api_rules,
        api::api_rule_create,
        api::api_rule_update,
        api::api_rule_delete,
        api::api_formulas,
        api::api_formula_save,
        api::api_formula_update,
        api::api_formula_delete,
        api::api_my_suggestions,
        api::api_my_recommendations,
    ],
    schemas: [
        dto::RunDetail,
        dto::StartRequest,
        dto::RunStatusAnswer,
        dto::RunAnswerStatus,
        dto::FeedbackRequest,
        dto::FeedbackAnswer,
        dto::TrialRequest,
        dto::MatchedStudent,
        dto::RuleItem,
        dto::RuleList,
        dto::NewRuleRequest,
        dto::RulePatchRequest,
        dto::FormulaList,
        dto::SaveFormulaRequest,
        dto::FormulaActiveRequest,
        dto::FormulaState,
        service::RunRow,
        service::FlagRow,
        service::SectionRef,
        service::FeedbackCounts,
        service::MySuggestions,
        dto::MyRecommendations,
        recommend_store::Recommendation,
        recommend_store::RecommendationReason,
        recommend::Offline,
        recommend::Measured,
        rules::Suggestion,
        trial::TrialAnswer,
        formula::Trial,
        formula::SavedFormula,
        crate::entity::job_status::JobStatus,
    ],
}
