//! Cohort retention: for each cohort (entry year) and each term since it entered, the share of
//! the cohort still enrolled at the end of that term, and the leaving recorded per cohort.
//!
//! Definition (also said on the page): a cohort is the students with that `cohort_year`
//! (merged duplicates left out); it is counted from the first term ending on or after
//! 1 September of that year, in terms that have started. A student is *still enrolled* at
//! the end of a term unless their status then was `withdrawn` or `suspended`, the status then
//! being the new value of their latest status change (`student_history`, field `status`) made
//! before the day after the term's last day (no change: active). Graduation is completion,
//! not leaving, so a graduate stays counted. Share = still enrolled ÷ cohort size.
//!
//! Leaving reasons: the student history has no reason column, so the reasons are the statuses
//! left for (`withdrawn`, `suspended`), counted per cohort over every recorded change.
//! Everything is counted in the database (one GROUP BY per term).

use super::scope::Reach;
use crate::csv_safe::SafeCsv;
use crate::entity::terms;
use crate::error::{AppError, AppResult};
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde::{Deserialize, Serialize};

/// Which students: one department and/or one major (the query string).
#[derive(Debug, Clone, Copy, Default, Deserialize, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RetentionQuery {
    /// Only students of this department (its id).
    #[param(minimum = 1, maximum = 1000000000)]
    pub department: Option<i64>,
    /// Only students of this major (its id).
    #[param(minimum = 1, maximum = 1000000000)]
    pub major: Option<i64>,
}

impl RetentionQuery {
    /// Refuses an id out of range (`invalid_filter`, 422).
    pub fn check(self) -> AppResult<RetentionQuery> {
        for v in [self.department, self.major].into_iter().flatten() {
            if !(1..=1_000_000_000).contains(&v) {
                return Err(AppError::unprocessable(
                    "invalid_filter",
                    "department and major are ids from 1",
                ));
            }
        }
        Ok(self)
    }

    /// The values of the condition `(? = 0 OR st.department_id = ?) AND (? = 0 OR
    /// st.major_id = ?)` on `students` aliased `st` (0: no filter; ids start at 1).
    pub fn values(self) -> Vec<sea_orm::Value> {
        let (d, m) = (self.department.unwrap_or(0), self.major.unwrap_or(0));
        vec![d.into(), d.into(), m.into(), m.into()]
    }

