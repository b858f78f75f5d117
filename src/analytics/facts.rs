//! The analysis store's facts for the value matrix, the course portfolio, satisfaction and
//! retention (migration `m20261211_000001_analysis_store_pages`): written by a snapshot in its
//! transaction (the value matrix's also whenever the matrix is computed), each an
//! `INSERT … SELECT` counted by the database, and read by the pages and the API instead of the
//! whole history. Each page answers live until a snapshot that wrote these facts was taken
//! (`analysis_snapshots.facts` = [`FACTS`]); the value matrix as soon as its facts exist.
//!
//! What stays exact when read: the anonymity floor (the survey facts keep each section's number
//! of answers, so any floor applies), whether a term's survey has closed and which terms have
//! started (both by today's date), the advisor's scope and the department and major filters
//! (each fact row carries them). What a snapshot fixes until the next one: the counts, and who
//! advises whom (students are counted in their group of the snapshot, as in the rest of the
//! store). Opening a cell's list of students stays live (one term's rows, by index).

use super::portfolio::{Demand, Inputs, mean_score};
use super::retention::{self, CohortRetention, LeavingReason, RetentionQuery, RetentionReport};
use super::satisfaction::{self, SatisfactionReport};
use super::scope::Reach;
use super::settings::CELLS;
use super::sql;
use super::value::{Flow, Matrix, TermRef};
use crate::error::AppResult;
use crate::interaction::feedback::service as feedback;
use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use std::collections::{BTreeMap, HashMap};

/// The version of the facts a snapshot writes (see `analysis_snapshots.facts`).
pub const FACTS: i64 = 2;

/// Whether the latest snapshot wrote these facts.
async fn current(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(super::store::latest(db)
        .await?
        .is_some_and(|s| s.facts >= FACTS))
}

// ---------------------------------------------------------------- writing

/// Replaces the value matrix's facts from the stored cells: per computed term, the students per
/// advisor, cell and cell of the computed term before. Called inside the transaction that
/// wrote the cells (or the snapshot's).
pub async fn refresh_value_facts(db: &impl ConnectionTrait) -> AppResult<()> {
    sql::execute(db, "DELETE FROM analysis_value_facts", Vec::new()).await?;
    let computed = sql::rows(
        db,
        "SELECT t.id FROM terms t \
         WHERE EXISTS (SELECT 1 FROM value_cells vc WHERE vc.term_id = t.id) \
         ORDER BY t.seq, t.id",
        Vec::new(),
    )
    .await?;
    // NOTE: no term has id 0, so the first computed term has no cell before.
    let mut previous = 0i64;
    for r in computed {
        let term: i64 = r.try_get_by_index(0)?;
        sql::execute(
            db,
            "INSERT INTO analysis_value_facts \
             (term_id, advisor_id, cell, previous_cell, students, computed_at) \
             SELECT b.term_id, COALESCE(st.advisor_id, 0), b.cell, COALESCE(a.cell, ''), \
             COUNT(*), MAX(b.computed_at) \
             FROM value_cells b JOIN students st ON st.id = b.student_id \
             LEFT JOIN value_cells a ON a.student_id = b.student_id AND a.term_id = ? \
             WHERE b.term_id = ? GROUP BY b.term_id, st.advisor_id, b.cell, a.cell",
            vec![previous.into(), term.into()],
        )
        .await?;
        previous = term;
    }
    Ok(())
}

