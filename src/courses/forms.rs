//! The catalogue office's page forms, read into the API's bodies with a message per field
//! that could not be read.

use super::dto::{CourseBody, MeetingBody, PrereqBody, SectionBody, TermBody};
use super::edit::SectionRefs;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, Utc};
use rocket::FromForm;
use std::collections::BTreeMap;

/// Field name → message, for the fields that could not be read.
/// The catalogue's filters and page, and what it says after an add: a status or a refusal
/// code, each looked up in the translations (never text from the address).
#[derive(FromForm, Default)]
pub struct CatalogueQuery {
    pub term: Option<String>,
    pub q: Option<String>,
    pub department: Option<i64>,
    pub teacher: Option<String>,
    pub day: Option<i64>,
    pub open_only: Option<bool>,
    pub page: Option<u64>,
    pub flash: Option<String>,
    pub refused: Option<String>,
}

pub type Errors = BTreeMap<&'static str, String>;

/// The local time zone forms are read in unless the form says otherwise (China Standard Time).
pub const DEFAULT_OFFSET: &str = "+08:00";

pub fn parse_num<T: std::str::FromStr + Default>(
    errors: &mut Errors,
    name: &'static str,
    v: &str,
) -> T {
    match v.trim().parse() {
        Ok(n) => n,
        Err(_) => {
            errors.insert(name, format!("not a number: {v}"));
            T::default()
        }
    }
}

pub fn parse_date(errors: &mut Errors, name: &'static str, v: &str) -> NaiveDate {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").unwrap_or_else(|_| {
        errors.insert(name, "a date as YYYY-MM-DD".into());
        NaiveDate::default()
    })
}

pub fn parse_time(
    errors: &mut Errors,
    name: &'static str,
    v: &str,
    offset: FixedOffset,
) -> DateTime<FixedOffset> {
    let v = v.trim();
    NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|t| t.and_local_timezone(offset).single())
        .unwrap_or_else(|| {
            errors.insert(name, "a date and time as YYYY-MM-DDTHH:MM".into());
            DateTime::default()
        })
}

pub fn local(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

#[derive(FromForm, Default)]
pub struct TermForm<'a> {
    #[field(default = "")]
    pub code: &'a str,
    #[field(default = "")]
    pub name_zh: &'a str,
    #[field(default = "")]
    pub name_en: &'a str,
    #[field(default = "")]
    pub seq: &'a str,
    #[field(default = "")]
    pub starts_on: &'a str,
    #[field(default = "")]
    pub ends_on: &'a str,
    #[field(default = "")]
    pub registration_opens_at: &'a str,
    #[field(default = "")]
    pub registration_closes_at: &'a str,
    #[field(default = "")]
    pub add_drop_deadline: &'a str,
    #[field(default = DEFAULT_OFFSET)]
    pub utc_offset: &'a str,
    #[field(default = "")]
    pub credit_limit: &'a str,
    #[field(default = false)]
    pub is_current: bool,
}

impl TermForm<'_> {
    pub fn body(&self) -> Result<TermBody, Errors> {
        let mut e = Errors::new();
        let offset: FixedOffset = self.utc_offset.trim().parse().unwrap_or_else(|_| {
            e.insert("utc_offset", "an offset such as +08:00".into());
            Utc.fix()
        });
        let body = TermBody {
            code: self.code.to_string(),
            name_zh: self.name_zh.to_string(),
            name_en: self.name_en.to_string(),
            seq: parse_num(&mut e, "seq", self.seq),
            starts_on: parse_date(&mut e, "starts_on", self.starts_on),
            ends_on: parse_date(&mut e, "ends_on", self.ends_on),
            registration_opens_at: parse_time(
                &mut e,
                "registration_opens_at",
                self.registration_opens_at,
                offset,
            ),
            registration_closes_at: parse_time(
                &mut e,
                "registration_closes_at",
                self.registration_closes_at,
                offset,
            ),
            add_drop_deadline: parse_time(
                &mut e,
                "add_drop_deadline",
                self.add_drop_deadline,
                offset,
            ),
            credit_limit: parse_num(&mut e, "credit_limit", self.credit_limit),
            is_current: self.is_current,
        };
        if e.is_empty() { Ok(body) } else { Err(e) }
    }
}

#[derive(FromForm, Default)]
pub struct CourseForm<'a> {
    #[field(default = "")]
    pub code: &'a str,
    #[field(default = "")]
    pub department: &'a str,
    #[field(default = "")]
    pub title_zh: &'a str,
    #[field(default = "")]
    pub title_en: &'a str,
    #[field(default = "")]
    pub credits: &'a str,
    #[field(default = "")]
    pub description: &'a str,
    #[field(default = "")]
    pub prerequisites: &'a str,
    #[field(default = false)]
    pub is_active: bool,
}