    /// The query string for links (the CSV), empty when unfiltered.
    pub fn query_string(self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.department {
            parts.push(format!("department={d}"));
        }
        if let Some(m) = self.major {
            parts.push(format!("major={m}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// A term column of the table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionTerm {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// One cohort × term cell.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionCell {
    /// Students of the cohort still enrolled at the end of the term.
    pub retained: i64,
    /// `retained ÷ students` in per cent, one decimal.
    pub share: f64,
}

/// One cohort's row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CohortRetention {
    pub cohort_year: i64,
    /// Students in the cohort (in scope and filter).
    pub students: i64,
    /// One cell per term of the report, in order; none before the cohort entered.
    pub cells: Vec<Option<RetentionCell>>,
}

/// Leaving recorded for a cohort: the status left for and how many students.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeavingReason {
    pub cohort_year: i64,
    /// `withdrawn` or `suspended`.
    pub reason: String,
    pub students: i64,
}

/// The retention report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionReport {
    pub terms: Vec<RetentionTerm>,
    pub cohorts: Vec<CohortRetention>,
    pub reasons: Vec<LeavingReason>,
}

/// The statuses that mean a student is no longer enrolled.
pub const LEFT: [&str; 2] = ["withdrawn", "suspended"];

/// The latest cohort a term counts for: the cohort must have entered (1 September) by the
/// term's last day.
pub(super) fn last_cohort(ends_on: NaiveDate) -> i64 {
    let y = i64::from(ends_on.year());
    if ends_on.month() >= 9 { y } else { y - 1 }
}

/// Puts the cell of term `i` (of `n_terms`) of a cohort with `n` students, `kept` of them
/// still enrolled, into `cohorts` (a cohort's row made when first seen).
pub(super) fn add_cell(
    cohorts: &mut Vec<CohortRetention>,
    i: usize,
    n_terms: usize,
    cohort: i64,
    n: i64,
    kept: i64,
) {
    let pos = match cohorts.iter().position(|c| c.cohort_year == cohort) {
        Some(p) => p,
        None => {
            cohorts.push(CohortRetention {
                cohort_year: cohort,
                students: n,
                cells: vec![None; n_terms],
            });
            cohorts.len() - 1
        }
    };
    let c = &mut cohorts[pos];
    c.students = n;
    if let Some(cell) = c.cells.get_mut(i) {
        *cell = Some(RetentionCell {
            retained: kept,
            share: if n > 0 {
                round1(kept as f64 / n as f64 * 100.0)
            } else {
                0.0
            },
        });
    }
}

/// The terms that have started by `today`, in order (the report's columns).
pub(super) async fn started_terms(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> AppResult<Vec<terms::Model>> {
    Ok(terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .order_by_asc(terms::Column::StartsOn)
        .all(db)
        .await?
        .into_iter()
        .filter(|t| t.starts_on <= today)
        .collect())
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The report in `reach`, filtered by `q`.
pub async fn report(
    db: &impl ConnectionTrait,
    reach: Reach,
    q: RetentionQuery,
) -> AppResult<RetentionReport> {
    let q = q.check()?;
    let today = Utc::now().date_naive();
    let all_terms = started_terms(db, today).await?;
    let mut cohorts: Vec<CohortRetention> = Vec::new();
    for (i, t) in all_terms.iter().enumerate() {
        let bound = Utc
            .from_utc_datetime(&(t.ends_on + chrono::Duration::days(1)).and_time(NaiveTime::MIN))
            .fixed_offset();
        // NOTE: the statuses of LEFT, written out: withdrawn and suspended.
        let sql = "SELECT st.cohort_year AS cohort, COUNT(*) AS n, \
               SUM(CASE WHEN COALESCE((SELECT h.new_value FROM student_history h \
                   WHERE h.student_id = st.id AND h.field = 'status' AND h.at < ? \
                   ORDER BY h.at DESC, h.id DESC LIMIT 1), 'active') IN ('withdrawn', 'suspended') \
                 THEN 0 ELSE 1 END) AS kept \
             FROM students st \
             WHERE st.merged_into_id IS NULL AND st.cohort_year <= ? \
             AND (? = 1 OR st.advisor_id = ?) \
             AND (? = 0 OR st.department_id = ?) AND (? = 0 OR st.major_id = ?) \
             GROUP BY st.cohort_year ORDER BY st.cohort_year";
        let values = [
            vec![bound.into(), last_cohort(t.ends_on).into()],
            reach.values(),
            q.values(),
        ]
        .concat();
        let rows = super::sql::rows(db, sql, values).await?;
        for r in rows {
            add_cell(
                &mut cohorts,
                i,
                all_terms.len(),
                r.try_get("", "cohort")?,
                r.try_get("", "n")?,
                r.try_get("", "kept")?,
            );
        }
    }
    cohorts.sort_by_key(|c| c.cohort_year);
    let sql = "SELECT st.cohort_year AS cohort, h.new_value AS reason, COUNT(DISTINCT st.id) AS n \
         FROM student_history h JOIN students st ON st.id = h.student_id \
         WHERE h.field = 'status' AND h.new_value IN ('withdrawn', 'suspended') \
           AND st.merged_into_id IS NULL AND (? = 1 OR st.advisor_id = ?) \
           AND (? = 0 OR st.department_id = ?) AND (? = 0 OR st.major_id = ?) \
         GROUP BY st.cohort_year, h.new_value ORDER BY st.cohort_year, h.new_value";
    let reasons = super::sql::rows(db, sql, [reach.values(), q.values()].concat())
        .await?
        .into_iter()
        .map(|r| {
            Ok(LeavingReason {
                cohort_year: r.try_get("", "cohort")?,
                reason: r.try_get("", "reason")?,
                students: r.try_get("", "n")?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(RetentionReport {
        terms: all_terms.iter().map(RetentionTerm::of).collect(),
        cohorts,
        reasons,
    })
}

impl RetentionTerm {
    pub(super) fn of(t: &terms::Model) -> RetentionTerm {
        RetentionTerm {
            code: t.code.clone(),
            name_zh: t.name_zh.clone(),
            name_en: t.name_en.clone(),
        }
    }
}

/// The table as CSV: cohort, students, then the share (per cent) per term code; then the
/// leaving counts as extra rows (`reason:<status>`).
pub fn csv(r: &RetentionReport) -> AppResult<Vec<u8>> {
    let mut w = SafeCsv::new();
    let mut header = vec!["cohort".to_string(), "students".to_string()];
    header.extend(r.terms.iter().map(|t| t.code.clone()));
    header.extend(LEFT.iter().map(|s| format!("left_{s}")));
    w.row(&header)?;
    for c in &r.cohorts {
        let mut row = vec![c.cohort_year.to_string(), c.students.to_string()];
        row.extend(
            c.cells
                .iter()
                .map(|cell| cell.as_ref().map_or(String::new(), |x| x.share.to_string())),
        );
        for s in LEFT {
            row.push(
                r.reasons
                    .iter()
                    .find(|x| x.cohort_year == c.cohort_year && x.reason == s)
                    .map_or(0, |x| x.students)
                    .to_string(),
            );
        }
        w.row(&row)?;
    }
    w.finish()
}
