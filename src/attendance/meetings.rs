//! When a section meets: the dates of its class meetings from its weekly pattern
//! (`section_meetings`: weekday, periods, weeks) and its term's first day. Week 1 is the seven
//! days from the term's first day; a meeting on weekday `w` of week `n` is the day of that
//! week whose weekday is `w` (1 = Monday). Pure, so the roll, the import and the seed agree.

use chrono::{Datelike, Duration, NaiveDate};

/// One weekly meeting pattern of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    pub weekday: i64,
    pub start_period: i64,
    pub end_period: i64,
    pub start_week: i64,
    pub end_week: i64,
}

impl From<&crate::entity::section_meetings::Model> for Pattern {
    fn from(m: &crate::entity::section_meetings::Model) -> Self {
        Pattern {
            weekday: m.weekday,
            start_period: m.start_period,
            end_period: m.end_period,
            start_week: m.start_week,
            end_week: m.end_week,
        }
    }
}

/// The date of weekday `weekday` (1–7) in week `week` (from 1) of a term starting on `start`.
pub fn date_of(start: NaiveDate, week: i64, weekday: i64) -> Option<NaiveDate> {
    if week < 1 || !(1..=7).contains(&weekday) {
        return None;
    }
    let week_start = start.checked_add_signed(Duration::days(7 * (week - 1)))?;
    let from = i64::from(week_start.weekday().num_days_from_monday());
    let offset = (weekday - 1 - from).rem_euclid(7);
    week_start.checked_add_signed(Duration::days(offset))
}

/// Every meeting date of a section within its term (`start..=end`), sorted, each once.
pub fn dates(start: NaiveDate, end: NaiveDate, patterns: &[Pattern]) -> Vec<NaiveDate> {
    let mut out: Vec<NaiveDate> = patterns
        .iter()
        .flat_map(|p| {
            (p.start_week.max(1)..=p.end_week.min(60))
                .filter_map(move |w| date_of(start, w, p.weekday))
        })
        .filter(|d| *d >= start && *d <= end)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The patterns that meet on `date` (a section may meet twice a day).
pub fn patterns_on(start: NaiveDate, date: NaiveDate, patterns: &[Pattern]) -> Vec<Pattern> {
    patterns
        .iter()
        .filter(|p| (p.start_week..=p.end_week).any(|w| date_of(start, w, p.weekday) == Some(date)))
        .copied()
        .collect()
}
