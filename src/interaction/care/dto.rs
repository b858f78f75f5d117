//! The care API's request and response types.

use crate::entity::{interventions, mirror_row};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkRow {
    pub flag_id: i64,
    pub student_id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub score: f64,
    pub level: String,
    pub reasons: Vec<String>,
    pub interventions: usize,
    pub last_care: Option<NaiveDate>,
    pub follow_up_on: Option<NaiveDate>,
    pub follow_up_due: bool,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewIntervention {
    pub student_id: i64,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub notes: String,
    /// YYYY-MM-DD; today when absent.
    pub happened_on: Option<String>,
    pub follow_up_on: Option<String>,
    pub outcome: Option<String>,
    pub flag_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub n: usize,
    pub mean_before: Option<f64>,
    pub mean_after: Option<f64>,
    pub mean_change: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    /// `all`, or a risk level.
    pub level: String,
    pub care: Group,
    pub no_care: Group,
    /// care.mean_change − no_care.mean_change
    pub difference: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Effect {
    pub window_weeks: i64,
    pub flagged: usize,
    /// Left out: no scores before or after the flag.
    pub excluded_no_scores: usize,
    /// Left out: the window after the flag has not ended yet.
    pub pending: usize,
    pub comparisons: Vec<Comparison>,
}

/// Which page of the work list, at which risk level (the query string).
#[derive(Debug, Clone, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorklistQuery {
    /// `high` or `medium`; both when absent.
    pub level: Option<String>,
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

mirror_row! {
    /// A recorded intervention.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct InterventionItem from interventions::Model {
        pub id: i64,
        pub student_id: i64,
        pub flag_id: Option<i64>,
        pub staff_id: i64,
        /// meeting, tutoring, referral or message
        pub kind: String,
        pub notes: String,
        pub happened_on: NaiveDate,
        pub follow_up_on: Option<NaiveDate>,
        pub outcome: Option<String>,
        pub created_at: DateTime<FixedOffset>,
    }
}

/// A student handed to care as one of a group, still open (no care recorded since).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralRow {
    pub id: i64,
    pub student_id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    /// `value_cell`.
    pub source: String,
    /// The group: the cell's code.
    pub code: String,
    /// The group's name when the student was handed over.
    pub group_zh: String,
    pub group_en: String,
    /// The group's strategy when the student was handed over.
    pub reason_zh: String,
    pub reason_en: String,
    pub referred_at: DateTime<FixedOffset>,
}

/// What handing a group to care did.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Referred {
    /// Students handed over now.
    pub referred: u64,
    /// Students of the group already handed over for it and not yet cared for.
    pub already_open: u64,
}
