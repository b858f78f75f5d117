//! The analysis pages' answers from the store's facts (written by `super::facts`): the value
//! matrix, satisfaction and retention, each `None` until a snapshot wrote its facts, so that
//! the caller answers live.

use super::facts::PAGE_FACTS;
use super::retention::{self, CohortRetention, LeavingReason, RetentionQuery, RetentionReport};
use super::satisfaction::{self, SatisfactionReport};
use super::scope::Reach;
use super::settings::CELLS;
use super::sql;
use super::value::{Flow, Matrix, TermRef};
use crate::error::AppResult;
use crate::interaction::feedback::service as feedback;
use chrono::Utc;
use sea_orm::ConnectionTrait;
use std::collections::{BTreeMap, HashMap};

/// Whether the latest snapshot wrote these facts.
async fn current(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(super::store::latest(db)
        .await?
        .is_some_and(|s| s.facts >= PAGE_FACTS))
}

// ---------------------------------------------------------------- reading

/// The value matrix from its facts in `reach` (none before they were first written).
pub async fn matrix(db: &impl ConnectionTrait, reach: Reach) -> AppResult<Option<Matrix>> {
    let rows = sql::rows(
        db,
        "SELECT t.id, t.code, t.name_zh, t.name_en, MAX(f.computed_at) FROM terms t \
         JOIN analysis_value_facts f ON f.term_id = t.id \
         GROUP BY t.id, t.code, t.name_zh, t.name_en, t.seq ORDER BY t.seq DESC, t.id DESC LIMIT 2",
        Vec::new(),
    )
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut terms = Vec::new();
    for r in rows {
        terms.push(TermRef {
            id: r.try_get_by_index(0)?,
            code: r.try_get_by_index(1)?,
            name_zh: r.try_get_by_index(2)?,
            name_en: r.try_get_by_index(3)?,
            computed_at: r.try_get_by_index(4).ok(),
        });
    }
    let mut terms = terms.into_iter();
    let term = terms.next();
    let previous = terms.next();
    let mut by_cell: HashMap<String, i64> = HashMap::new();
    let mut flows = Vec::new();
    if let Some(t) = &term {
        let rows = sql::rows(
            db,
            "SELECT previous_cell, cell, CAST(SUM(students) AS BIGINT) FROM analysis_value_facts \
             WHERE term_id = ? AND (? = 1 OR advisor_id = ?) GROUP BY previous_cell, cell",
            [vec![t.id.into()], reach.values()].concat(),
        )
        .await?;
        for r in rows {
            let from: String = r.try_get_by_index(0)?;
            let to: String = r.try_get_by_index(1)?;
            let n: i64 = r.try_get_by_index::<Option<i64>>(2)?.unwrap_or(0);
            *by_cell.entry(to.clone()).or_default() += n;
            if previous.is_some() && !from.is_empty() {
                flows.push(Flow { from, to, count: n });
            }
        }
        flows.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    }
    let counts: Vec<(String, i64)> = CELLS
        .iter()
        .map(|c| (c.to_string(), by_cell.get(*c).copied().unwrap_or(0)))
        .collect();
    Ok(Some(Matrix {
        total: counts.iter().map(|(_, n)| n).sum(),
        counts,
        term,
        previous,
        flows,
    }))
}