/// Prerequisites written one per line as `CODE [minimum score]`, e.g. `CS101 60`.
fn parse_prerequisites(errors: &mut Errors, text: &str) -> Vec<PrereqBody> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut parts = line.split([' ', '\t', ',']).filter(|p| !p.is_empty());
        let Some(code) = parts.next() else { continue };
        let min_score = match parts.next() {
            None => 60.0,
            Some(s) => match s.parse::<f64>() {
                Ok(v) => v,
                Err(_) => {
                    errors.insert(
                        "prerequisites",
                        format!(
                            "line {}: write CODE and a minimum score, e.g. CS101 60",
                            n + 1
                        ),
                    );
                    continue;
                }
            },
        };
        out.push(PrereqBody {
            code: code.to_string(),
            min_score,
        });
    }
    out
}

impl CourseForm<'_> {
    pub fn body(&self) -> Result<CourseBody, Errors> {
        let mut e = Errors::new();
        let body = CourseBody {
            code: self.code.to_string(),
            department_id: parse_num(&mut e, "department", self.department),
            title_zh: self.title_zh.to_string(),
            title_en: self.title_en.to_string(),
            credits: parse_num(&mut e, "credits", self.credits),
            description: self.description.to_string(),
            is_active: self.is_active,
            prerequisites: Some(parse_prerequisites(&mut e, self.prerequisites)),
        };
        if e.is_empty() { Ok(body) } else { Err(e) }
    }
}

#[derive(FromForm, Default)]
pub struct SectionForm<'a> {
    #[field(default = "")]
    pub term: &'a str,
    #[field(default = "")]
    pub course: &'a str,
    #[field(default = "")]
    pub section_no: &'a str,
    #[field(default = "")]
    pub teacher: &'a str,
    #[field(default = "")]
    pub capacity: &'a str,
    #[field(default = "")]
    pub waitlist_capacity: &'a str,
    #[field(default = "")]
    pub room: &'a str,
    #[field(default = "")]
    pub meetings: &'a str,
}

/// Meeting times one per line as `weekday periods [weeks]`, e.g. `1 3-4 1-16` (Monday, periods
/// 3 to 4, weeks 1 to 16).
fn parse_meetings(errors: &mut Errors, text: &str) -> Vec<MeetingBody> {
    let range = |s: &str| -> Option<(i64, i64)> {
        match s.split_once('-') {
            Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => s.trim().parse().ok().map(|n| (n, n)),
        }
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.is_empty() {
            continue;
        }
        let parsed = (|| {
            let weekday: i64 = parts.first()?.parse().ok()?;
            let (start_period, end_period) = range(parts.get(1)?)?;
            let (start_week, end_week) = match parts.get(2) {
                Some(w) => range(w)?,
                None => (1, 16),
            };
            let in_range = (1..=7).contains(&weekday)
                && 1 <= start_period
                && start_period <= end_period
                && end_period <= 12
                && 1 <= start_week
                && start_week <= end_week
                && end_week <= 30;
            (parts.len() <= 3 && in_range).then_some(MeetingBody {
                weekday,
                start_period,
                end_period,
                start_week,
                end_week,
            })
        })();
        match parsed {
            Some(m) => out.push(m),
            None => {
                errors.insert(
                    "meetings",
                    format!(
                        "line {}: write weekday (1-7), periods (1-12) and weeks (1-30), e.g. 1 3-4 1-16",
                        n + 1
                    ),
                );
            }
        }
    }
    out
}

impl SectionForm<'_> {
    /// The body, given what the form's course code and teacher name refer to.
    pub fn body(&self, refs: SectionRefs) -> Result<SectionBody, Errors> {
        let mut e = Errors::new();
        let course_id = refs.course_id.unwrap_or_else(|| {
            e.insert(
                "course",
                format!("no course with the code {}", self.course.trim()),
            );
            0
        });
        let teacher_id = refs.teacher_id.unwrap_or_else(|name| {
            e.insert("teacher", format!("no account with the user name {name}"));
            None
        });
        let body = SectionBody {
            term_id: parse_num(&mut e, "term", self.term),
            course_id,
            section_no: self.section_no.to_string(),
            teacher_id,
            capacity: parse_num(&mut e, "capacity", self.capacity),
            waitlist_capacity: parse_num(&mut e, "waitlist_capacity", self.waitlist_capacity),
            room: self.room.to_string(),
            meetings: parse_meetings(&mut e, self.meetings),
        };
        if e.is_empty() { Ok(body) } else { Err(e) }
    }
}
