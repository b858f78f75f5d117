//! Satisfaction over time, per department and term, with response rates.
//!
//! Definitions (also on the page):
//! - cases: those closed from the term's first day until the next term's first day (the last
//!   term: until a year after its end), by the case's department (else the student's);
//!   response rate = rated ÷ closed; the mean rating (1–5) is shown only when at least the
//!   feedback module's minimum of answers (the anonymity floor) rated;
//! - course feedback: the term's sections whose survey has closed, by the course's department;
//!   response rate = students who answered ÷ students enrolled; the mean "overall" answer
//!   (1–5) counts only sections with at least the floor of answers (as the feedback pages do),
//!   so a department-term below the floor shows no score.
//!
//! Counting is done in the database: one GROUP BY per term for cases, one row per section for
//! the survey (its counts computed by the database).

use crate::csv_safe::SafeCsv;
use crate::entity::{departments, terms};
use crate::error::AppResult;
use crate::interaction::feedback::service as feedback;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde::Serialize;
use std::collections::BTreeMap;

/// One department in one term.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SatisfactionRow {
    pub term_code: String,
    pub department_id: i64,
    pub department_code: String,
    pub department_zh: String,
    pub department_en: String,
    pub cases_closed: i64,
    pub cases_rated: i64,
    /// `cases_rated ÷ cases_closed`, per cent, one decimal.
    pub case_response_rate: Option<f64>,
    /// Mean rating (1–5), two decimals; none below the floor.
    pub case_mean: Option<f64>,
    /// Sections whose survey has closed.
    pub survey_sections: i64,
    pub survey_enrolled: i64,
    pub survey_submitted: i64,
    /// `survey_submitted ÷ survey_enrolled`, per cent, one decimal.
    pub survey_response_rate: Option<f64>,
    /// Answers in sections at or above the floor (those the mean counts).
    pub survey_answers_counted: i64,
    /// Mean overall answer (1–5), two decimals; none when no section reaches the floor.
    pub survey_mean: Option<f64>,
}

/// Satisfaction per department and term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SatisfactionReport {
    /// The fewest answers a group (or a section) needs for its score to show.
    pub floor: u64,
    pub terms: Vec<super::retention::RetentionTerm>,
    /// Term by term (in order), department by department.
    pub rows: Vec<SatisfactionRow>,
}

fn rate(part: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| (part as f64 / of as f64 * 1000.0).round() / 10.0)
}

fn mean(total: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| (total as f64 / n as f64 * 100.0).round() / 100.0)
}

pub(super) fn midnight(d: NaiveDate) -> chrono::DateTime<chrono::FixedOffset> {
    Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
        .fixed_offset()
}

/// The rows of term `t` from its counts per department (closed, rated, sum of ratings,
/// sections, enrolled, submitted, counted answers, their sum), the floor `min` applied.
pub(super) fn push_rows(
    rows: &mut Vec<SatisfactionRow>,
    t: &terms::Model,
    acc: BTreeMap<i64, [i64; 8]>,
    depts: &BTreeMap<i64, departments::Model>,
    min: i64,
) {
    for (dept, v) in acc {
        let d = depts.get(&dept);
        rows.push(SatisfactionRow {
            term_code: t.code.clone(),
            department_id: dept,
            department_code: d.map_or_else(String::new, |d| d.code.clone()),
            department_zh: d.map_or_else(String::new, |d| d.name_zh.clone()),
            department_en: d.map_or_else(String::new, |d| d.name_en.clone()),
            cases_closed: v[0],
            cases_rated: v[1],
            case_response_rate: rate(v[1], v[0]),
            case_mean: if v[1] >= min { mean(v[2], v[1]) } else { None },
            survey_sections: v[3],
            survey_enrolled: v[4],
            survey_submitted: v[5],
            survey_response_rate: rate(v[5], v[4]),
            survey_answers_counted: v[6],
            survey_mean: if v[6] >= min { mean(v[7], v[6]) } else { None },
        });
    }
}

