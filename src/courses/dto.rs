//! The catalogue API's request and response types.

use crate::entity::{courses, mirror_row, sections, terms};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// A term: its names, dates, registration window and credit limit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TermOut {
    pub id: i64,
    pub code: String,
    /// Orders the terms, oldest first.
    pub seq: i64,
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

impl From<terms::Model> for TermOut {
    fn from(t: terms::Model) -> Self {
        TermOut {
            id: t.id,
            code: t.code,
            seq: t.seq,
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
#[derive(Debug, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    #[param(minimum = 1, maximum = 7)]
    pub day: Option<i64>,
    pub open_only: Option<bool>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

/// A page of catalogue sections.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SectionPage {
    pub items: Vec<crate::courses::service::SectionRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl From<crate::paging::Page<crate::courses::service::SectionRow>> for SectionPage {
    fn from(p: crate::paging::Page<crate::courses::service::SectionRow>) -> Self {
        SectionPage {
            items: p.items,
            total: p.total,
            page: p.page,
            per_page: p.per_page,
        }
    }
}

mirror_row! {
    /// A course as saved.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct CourseOut from courses::Model {
        pub id: i64,
        pub code: String,
        pub department_id: i64,
        pub title_zh: String,
        pub title_en: String,
        pub credits: f64,
        pub description: String,
        pub is_active: bool,
    }
}

mirror_row! {
    /// A section as saved, with its seat counters.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct SectionOut from sections::Model {
        pub id: i64,
        pub term_id: i64,
        pub course_id: i64,
        pub section_no: String,
        pub teacher_id: Option<i64>,
        pub capacity: i64,
        pub waitlist_capacity: i64,
        pub enrolled_count: i64,
        pub waitlist_count: i64,
        pub override_count: i64,
        pub room: String,
        pub grading_scale_id: Option<i64>,
        pub grades_published_at: Option<DateTime<FixedOffset>>,
    }
}

/// A term to create or replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
    #[schema(minimum = 0, maximum = 100)]
    pub credit_limit: f64,
    #[serde(default)]
    pub is_current: bool,
}

/// A course to create or replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CourseBody {
    pub code: String,
    pub department_id: i64,
    pub title_zh: String,
    pub title_en: String,
    #[schema(minimum = 0, maximum = 30)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PrereqBody {
    pub code: String,
    #[serde(default = "pass_mark")]
    #[schema(minimum = 0, maximum = 100, default = 60)]
    pub min_score: f64,
}

fn pass_mark() -> f64 {
    60.0
}

fn yes() -> bool {
    true
}

/// One weekly meeting of a section.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MeetingBody {
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: i64,
    #[schema(minimum = 1, maximum = 12)]
    pub start_period: i64,
    #[schema(minimum = 1, maximum = 12)]
    pub end_period: i64,
    #[serde(default = "first_week")]
    #[schema(minimum = 1, maximum = 30, default = 1)]
    pub start_week: i64,
    #[serde(default = "last_week")]
    #[schema(minimum = 1, maximum = 30, default = 16)]
    pub end_week: i64,
}

fn first_week() -> i64 {
    1
}

fn last_week() -> i64 {
    16
}

/// A section to create or replace, with its meeting times.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SectionBody {
    pub term_id: i64,
    pub course_id: i64,
    pub section_no: String,
    pub teacher_id: Option<i64>,
    #[schema(minimum = 0, maximum = 5000)]
    pub capacity: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 5000)]
    pub waitlist_capacity: i64,
    #[serde(default)]
    pub room: String,
    #[serde(default)]
    pub meetings: Vec<MeetingBody>,
}
