//! The case API's request and response types.

use crate::entity::cases::{self, CaseStatus};
use crate::entity::{case_events, case_ratings};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, rocket::FromForm, utoipa::ToSchema)]
pub struct NewCase {
    #[field(default = String::new())]
    #[serde(default)]
    pub category: String,
    #[field(default = String::new())]
    #[serde(default)]
    pub subject: String,
    #[field(default = String::new())]
    #[serde(default)]
    pub body: String,
    /// course, teacher, service or other (default)
    pub about: Option<String>,
    pub department_id: Option<i64>,
    /// When the case is about a course, its department routes the case.
    pub course_id: Option<i64>,
}

/// What a handling step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A handler takes the case.
    Take,
    /// The student or a handler answers (`body`).
    Reply,
    /// A handler moves it to another queue (`queue`, optionally `assigned_to`).
    Reassign,
    /// A handler closes it, with an optional note (`body`).
    Close,
    /// The student rates a closed case (`rating` 1–5, optional `comment`).
    Rate,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Take => "take",
            Step::Reply => "reply",
            Step::Reassign => "reassign",
            Step::Close => "close",
            Step::Rate => "rate",
        }
    }

    /// The step a page form names, if it names one.
    pub fn parse(s: &str) -> Option<Step> {
        [
            Step::Take,
            Step::Reply,
            Step::Reassign,
            Step::Close,
            Step::Rate,
        ]
        .into_iter()
        .find(|step| step.as_str() == s)
    }
}

/// A handling step on a case.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub action: Step,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub body: String,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,60}$")]
    pub queue: Option<String>,
    pub assigned_to: Option<i64>,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i64>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: String,
}

/// One row of the administrator's report: a department and month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    pub department_id: Option<i64>,
    pub month: String,
    pub opened: u64,
    pub closed: u64,
    pub overdue: u64,
    pub mean_hours_to_first_answer: Option<f64>,
    pub mean_hours_to_close: Option<f64>,
    pub mean_rating: Option<f64>,
    /// (category/about, count), most common first, at most three.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub top_topics: Vec<(String, u64)>,
}

/// The list's filter and page (the query string).
#[derive(Debug, Clone, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// A status (`open`, `in_progress`, `answered`, `closed`), or `active` (not closed).
    pub status: Option<String>,
    /// `mine`: the caller's own cases even when they handle queues.
    pub view: Option<String>,
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

/// A case just opened: where it went and by when it is due.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OpenedCase {
    pub id: i64,
    pub queue: String,
    pub status: CaseStatus,
    pub due_at: DateTime<FixedOffset>,
}

impl From<&cases::Model> for OpenedCase {
    fn from(c: &cases::Model) -> Self {
        OpenedCase {
            id: c.id,
            queue: c.queue.clone(),
            status: c.status,
            due_at: c.due_at,
        }
    }
}

/// One case in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseItem {
    pub id: i64,
    pub student_id: i64,
    /// inquiry, complaint or suggestion
    pub category: String,
    /// What it is about: course, teacher, service or other.
    pub topic: String,
    pub subject: String,
    pub body: String,
    pub department_id: Option<i64>,
    pub queue: String,
    pub status: CaseStatus,
    pub assigned_to: Option<i64>,
    pub created_at: DateTime<FixedOffset>,
    pub due_at: DateTime<FixedOffset>,
    pub first_response_at: Option<DateTime<FixedOffset>>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    /// Not closed and past its due time.
    pub overdue: bool,
}

impl CaseItem {
    pub fn new(c: &cases::Model, overdue: bool) -> Self {
        CaseItem {
            id: c.id,
            student_id: c.student_id,
            category: c.category.clone(),
            topic: c.topic.clone(),
            subject: c.subject.clone(),
            body: c.body.clone(),
            department_id: c.department_id,
            queue: c.queue.clone(),
            status: c.status,
            assigned_to: c.assigned_to,
            created_at: c.created_at,
            due_at: c.due_at,
            first_response_at: c.first_response_at,
            closed_at: c.closed_at,
            overdue,
        }
    }
}

impl From<CaseRow> for CaseItem {
    fn from(r: CaseRow) -> Self {
        CaseItem::new(&r.case, r.overdue)
    }
}

/// One page of cases.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseItem>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// One step in a case's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: i64,
    pub author_id: Option<i64>,
    /// opened, taken, reply, reassigned or closed
    pub kind: String,
    pub body: String,
    /// The case's status after this step.
    pub status: CaseStatus,
    pub at: DateTime<FixedOffset>,
}

/// The student's rating of a closed case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseRating {
    pub case_id: i64,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    pub comment: String,
    pub at: DateTime<FixedOffset>,
}

/// One case with its history, timings and rating.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseItem,
    pub hours_to_first_answer: Option<f64>,
    pub hours_to_close: Option<f64>,
    pub events: Vec<CaseEvent>,
    pub rating: Option<CaseRating>,
    /// The caller works the case's queue.
    pub can_handle: bool,
    /// The caller is its student and it is closed and not rated yet.
    pub can_rate: bool,
}

impl From<CaseView> for CaseDetail {
    fn from(v: CaseView) -> Self {
        CaseDetail {
            case: CaseItem::new(&v.case, v.overdue),
            hours_to_first_answer: v.hours_to_first_answer,
            hours_to_close: v.hours_to_close,
            events: v
                .events
                .into_iter()
                .map(|e| CaseEvent {
                    id: e.id,
                    case_id: e.case_id,
                    author_id: e.author_id,
                    kind: e.kind,
                    body: e.body,
                    status: e.status,
                    at: e.at,
                })
                .collect(),
            rating: v.rating.map(|r| CaseRating {
                case_id: r.case_id,
                rating: r.rating,
                comment: r.comment,
                at: r.at,
            }),
            can_handle: v.can_handle,
            can_rate: v.can_rate,
        }
    }
}

/// Where a case stands after a step the caller may no longer see it through (a reassignment).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseState {
    pub id: i64,
    pub status: CaseStatus,
    pub queue: String,
}

/// The answer to a handling step: the case as the caller now sees it, or only its new state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ActionResult {
    Detail(Box<CaseDetail>),
    State(CaseState),
}

impl From<Result<CaseView, cases::Model>> for ActionResult {
    fn from(r: Result<CaseView, cases::Model>) -> Self {
        match r {
            Ok(v) => ActionResult::Detail(Box::new(v.into())),
            Err(c) => ActionResult::State(CaseState {
                id: c.id,
                status: c.status,
                queue: c.queue,
            }),
        }
    }
}

/// One case with everything its page shows (built by the service).
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: cases::Model,
    pub overdue: bool,
    pub hours_to_first_answer: Option<f64>,
    pub hours_to_close: Option<f64>,
    pub events: Vec<case_events::Model>,
    pub rating: Option<case_ratings::Model>,
    pub can_handle: bool,
    pub can_rate: bool,
}

/// One line of a case list (built by the service).
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    #[serde(flatten)]
    pub case: cases::Model,
    pub overdue: bool,
}
