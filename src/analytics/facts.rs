//! The analysis store's facts for the value matrix, the course portfolio, satisfaction,
//! retention (migration `m20261211_000001_analysis_store_pages`) and the wide grade statistics
//! (`m20261213_000001_grade_facts`): written by a snapshot in its
//! transaction (the value matrix's also whenever the matrix is computed), each an
//! `INSERT … SELECT` counted by the database, and read by the pages and the API instead of the
//! whole history. Each page answers live until a snapshot that wrote these facts was taken
//! (`analysis_snapshots.facts` at least [`PAGE_FACTS`], the grade statistics [`GRADE_FACTS`]); the
//! value matrix as soon as its facts exist.
//!
//! What stays exact when read: the anonymity floor (the survey facts keep each section's number
//! of answers, so any floor applies), whether a term's survey has closed and which terms have
//! started (both by today's date), the advisor's scope and the department and major filters
//! (each fact row carries them). What a snapshot fixes until the next one: the counts, and who
//! advises whom (students are counted in their group of the snapshot, as in the rest of the
//! store). Opening a cell's list of students stays live (one term's rows, by index).
//!
//! This module writes the facts; `super::stored` reads them for the pages (so the writers of
//! the store, the matrix and the settings import nothing of the pages' types).

use super::{retention, satisfaction, sql};
use crate::error::AppResult;
use crate::grades::scale::pass_mark_sql;
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

/// The version of the facts a snapshot writes (see `analysis_snapshots.facts`): 3 added the
/// grade statistics' scores (`m20261213_000001_grade_facts`).
pub const FACTS: i64 = 3;

/// The first version of the facts with the value matrix's, the portfolio's, satisfaction's and
/// retention's (a snapshot of an older version leaves those pages live).
pub const PAGE_FACTS: i64 = 2;

/// The first version of the facts with the grade statistics' scores.
pub const GRADE_FACTS: i64 = 3;

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
        "DELETE FROM analysis_grade_facts",
    ] {
        sql::execute(db, stmt, Vec::new()).await?;
    }
    refresh_value_facts(db).await?;
    // The portfolio: enrolments per term and course, and the published grades' outcomes.
    sql::execute(
        db,
        concat!(
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
             SUM(CASE WHEN g.score >= ",
            pass_mark_sql!(section "s"),
            " THEN 1 ELSE 0 END) AS passed, \
             CAST(SUM(CAST(ROUND(g.score * 100) AS BIGINT)) AS BIGINT) AS hundredths \
           FROM grades g JOIN sections s ON s.id = g.section_id \
           WHERE g.status = 'published' GROUP BY s.term_id, s.course_id) o \
         ON o.term_id = x.term_id AND o.course_id = x.course_id"
        ),
        Vec::new(),
    )
    .await?;
    // Grade statistics: published grades per term, department of the course and score, and
    // how many passed.
    sql::execute(
        db,
        concat!(
            "INSERT INTO analysis_grade_facts (term_id, department_id, score, graded, passed) \
         SELECT s.term_id, c.department_id, g.score, COUNT(*), \
           SUM(CASE WHEN g.score >= ",
            pass_mark_sql!(scale "section_scale"),
            " THEN 1 ELSE 0 END) \
         FROM grades g JOIN sections s ON s.id = g.section_id \
         JOIN courses c ON c.id = s.course_id \
         LEFT JOIN grading_scales section_scale ON section_scale.id = s.grading_scale_id \
         WHERE g.status = 'published' GROUP BY s.term_id, c.department_id, g.score"
        ),
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