/// Satisfaction per department and term from the store (none before a snapshot wrote it).
pub async fn satisfaction(db: &impl ConnectionTrait) -> AppResult<Option<SatisfactionReport>> {
    if !current(db).await? {
        return Ok(None);
    }
    let today = Utc::now().date_naive();
    let floor = feedback::threshold(db).await?;
    let min = i64::try_from(floor).unwrap_or(i64::MAX);
    let all = retention::started_terms(db, today).await?;
    let depts = satisfaction::departments_by_id(db).await?;
    // (closed, rated, sum of ratings, sections, enrolled, submitted, counted answers, their sum)
    let mut acc: HashMap<i64, BTreeMap<i64, [i64; 8]>> = HashMap::new();
    let rows = sql::rows(
        db,
        "SELECT term_id, department_id, closed, rated, rating_total FROM analysis_case_facts",
        Vec::new(),
    )
    .await?;
    for r in rows {
        let e = acc
            .entry(r.try_get_by_index(0)?)
            .or_default()
            .entry(r.try_get_by_index(1)?)
            .or_default();
        for (k, i) in [(0, 2), (1, 3), (2, 4)] {
            e[k] += r.try_get_by_index::<i64>(i)?;
        }
    }
    // NOTE: a section below the floor adds nothing to the score (no back door).
    let rows = sql::rows(
        db,
        "SELECT f.term_id, co.department_id, CAST(SUM(f.sections) AS BIGINT), \
           CAST(SUM(f.enrolled) AS BIGINT), CAST(SUM(f.submitted) AS BIGINT), \
           CAST(SUM(CASE WHEN f.answers >= ? THEN f.answers * f.sections ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN f.answers >= ? THEN f.overall ELSE 0 END) AS BIGINT) \
         FROM analysis_survey_facts f JOIN courses co ON co.id = f.course_id \
         GROUP BY f.term_id, co.department_id",
        vec![min.into(), min.into()],
    )
    .await?;
    let closed: HashMap<i64, bool> = all
        .iter()
        .map(|t| (t.id, feedback::is_closed(t, today)))
        .collect();
    for r in rows {
        let term: i64 = r.try_get_by_index(0)?;
        if !closed.get(&term).copied().unwrap_or(false) {
            continue;
        }
        let e = acc
            .entry(term)
            .or_default()
            .entry(r.try_get_by_index(1)?)
            .or_default();
        for (k, i) in [(3, 2), (4, 3), (5, 4), (6, 5), (7, 6)] {
            e[k] += r.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0);
        }
    }
    let mut rows = Vec::new();
    for t in &all {
        if let Some(by_dept) = acc.remove(&t.id) {
            satisfaction::push_rows(&mut rows, t, by_dept, &depts, min);
        }
    }
    Ok(Some(SatisfactionReport {
        floor,
        terms: all.iter().map(retention::RetentionTerm::of).collect(),
        rows,
    }))
}

/// Cohort retention in `reach`, filtered by `q`, from the store (none before a snapshot wrote
/// it).
pub async fn retention(
    db: &impl ConnectionTrait,
    reach: Reach,
    q: RetentionQuery,
) -> AppResult<Option<RetentionReport>> {
    let q = q.check()?;
    if !current(db).await? {
        return Ok(None);
    }
    let today = Utc::now().date_naive();
    let all = retention::started_terms(db, today).await?;
    let position: HashMap<i64, usize> = all.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let rows = sql::rows(
        db,
        "SELECT term_id, cohort_year, CAST(SUM(students) AS BIGINT), CAST(SUM(kept) AS BIGINT) \
         FROM analysis_retention_facts WHERE (? = 1 OR advisor_id = ?) \
         AND (? = 0 OR department_id = ?) AND (? = 0 OR major_id = ?) \
         GROUP BY term_id, cohort_year",
        [reach.values(), q.values()].concat(),
    )
    .await?;
    let mut cells: Vec<(usize, i64, i64, i64)> = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(i) = position.get(&r.try_get_by_index::<i64>(0)?).copied() else {
            continue;
        };
        cells.push((
            i,
            r.try_get_by_index(1)?,
            r.try_get_by_index::<Option<i64>>(2)?.unwrap_or(0),
            r.try_get_by_index::<Option<i64>>(3)?.unwrap_or(0),
        ));
    }
    // NOTE: in the live report's order: term by term, cohort by cohort.
    cells.sort_by_key(|c| (c.0, c.1));
    let mut cohorts: Vec<CohortRetention> = Vec::new();
    for (i, cohort, n, kept) in cells {
        retention::add_cell(&mut cohorts, i, all.len(), cohort, n, kept);
    }
    cohorts.sort_by_key(|c| c.cohort_year);
    let rows = sql::rows(
        db,
        "SELECT cohort_year, reason, CAST(SUM(students) AS BIGINT) FROM analysis_leaving_facts \
         WHERE (? = 1 OR advisor_id = ?) AND (? = 0 OR department_id = ?) \
         AND (? = 0 OR major_id = ?) \
         GROUP BY cohort_year, reason ORDER BY cohort_year, reason",
        [reach.values(), q.values()].concat(),
    )
    .await?;
    let mut reasons = Vec::with_capacity(rows.len());
    for r in rows {
        reasons.push(LeavingReason {
            cohort_year: r.try_get_by_index(0)?,
            reason: r.try_get_by_index(1)?,
            students: r.try_get_by_index::<Option<i64>>(2)?.unwrap_or(0),
        });
    }
    Ok(Some(RetentionReport {
        terms: all.iter().map(retention::RetentionTerm::of).collect(),
        cohorts,
        reasons,
    }))
}

/// Whether the portfolio reads the store.
pub async fn portfolio_stored(db: &impl ConnectionTrait) -> AppResult<bool> {
    current(db).await
}
