//! The course feedback API's request and response types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Answers {
    pub teaching: Option<i64>,
    pub content: Option<i64>,
    pub workload: Option<i64>,
    pub overall: Option<i64>,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Question {
    pub code: &'static str,
    pub mean: f64,
    /// How many answered 1, 2, 3, 4, 5.
    pub counts: [u64; 5],
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Results {
    pub section_id: i64,
    pub responses: u64,
    pub enrolled: i64,
    pub threshold: u64,
    /// Whether the survey has closed; results never show while it is open.
    pub closed: bool,
    /// False while open or below the threshold: then `questions` and `comments` are empty.
    pub shown: bool,
    pub questions: Vec<Question>,
    pub comments: Vec<String>,
}

/// A survey answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Answered {
    pub section_id: i64,
    pub answered: bool,
}
