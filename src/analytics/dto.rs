//! What the analytics API answers.

use super::transitions::Transition;
use super::value::{Flow, TermRef};
use serde::Serialize;

/// One cell of the value matrix.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CellAnswer {
    /// `develop`, `engage`, `support` or `rescue`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub strategy_zh: String,
    pub strategy_en: String,
    /// Students in the cell (in the caller's scope) in the latest computed term.
    pub count: i64,
    /// Whether the cell is the high side of the standing axis.
    pub high_standing: bool,
    /// Whether the cell is the high side of the relationship axis.
    pub high_relationship: bool,
}

/// The value matrix: counts per cell, the thresholds and the movement since last term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ValueMatrixAnswer {
    /// The latest computed term (none before the first computation).
    pub term: Option<TermRef>,
    /// The computed term before it, which the movement starts from.
    pub previous_term: Option<TermRef>,
    /// Standing scores (0–100) at or above this are high.
    pub standing_at: f64,
    /// Relationship scores (0–100) at or above this are high.
    pub relationship_at: f64,
    pub total: i64,
    pub cells: Vec<CellAnswer>,
    /// Students per (cell last term, cell this term), for students placed in both.
    pub movement: Vec<Flow>,
}

/// One student's lifecycle history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudentLifecycle {
    pub student_id: i64,
    /// The stage derived now.
    pub stage: crate::students::lifecycle::Stage,
    /// Stored transitions, oldest first.
    pub transitions: Vec<Transition>,
}