/// The departments by id.
pub(super) async fn departments_by_id(
    db: &impl ConnectionTrait,
) -> AppResult<BTreeMap<i64, departments::Model>> {
    Ok(departments::Entity::find()
        .order_by_asc(departments::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect())
}

/// The end (exclusive) of the cases' window of the `i`th of the started terms `all`: the next
/// term's first day, for the last a year after its end.
pub(super) fn case_window_end(all: &[terms::Model], i: usize) -> NaiveDate {
    let t = &all[i];
    all.get(i + 1)
        .map_or(t.ends_on + chrono::Duration::days(365), |n| n.starts_on)
}

pub async fn report(db: &impl ConnectionTrait) -> AppResult<SatisfactionReport> {
    let today = Utc::now().date_naive();
    let floor = feedback::threshold(db).await?;
    let min = i64::try_from(floor).unwrap_or(i64::MAX);
    let all = super::retention::started_terms(db, today).await?;
    let depts = departments_by_id(db).await?;
    let mut rows = Vec::new();
    for (i, t) in all.iter().enumerate() {
        // (closed, rated, sum of ratings, sections, enrolled, submitted, counted answers, their sum)
        let mut acc: BTreeMap<i64, [i64; 8]> = BTreeMap::new();
        let until = case_window_end(&all, i);
        let sql = "SELECT COALESCE(c.department_id, st.department_id) AS dept, COUNT(*) AS closed, \
               COUNT(r.case_id) AS rated, CAST(COALESCE(SUM(r.rating), 0) AS BIGINT) AS total \
             FROM cases c JOIN students st ON st.id = c.student_id \
             LEFT JOIN case_ratings r ON r.case_id = c.id \
             WHERE c.closed_at IS NOT NULL AND c.closed_at >= ? AND c.closed_at < ? \
             GROUP BY COALESCE(c.department_id, st.department_id)";
        let window = vec![midnight(t.starts_on).into(), midnight(until).into()];
        for r in super::sql::rows(db, sql, window).await? {
            let e = acc.entry(r.try_get("", "dept")?).or_default();
            e[0] += r.try_get::<i64>("", "closed")?;
            e[1] += r.try_get::<i64>("", "rated")?;
            e[2] += r.try_get::<i64>("", "total")?;
        }
        if feedback::is_closed(t, today) {
            let sql = "SELECT co.department_id AS dept, \
                   (SELECT COUNT(*) FROM feedback_answers fa WHERE fa.section_id = s.id) AS answers, \
                   (SELECT CAST(COALESCE(SUM(fa.overall), 0) AS BIGINT) FROM feedback_answers fa \
                     WHERE fa.section_id = s.id) AS total, \
                   (SELECT COUNT(*) FROM feedback_submissions fs WHERE fs.section_id = s.id) AS submitted, \
                   (SELECT COUNT(*) FROM enrolments e WHERE e.section_id = s.id \
                     AND e.status = 'enrolled') AS enrolled \
                 FROM sections s JOIN courses co ON co.id = s.course_id WHERE s.term_id = ?";
            for r in super::sql::rows(db, sql, vec![t.id.into()]).await? {
                let answers: i64 = r.try_get("", "answers")?;
                let total: i64 = r.try_get("", "total")?;
                let e = acc.entry(r.try_get("", "dept")?).or_default();
                e[3] += 1;
                e[4] += r.try_get::<i64>("", "enrolled")?;
                e[5] += r.try_get::<i64>("", "submitted")?;
                // NOTE: a section below the floor adds nothing to the score (no back door).
                if answers >= min {
                    e[6] += answers;
                    e[7] += total;
                }
            }
        }
        push_rows(&mut rows, t, acc, &depts, min);
    }
    Ok(SatisfactionReport {
        floor,
        terms: all
            .iter()
            .map(super::retention::RetentionTerm::of)
            .collect(),
        rows,
    })
}

/// The table as CSV (neutralised).
pub fn csv(r: &SatisfactionReport) -> AppResult<Vec<u8>> {
    let mut w = SafeCsv::new();
    w.row([
        "term",
        "department_code",
        "department_zh",
        "department_en",
        "cases_closed",
        "cases_rated",
        "case_response_rate",
        "case_mean",
        "survey_sections",
        "survey_enrolled",
        "survey_submitted",
        "survey_response_rate",
        "survey_answers_counted",
        "survey_mean",
    ])?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for x in &r.rows {
        w.row([
            x.term_code.clone(),
            x.department_code.clone(),
            x.department_zh.clone(),
            x.department_en.clone(),
            x.cases_closed.to_string(),
            x.cases_rated.to_string(),
            opt(x.case_response_rate),
            opt(x.case_mean),
            x.survey_sections.to_string(),
            x.survey_enrolled.to_string(),
            x.survey_submitted.to_string(),
            opt(x.survey_response_rate),
            x.survey_answers_counted.to_string(),
            opt(x.survey_mean),
        ])?;
    }
    w.finish()
}
