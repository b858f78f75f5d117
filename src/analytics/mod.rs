//! The CRM view of the student body over time: the value matrix (standing × relationship, a
//! strategy per cell, stored per term so movement is real) and the lifecycle over time
//! (stored stage transitions, stage counts per term, the funnel and recovery with care).

pub mod analysis;
mod api;
pub mod charts;
pub mod dto;
pub mod facts;
pub mod forms;
pub mod history;
pub mod jobs;
mod pages;
mod panel;
pub mod portfolio;
pub mod retention;
pub mod satisfaction;
pub mod scope;
pub mod score;
pub mod service;
pub mod settings;
pub mod sql;
pub mod store;
pub mod stored;
pub mod tables;
pub mod transitions;
pub mod value;

pub use panel::profile_panel;

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::value_matrix_page,
        pages::value_compute_submit,
        pages::value_cell_care_submit,
        pages::value_settings_page,
        pages::value_settings_submit,
        pages::value_matrix_csv,
        pages::lifecycle_page,
        pages::lifecycle_csv,
        pages::summary_page,
        pages::summary_csv,
        pages::snapshot_submit,
        pages::retention_page,
        pages::retention_csv,
        pages::portfolio_page,
        pages::portfolio_csv,
        pages::satisfaction_page,
        pages::satisfaction_csv,
    ]
}

crate::typed_api! {
    tag: "analytics",
    routes: [
        api::api_value_matrix,
        api::api_value_compute,
        api::api_lifecycle_report,
        api::api_student_lifecycle,
        api::api_value_cell_care,
        api::api_summary,
        api::api_snapshot,
        api::api_retention,
        api::api_portfolio,
        api::api_satisfaction,
    ],
    schemas: [
        dto::CellAnswer,
        dto::ValueMatrixAnswer,
        dto::StudentLifecycle,
        value::TermRef,
        value::Flow,
        value::MatrixComputed,
        transitions::Transition,
        analysis::LifecycleReport,
        analysis::TermStages,
        analysis::Funnel,
        analysis::Recovery,
        retention::RetentionReport,
        retention::RetentionTerm,
        retention::RetentionCell,
        retention::CohortRetention,
        retention::LeavingReason,
        portfolio::Portfolio,
        portfolio::PortfolioCourse,
        portfolio::PortfolioSort,
        portfolio::SortDir,
        satisfaction::SatisfactionReport,
        satisfaction::SatisfactionRow,
        store::Summary,
        store::SummaryTerm,
        store::Snapshot,
        crate::students::query::ValueCell,
    ],
}
