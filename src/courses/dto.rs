//! The catalogue API's request and response types.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// A term as the API lists it.
#[derive(Debug, Serialize)]
pub struct TermOut {
    pub id: i64,
    pub code: String,
    /// The English name (kept for older clients; see `name_en`).
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub is_current: bool,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub registration_opens_at: DateTime<FixedOffset>,
    pub registration_closes_at: DateTime<FixedOffset>,
    pub add_drop_deadline: DateTime<FixedOffset>,
    pub credit_limit: f64,
}

impl From<crate::entity::terms::Model> for TermOut {
    fn from(t: crate::entity::terms::Model) -> Self {
        TermOut {
            id: t.id,
            code: t.code,
            name: t.name_en.clone(),
            name_zh: t.name_zh,
            name_en: t.name_en,
            is_current: t.is_current,
            starts_on: t.starts_on,
            ends_on: t.ends_on,
            registration_opens_at: t.registration_opens_at,
            registration_closes_at: t.registration_closes_at,
            add_drop_deadline: t.add_drop_deadline,
            credit_limit: t.credit_limit,
        }
    }
}

/// The catalogue's filters and page, as query parameters.
#[derive(Debug, Default, rocket::FromForm)]
pub struct SectionQuery {
    /// `current` (the default), a term id or a term code.
    pub term: Option<String>,
    /// A course id or code.
    pub course: Option<String>,
    /// Words in the course code or title.
    pub q: Option<String>,
    pub department: Option<i64>,
    /// Part of the teacher's name.
    pub teacher: Option<String>,
    /// 1 = Monday … 7 = Sunday.
    pub day: Option<i64>,
    pub open_only: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// A term to create or replace.
#[derive(Debug, Deserialize)]
pub struct TermBody {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub seq: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub registration_opens_at: DateTime<FixedOffset>,
    pub registration_closes_at: DateTime<FixedOffset>,
    pub add_drop_deadline: DateTime<FixedOffset>,
    pub credit_limit: f64,
    #[serde(default)]
    pub is_current: bool,
}

/// A course to create or replace.
#[derive(Debug, Deserialize)]
pub struct CourseBody {
    pub code: String,
    pub department_id: i64,
    pub title_zh: String,
    pub title_en: String,
    pub credits: f64,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub is_active: bool,
    /// When given, replaces the course's prerequisites.
    #[serde(default)]
    pub prerequisites: Option<Vec<PrereqBody>>,
}

/// A prerequisite course by its code, and the score needed in it.
#[derive(Debug, Deserialize)]
pub struct PrereqBody {
    pub code: String,
    #[serde(default = "pass_mark")]
    pub min_score: f64,
}

fn pass_mark() -> f64 {
    60.0
}

fn yes() -> bool {
    true
}

/// One weekly meeting of a section.
#[derive(Debug, Deserialize)]
pub struct MeetingBody {
    pub weekday: i64,
    pub start_period: i64,
    pub end_period: i64,
    #[serde(default = "first_week")]
    pub start_week: i64,
    #[serde(default = "last_week")]
    pub end_week: i64,
}

fn first_week() -> i64 {
    1
}

fn last_week() -> i64 {
    16
}

/// A section to create or replace, with its meeting times.
#[derive(Debug, Deserialize)]
pub struct SectionBody {
    pub term_id: i64,
    pub course_id: i64,
    pub section_no: String,
    pub teacher_id: Option<i64>,
    pub capacity: i64,
    #[serde(default)]
    pub waitlist_capacity: i64,
    #[serde(default)]
    pub room: String,
    #[serde(default)]
    pub meetings: Vec<MeetingBody>,
}
