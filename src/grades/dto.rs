//! The grades API's request and response types.

use super::assess::{AssessmentView, ScoreView};
use super::changes::{ChangeRow, HistoryRow};
use super::scale::Scale;
use super::service::{PublishSummary, SaveReport};
use super::types::{EntryIn, RowError};
use crate::entity::{grade_changes, mirror_row};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// A section's grades to save: `{"grades": [...]}` or the bare list.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum GradesBody {
    Wrapped { grades: Vec<EntryIn> },
    Bare(Vec<EntryIn>),
}

impl GradesBody {
    /// The rows, numbered from 1 in the order sent.
    pub fn rows(self) -> Vec<EntryIn> {
        let list = match self {
            GradesBody::Wrapped { grades } => grades,
            GradesBody::Bare(list) => list,
        };
        numbered(list)
    }
}

/// One assessment's scores to save: `{"scores": [...]}` or the bare list.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ScoresBody {
    Wrapped { scores: Vec<EntryIn> },
    Bare(Vec<EntryIn>),
}

impl ScoresBody {
    pub fn rows(self) -> Vec<EntryIn> {
        let list = match self {
            ScoresBody::Wrapped { scores } => scores,
            ScoresBody::Bare(list) => list,
        };
        numbered(list)
    }
}

fn numbered(list: Vec<EntryIn>) -> Vec<EntryIn> {
    list.into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.line = i + 1;
            e
        })
        .collect()
}

/// Rows refused one by one: nothing was saved.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowsRefused {
    pub error: RowsRefusedDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowsRefusedDetail {
    /// `invalid_rows` (with `rows`), or another refusal's code (without them)
    pub code: String,
    pub message: String,
    /// The refused rows, for `invalid_rows`.
    #[schema(required = false)]
    pub rows: Vec<RowError>,
}

impl RowsRefused {
    pub fn new(rows: Vec<RowError>) -> Self {
        RowsRefused {
            error: RowsRefusedDetail {
                code: "invalid_rows".into(),
                message: format!("{} row(s) refused; nothing was saved", rows.len()),
                rows,
            },
        }
    }
}

/// A save's answer: the counts, or every refused row (422).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SaveAnswer {
    Saved(SaveReport),
    Refused(RowsRefused),
}

/// Scores saved for one assessment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScoresSaved {
    pub saved: usize,
}

/// An assessment's scores saved, or every refused row (422).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ScoresAnswer {
    Saved(ScoresSaved),
    Refused(RowsRefused),
}

/// What publishing did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Published {
    pub section_id: i64,
    /// How many grades were published.
    pub published: u64,
    pub summary: PublishSummary,
}

/// A section's assessments and the total of their weights.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Assessments {
    pub items: Vec<AssessmentView>,
    pub weight_total: f64,
}

/// The scores of one assessment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Scores {
    pub items: Vec<ScoreView>,
}

/// Grade change requests, in one list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeQueue {
    pub items: Vec<ChangeRow>,
    pub total: usize,
    pub page: u64,
    pub per_page: u64,
}

/// Query of the change queue.
#[derive(Debug, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeQueueQuery {
    /// `pending` (the default), `approved` or `rejected`.
    pub status: Option<String>,
}

/// A grade's history and its change requests.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GradeHistory {
    pub grade_id: i64,
    pub history: Vec<HistoryRow>,
    pub change_requests: Vec<ChangeRow>,
}

/// The statistics scope, as query parameters.
#[derive(Debug, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatisticsQuery {
    pub course: Option<i64>,
    pub term: Option<i64>,
    pub department: Option<i64>,
}

/// The grading scales.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScaleList {
    pub items: Vec<Scale>,
}

/// A grading scale to define, optionally as the new default.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ScaleBody {
    #[serde(flatten)]
    pub scale: Scale,
    #[serde(default)]
    pub is_default: bool,
}

mirror_row! {
    /// A grade change request.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct ChangeOut from grade_changes::Model {
        pub id: i64,
        pub grade_id: i64,
        pub old_score: f64,
        pub new_score: f64,
        pub reason: String,
        pub requested_by: i64,
        pub requested_at: DateTime<FixedOffset>,
        /// `pending`, `approved` or `rejected`.
        pub status: String,
        pub decided_by: Option<i64>,
        pub decided_at: Option<DateTime<FixedOffset>>,
        pub decision_note: Option<String>,
    }
}
