//! The mining API's request and response bodies (and its query strings), with their OpenAPI
//! schemas. Entities are never sent as they are.

use super::rules::RuleMatches;
use super::service::{FeedbackCounts, RunRow};
use crate::entity::suggestion_rules;
use rocket::FromForm;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub use crate::paging::PageQuery;

/// One run with its metrics and its flags' feedback counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunRow,
    pub feedback: FeedbackCounts,
}

/// Starting a run is deliberate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Must be true.
    pub confirm: bool,
}

/// `queued` after a start; `cancelling` while the worker stops, `cancelled` when no live
/// instance held the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunAnswerStatus {
    Queued,
    Cancelling,
    Cancelled,
}

/// A run and its status after a start or a cancel.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunStatusAnswer {
    pub id: i64,
    pub status: RunAnswerStatus,
}

/// The flag list's filters, run, page and language.
#[derive(Debug, Default, FromForm, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagsQuery {
    /// The risk level.
    #[param(inline, value_type = Option<crate::students::query::RiskLevel>)]
    pub level: Option<String>,
    /// A department's id.
    pub department: Option<i64>,
    /// flagged, only (by the active formula, not the model) or model_only.
    #[param(inline, value_type = Option<FormulaFilter>)]
    pub formula: Option<String>,
    /// A run's id; default: the latest finished run.
    pub run: Option<i64>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Rows per page (50 when absent).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
    /// en or zh: the language of the reasons.
    pub lang: Option<String>,
}

/// Which flags the active scoring formula picks out, as the list filters by it.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum FormulaFilter {
    /// Flagged by the formula.
    Flagged,
    /// Flagged by the formula and not by the model.
    Only,
    /// Flagged by the model and not by the formula.
    ModelOnly,
}

/// Staff's verdict on a flag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// useful, not_useful or wrong.
    pub feedback: String,
}

/// The flag and the verdict recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackAnswer {
    pub id: i64,
    pub feedback: String,
}

/// A formula to try: weights by feature, the threshold and an optional department.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialRequest {
    pub weights: BTreeMap<String, f64>,
    pub threshold: f64,
    pub department_id: Option<i64>,
}

/// A student of a rule's matches.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchedStudent {
    pub student_id: i64,
    pub student_no: String,
}

/// A suggestion rule; `matches` and `match_sample` only in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleItem {
    pub id: i64,
    pub code: String,
    pub priority: i64,
    /// The trigger object.
    pub trigger: Value,
    pub text_zh: String,
    pub text_en: String,
    pub is_active: bool,
    /// How many students of the latest run the trigger matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_sample: Option<Vec<MatchedStudent>>,
}

impl RuleItem {
    pub fn new(r: &suggestion_rules::Model, m: Option<&RuleMatches>) -> Self {
        RuleItem {
            id: r.id,
            code: r.code.clone(),
            priority: r.priority,
            trigger: serde_json::from_str(&r.trigger).unwrap_or(Value::Null),
            text_zh: r.text_zh.clone(),
            text_en: r.text_en.clone(),
            is_active: r.is_active,
            matches: m.map(|m| m.count),
            match_sample: m.map(|m| {
                m.sample
                    .iter()
                    .map(|(id, no)| MatchedStudent {
                        student_id: *id,
                        student_no: no.clone(),
                    })
                    .collect()
            }),
        }
    }
}

/// The rules, most important first, with the run their matches were counted on.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub items: Vec<RuleItem>,
    pub match_run: Option<i64>,
}

fn yes() -> bool {
    true
}

/// A new suggestion rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRuleRequest {
    pub code: String,
    #[serde(default)]
    pub priority: i64,
    /// A trigger object, or its JSON text.
    pub trigger: Value,
    pub text_zh: String,
    pub text_en: String,
    /// Default true (`enabled` is accepted too).
    #[serde(default = "yes", alias = "enabled")]
    pub is_active: bool,
}

/// A change to a rule: the fields given are replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatchRequest {
    pub trigger: Option<Value>,
    pub text_zh: Option<String>,
    pub text_en: Option<String>,
    pub priority: Option<i64>,
    /// `enabled` is accepted too.
    #[serde(alias = "enabled")]
    pub is_active: Option<bool>,
}

/// The saved formulas, active first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormulaList {
    pub items: Vec<super::formula::SavedFormula>,
}

/// A formula to save, with the token of its passed trial.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveFormulaRequest {
    pub name: String,
    pub weights: BTreeMap<String, f64>,
    pub threshold: f64,
    pub department_id: Option<i64>,
    /// Whether runs use it from now on (default true; the scope's active one is switched off).
    #[serde(default = "yes")]
    pub is_active: bool,
    /// The `trial_token` of a passed trial of this same formula
    /// (`POST /mining/formula/trial`) on the latest finished run.
    #[serde(default)]
    pub trial_token: String,
}

/// Whether runs use a saved formula from now on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormulaActiveRequest {
    pub is_active: bool,
}

/// A saved formula's id and whether runs use it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormulaState {
    pub id: i64,
    pub is_active: bool,
}

/// The language of the answer's texts.
#[derive(Debug, Default, FromForm, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// en or zh.
    pub lang: Option<String>,
}

/// Which term to recommend courses in.
#[derive(Debug, Default, FromForm, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TermQuery {
    /// A term code or id; the current term when absent.
    pub term: Option<String>,
}

/// The courses recommended to the signed-in student for one term.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyRecommendations {
    /// The term's code.
    pub term: String,
    pub items: Vec<super::recommend_store::Recommendation>,
}