/// Writes every fact of this module (inside the snapshot's transaction), `today` deciding
/// which terms have started.
pub async fn write(db: &impl ConnectionTrait, today: NaiveDate) -> AppResult<()> {
    for stmt in [
        "DELETE FROM analysis_course_facts",
        "DELETE FROM analysis_survey_facts",
        "DELETE FROM analysis_case_facts",
        "DELETE FROM analysis_retention_facts",
        "DELETE FROM analysis_leaving_facts",
    ] {
        sql::execute(db, stmt, Vec::new()).await?;
    }
    refresh_value_facts(db).await?;
    // The portfolio: enrolments per term and course, and the published grades' outcomes.
    // NOTE: the pass mark is the section's scale's, else the default scale's, else 60.
    sql::execute(
        db,
        "INSERT INTO analysis_course_facts \
         (term_id, course_id, registrations, waitlisted, drops, graded, passed, score_hundredths) \
         SELECT x.term_id, x.course_id, x.registrations, x.waitlisted, x.drops, \
           COALESCE(o.graded, 0), COALESCE(o.passed, 0), COALESCE(o.hundredths, 0) \
         FROM (SELECT s.term_id AS term_id, s.course_id AS course_id, \
             COALESCE(SUM(CASE WHEN e.status = 'enrolled' THEN 1 ELSE 0 END), 0) AS registrations, \
             COALESCE(SUM(CASE WHEN e.status = 'waitlisted' THEN 1 ELSE 0 END), 0) AS waitlisted, \
             COALESCE(SUM(CASE WHEN e.status = 'dropped' THEN 1 ELSE 0 END), 0) AS drops \
           FROM sections s LEFT JOIN enrolments e ON e.section_id = s.id \
           GROUP BY s.term_id, s.course_id) x \
         LEFT JOIN (SELECT s.term_id AS term_id, s.course_id AS course_id, COUNT(*) AS graded, \
             SUM(CASE WHEN g.score >= COALESCE((SELECT gs.pass_mark FROM grading_scales gs \
               WHERE gs.id = s.grading_scale_id), (SELECT MIN(gd.pass_mark) FROM grading_scales gd \
               WHERE gd.is_default = TRUE), 60.0) THEN 1 ELSE 0 END) AS passed, \
             CAST(SUM(CAST(ROUND(g.score * 100) AS BIGINT)) AS BIGINT) AS hundredths \
           FROM grades g JOIN sections s ON s.id = g.section_id \
           WHERE g.status = 'published' GROUP BY s.term_id, s.course_id) o \
         ON o.term_id = x.term_id AND o.course_id = x.course_id",
        Vec::new(),
    )
    .await?;
    // The surveys: sections per term, course and number of answers.
    sql::execute(
        db,
        "INSERT INTO analysis_survey_facts \
         (term_id, course_id, answers, sections, enrolled, submitted, overall) \
         SELECT y.term_id, y.course_id, y.answers, COUNT(*), CAST(SUM(y.enrolled) AS BIGINT), \
           CAST(SUM(y.submitted) AS BIGINT), CAST(SUM(y.total) AS BIGINT) \
         FROM (SELECT s.term_id AS term_id, s.course_id AS course_id, \
             (SELECT COUNT(*) FROM feedback_answers fa WHERE fa.section_id = s.id) AS answers, \
             (SELECT CAST(COALESCE(SUM(fa.overall), 0) AS BIGINT) FROM feedback_answers fa \
               WHERE fa.section_id = s.id) AS total, \
             (SELECT COUNT(*) FROM feedback_submissions fs WHERE fs.section_id = s.id) AS submitted, \
             (SELECT COUNT(*) FROM enrolments e WHERE e.section_id = s.id \
               AND e.status = 'enrolled') AS enrolled \
           FROM sections s) y \
         GROUP BY y.term_id, y.course_id, y.answers",
        Vec::new(),
    )
    .await?;
    let started = retention::started_terms(db, today).await?;
    for (i, t) in started.iter().enumerate() {
        // Cases closed in the term's window, by the case's department (else the student's).
        let until = satisfaction::case_window_end(&started, i);
        sql::execute(
            db,
            "INSERT INTO analysis_case_facts (term_id, department_id, closed, rated, rating_total) \
             SELECT ?, COALESCE(c.department_id, st.department_id), COUNT(*), COUNT(r.case_id), \
               CAST(COALESCE(SUM(r.rating), 0) AS BIGINT) \
             FROM cases c JOIN students st ON st.id = c.student_id \
             LEFT JOIN case_ratings r ON r.case_id = c.id \
             WHERE c.closed_at IS NOT NULL AND c.closed_at >= ? AND c.closed_at < ? \
             GROUP BY COALESCE(c.department_id, st.department_id)",
            vec![
                t.id.into(),
                satisfaction::midnight(t.starts_on).into(),
                satisfaction::midnight(until).into(),
            ],
        )
        .await?;
        // Students still enrolled at the term's end, per group.
        // NOTE: the statuses of LEFT, written out: withdrawn and suspended.
        let bound = satisfaction::midnight(t.ends_on + chrono::Duration::days(1));
        sql::execute(
            db,
            "INSERT INTO analysis_retention_facts \
             (term_id, department_id, major_id, cohort_year, advisor_id, students, kept) \
             SELECT ?, st.department_id, st.major_id, st.cohort_year, COALESCE(st.advisor_id, 0), \
               COUNT(*), SUM(CASE WHEN COALESCE((SELECT h.new_value FROM student_history h \
                   WHERE h.student_id = st.id AND h.field = 'status' AND h.at < ? \
                   ORDER BY h.at DESC, h.id DESC LIMIT 1), 'active') IN ('withdrawn', 'suspended') \
                 THEN 0 ELSE 1 END) \
             FROM students st WHERE st.merged_into_id IS NULL AND st.cohort_year <= ? \
             GROUP BY st.department_id, st.major_id, st.cohort_year, st.advisor_id",
            vec![
                t.id.into(),
                bound.into(),
                retention::last_cohort(t.ends_on).into(),
            ],
        )
        .await?;
    }
    sql::execute(
        db,
        "INSERT INTO analysis_leaving_facts \
         (department_id, major_id, cohort_year, advisor_id, reason, students) \
         SELECT st.department_id, st.major_id, st.cohort_year, COALESCE(st.advisor_id, 0), \
           h.new_value, COUNT(DISTINCT st.id) \
         FROM student_history h JOIN students st ON st.id = h.student_id \
         WHERE h.field = 'status' AND h.new_value IN ('withdrawn', 'suspended') \
           AND st.merged_into_id IS NULL \
         GROUP BY st.department_id, st.major_id, st.cohort_year, st.advisor_id, h.new_value",
        Vec::new(),
    )
    .await?;
    Ok(())
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

/// The portfolio's inputs for `term` (and the term before) from the store.
pub(super) async fn course_inputs(
    db: &impl ConnectionTrait,
    term: i64,
    previous: Option<i64>,
    floor: u64,
    closed: bool,
) -> AppResult<Inputs> {
    let rows = sql::rows(
        db,
        "SELECT c.id, c.code, c.title_zh, c.title_en, f.registrations, f.waitlisted, f.drops, \
           f.graded, f.passed, f.score_hundredths \
         FROM analysis_course_facts f JOIN courses c ON c.id = f.course_id WHERE f.term_id = ?",
        vec![term.into()],
    )
    .await?;
    let mut demand: Vec<Demand> = Vec::with_capacity(rows.len());
    let mut now = HashMap::new();
    for r in rows {
        let id: i64 = r.try_get_by_index(0)?;
        demand.push((
            id,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
            r.try_get_by_index(3)?,
            r.try_get_by_index(4)?,
            r.try_get_by_index(5)?,
            r.try_get_by_index(6)?,
        ));
        let graded: i64 = r.try_get_by_index(7)?;
        if graded > 0 {
            let mean = mean_score(r.try_get_by_index(9)?, graded);
            now.insert(id, (graded, r.try_get_by_index(8)?, mean));
        }
    }
    let mut before = HashMap::new();
    if let Some(p) = previous {
        let rows = sql::rows(
            db,
            "SELECT course_id, graded, passed, score_hundredths FROM analysis_course_facts \
             WHERE term_id = ? AND graded > 0",
            vec![p.into()],
        )
        .await?;
        for r in rows {
            let graded: i64 = r.try_get_by_index(1)?;
            let mean = mean_score(r.try_get_by_index(3)?, graded);
            before.insert(
                r.try_get_by_index(0)?,
                (graded, r.try_get_by_index(2)?, mean),
            );
        }
    }
    let mut satisfaction = HashMap::new();
    if closed {
        // NOTE: a section counts only with at least the floor of answers (and one at least).
        let min = i64::try_from(floor).unwrap_or(i64::MAX).max(1);
        let rows = sql::rows(
            db,
            "SELECT course_id, CAST(SUM(answers * sections) AS BIGINT), CAST(SUM(overall) AS BIGINT) \
             FROM analysis_survey_facts WHERE term_id = ? AND answers >= ? GROUP BY course_id",
            vec![term.into(), min.into()],
        )
        .await?;
        for r in rows {
            satisfaction.insert(
                r.try_get_by_index(0)?,
                (
                    r.try_get_by_index::<Option<i64>>(1)?.unwrap_or(0),
                    r.try_get_by_index::<Option<i64>>(2)?.unwrap_or(0),
                ),
            );
        }
    }
    Ok(Inputs {
        demand,
        now,
        before,
        satisfaction,
    })
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
