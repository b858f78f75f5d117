//! The value matrix: gathering each active student's [`Inputs`] for a term in a few aggregated
//! queries, scoring them off the request threads (`spawn_blocking`), storing one `value_cells`
//! row per student and term (replacing that term's rows in one transaction), and reading the
//! counts, the movement between the two latest computed terms and one student's cell back.

use super::scope::Reach;
use super::score::{Components, Inputs, score};
use super::settings::{self, CELLS};
use super::sql;
use crate::audit::Entry;
use crate::db::{Writable, write_txn};
use crate::entity::students::StudentStatus;
use crate::entity::{students, terms, value_cells};
use crate::error::{AppError, AppResult};
use crate::grades::gpa::gpa;
use crate::students::lifecycle::{Calendar, term_aggregates};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use std::collections::HashMap;

/// The term the matrix is computed for: the current one (or the latest started).
pub async fn current_term(db: &impl ConnectionTrait) -> AppResult<Option<terms::Model>> {
    let cal = Calendar::load(db).await?;
    match cal.current_seq {
        Some(seq) => Ok(terms::Entity::find()
            .filter(terms::Column::Seq.eq(seq))
            .one(db)
            .await?),
        None => Ok(None),
    }
}

/// The first instant of `d` (UTC), as the windows' bounds.
fn at_midnight(d: NaiveDate) -> DateTime<FixedOffset> {
    d.and_time(chrono::NaiveTime::MIN).and_utc().fixed_offset()
}

/// Every active student's inputs for `term` (its data, the term before for the relationship
/// window and the trend).
pub async fn gather(db: &impl ConnectionTrait, term: &terms::Model) -> AppResult<Vec<Inputs>> {
    let all = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?;
    let previous = all.iter().rfind(|t| t.seq < term.seq);
    // Active students as (id, cohort): no other column of the record is read.
    let people: Vec<(i64, i64)> = students::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .column(students::Column::CohortYear)
        .filter(students::Column::Status.eq(StudentStatus::Active))
        .filter(students::Column::MergedIntoId.is_null())
        .order_by_asc(students::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let active = Query::select()
        .column(students::Column::Id)
        .from(students::Entity)
        .and_where(Expr::col(students::Column::Status).eq(StudentStatus::Active.as_str()))
        .and_where(Expr::col(students::Column::MergedIntoId).is_null())
        .to_owned();
    let aggs = term_aggregates(db, active).await?;
    let t = term.id;
    let seq = term.seq;
    // The relationship window: the term before (if any) and this one, by seq and by date.
    let first_seq = previous.map_or(seq, |p| p.seq);
    let from = at_midnight(previous.map_or(term.starts_on, |p| p.starts_on));
    let until = at_midnight(term.ends_on + Duration::days(1));
    let now = Utc::now().fixed_offset();
    let earned = sql::reals(
        db,
        "SELECT g.student_id, SUM(c.credits) FROM grades g \
         JOIN sections s ON s.id = g.section_id JOIN terms t ON t.id = s.term_id \
         JOIN courses c ON c.id = s.course_id \
         WHERE g.status = 'published' AND g.points > 0 AND t.seq < ? GROUP BY g.student_id",
        vec![seq.into()],
    )
    .await?;
    let meetings = sql::counts(
        db,
        "SELECT e.student_id, COUNT(*) FROM attendance_rolls r \
         JOIN sections s ON s.id = r.section_id \
         JOIN enrolments e ON e.section_id = r.section_id \
         WHERE s.term_id = ? AND e.status <> 'dropped' GROUP BY e.student_id",
        vec![t.into()],
    )
    .await?;
    let absences = sql::counts(
        db,
        "SELECT a.student_id, COUNT(*) FROM attendance a JOIN sections s ON s.id = a.section_id \
         WHERE s.term_id = ? AND a.status = 'absent' GROUP BY a.student_id",
        vec![t.into()],
    )
    .await?;
    let due = sql::counts(
        db,
        "SELECT e.student_id, COUNT(*) FROM assessments a \
         JOIN sections s ON s.id = a.section_id \
         JOIN enrolments e ON e.section_id = a.section_id \
         WHERE s.term_id = ? AND e.status = 'enrolled' AND a.due_at IS NOT NULL \
         AND a.due_at < ? GROUP BY e.student_id",
        vec![t.into(), now.into()],
    )
    .await?;
    let on_time = sql::counts(
        db,
        "SELECT sc.student_id, COUNT(*) FROM assessment_scores sc \
         JOIN assessments a ON a.id = sc.assessment_id JOIN sections s ON s.id = a.section_id \
         WHERE s.term_id = ? AND a.due_at IS NOT NULL AND a.due_at < ? \
         AND sc.submitted_at IS NOT NULL AND sc.submitted_at <= a.due_at \
         GROUP BY sc.student_id",
        vec![t.into(), now.into()],
    )
    .await?;
    let contacts = sql::counts(
        db,
        "SELECT student_id, COUNT(*) FROM interventions \
         WHERE happened_on >= ? AND happened_on < ? GROUP BY student_id",
        vec![from.date_naive().into(), until.date_naive().into()],
    )
    .await?;
    let messages = sql::counts(
        db,
        "SELECT st.id, COUNT(*) FROM messages m JOIN students st ON st.user_id = m.sender_id \
         WHERE m.sent_at >= ? AND m.sent_at < ? GROUP BY st.id",
        vec![from.into(), until.into()],
    )
    .await?;
    let cases = sql::counts(
        db,
        "SELECT student_id, COUNT(*) FROM cases \
         WHERE created_at >= ? AND created_at < ? GROUP BY student_id",
        vec![from.into(), until.into()],
    )
    .await?;
    let given = sql::counts(
        db,
        "SELECT f.student_id, COUNT(*) FROM feedback_submissions f \
         JOIN sections s ON s.id = f.section_id JOIN terms t ON t.id = s.term_id \
         WHERE t.seq >= ? AND t.seq <= ? GROUP BY f.student_id",
        vec![first_seq.into(), seq.into()],
    )
    .await?;
    let possible = sql::counts(
        db,
        "SELECT e.student_id, COUNT(*) FROM enrolments e \
         JOIN sections s ON s.id = e.section_id JOIN terms t ON t.id = s.term_id \
         WHERE t.seq >= ? AND t.seq <= ? AND e.status = 'enrolled' \
         AND e.section_id IN (SELECT DISTINCT section_id FROM feedback_submissions) \
         GROUP BY e.student_id",
        vec![first_seq.into(), seq.into()],
    )
    .await?;
    let ratings = sql::reals(
        db,
        "SELECT c.student_id, AVG(CAST(r.rating AS DOUBLE PRECISION)) FROM case_ratings r \
         JOIN cases c ON c.id = r.case_id WHERE r.at < ? GROUP BY c.student_id",
        vec![until.into()],
    )
    .await?;
    let leave = leave_risks(db, until).await?;
    let per_term = settings::get(db).await?.credits_per_term;
    let get = |m: &HashMap<i64, i64>, id: i64| m.get(&id).copied().unwrap_or(0);
    Ok(people
        .into_iter()
        .map(|(id, cohort)| {
            let mut mine: Vec<_> = aggs
                .get(&id)
                .map(|v| v.iter().filter(|a| a.term_seq <= seq).copied().collect())
                .unwrap_or_default();
            mine.sort_by_key(|a| a.term_seq);
            let (qp, cr) = mine.iter().fold((0.0, 0.0), |(q, c), a| {
                (q + a.quality_points, c + a.credits)
            });
            let gpas: Vec<f64> = mine.iter().filter_map(|a| a.gpa()).collect();
            let gpa_change = match gpas.as_slice() {
                [.., a, b] => Some(b - a),
                _ => None,
            };
            let cohort_start = cohort_start(cohort);
            let completed = all
                .iter()
                .filter(|x| x.seq < seq && cohort_start.is_some_and(|c| x.starts_on >= c))
                .count() as f64;
            Inputs {
                student_id: id,
                gpa: gpa(qp, cr),
                gpa_change,
                credits_earned: earned.get(&id).copied().unwrap_or(0.0),
                credits_planned: completed * per_term,
                meetings: get(&meetings, id),
                absences: get(&absences, id),
                due: get(&due, id),
                on_time: get(&on_time, id),
                contacts: get(&contacts, id),
                messages: get(&messages, id),
                cases: get(&cases, id),
                feedback_given: get(&given, id),
                feedback_possible: get(&possible, id),
                rating: ratings.get(&id).copied(),
                leave_risk: leave.get(&id).copied(),
            }
        })
        .collect())
}

/// The leaving risk (0–100) of each student in the latest finished mining run that started
/// before `until`: the leaving model's score when the run had one, else the risk score.
async fn leave_risks(
    db: &impl ConnectionTrait,
    until: DateTime<FixedOffset>,
) -> AppResult<HashMap<i64, f64>> {
    let rows = sql::rows(
        db,
        "SELECT f.student_id, f.score, f.reasons FROM risk_flags f WHERE f.run_id = \
         (SELECT MAX(id) FROM mining_runs WHERE status = 'done' AND started_at < ?)",
        vec![until.into()],
    )
    .await?;
    let mut raw = Vec::with_capacity(rows.len());
    for r in rows {
        raw.push((
            r.try_get_by_index::<i64>(0)?,
            r.try_get_by_index::<f64>(1)?,
            r.try_get_by_index::<String>(2)?,
        ));
    }
    // NOTE: parsing tens of thousands of reason documents is CPU work.
    tokio::task::spawn_blocking(move || {
        raw.into_iter()
            .map(|(id, score, reasons)| {
                let detail: crate::mining::reasons::FlagDetail =
                    serde_json::from_str(&reasons).unwrap_or_default();
                (id, detail.leave.map_or(score, |l| l.score))
            })
            .collect()
    })
    .await
    .map_err(AppError::internal)
}

/// What a computation did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MatrixComputed {
    pub term_id: i64,
    pub term_code: String,
    pub students: usize,
}

/// Computes the matrix for `term` and stores its rows (replacing the term's earlier ones).
pub async fn compute_term<C: Writable>(
    db: &C,
    term: &terms::Model,
    actor: Option<i64>,
) -> AppResult<MatrixComputed> {
    let inputs = gather(db, term).await?;
    let s = settings::get(db).await?;
    let scored = tokio::task::spawn_blocking(move || {
        inputs.iter().map(|i| score(i, &s)).collect::<Vec<_>>()
    })
    .await
    .map_err(AppError::internal)?;
    let now = Utc::now().fixed_offset();
    let txn = write_txn(db).await?;
    value_cells::Entity::delete_many()
        .filter(value_cells::Column::TermId.eq(term.id))
        .exec(&txn)
        .await?;
    for chunk in scored.chunks(500) {
        let rows = chunk.iter().map(|x| value_cells::ActiveModel {
            student_id: Set(x.student_id),
            term_id: Set(term.id),
            cell: Set(x.cell.to_string()),
            standing: Set(x.standing),
            relationship: Set(x.relationship),
            components: Set(serde_json::to_string(&x.components).unwrap_or_default()),
            computed_at: Set(now),
            ..Default::default()
        });
        value_cells::Entity::insert_many(rows).exec(&txn).await?;
    }
    // The analysis store's facts of the matrix follow the cells in the same transaction.
    super::facts::refresh_value_facts(&txn).await?;
    Entry::new(actor, "analytics.value_compute", "term")
        .id(term.id)
        .detail(serde_json::json!({"students": scored.len()}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(MatrixComputed {
        term_id: term.id,
        term_code: term.code.clone(),
        students: scored.len(),
    })
}

/// Computes the matrix for the current term.
pub async fn compute_current<C: Writable>(db: &C, actor: Option<i64>) -> AppResult<MatrixComputed> {
    let Some(term) = current_term(db).await? else {
        return Err(AppError::unprocessable(
            "no_current_term",
            "there is no current term to compute the matrix for",
        ));
    };
    compute_term(db, &term, actor).await
}

// ---------------------------------------------------------------- reading

/// A term the matrix was computed for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TermRef {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub computed_at: Option<DateTime<FixedOffset>>,
}

/// Students moving from one cell (last term) to another (this term).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Flow {
    pub from: String,
    pub to: String,
    pub count: i64,
}

/// The matrix as the caller may see it.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub term: Option<TermRef>,
    pub previous: Option<TermRef>,
    /// Students per cell code (all four present).
    pub counts: Vec<(String, i64)>,
    pub total: i64,
    pub flows: Vec<Flow>,
}

/// The terms with stored rows, latest first.
async fn computed_terms(db: &impl ConnectionTrait) -> AppResult<Vec<TermRef>> {
    let rows = sql::rows(
        db,
        "SELECT t.id, t.code, t.name_zh, t.name_en, MAX(vc.computed_at) AS at FROM terms t \
         JOIN value_cells vc ON vc.term_id = t.id \
         GROUP BY t.id, t.code, t.name_zh, t.name_en, t.seq ORDER BY t.seq DESC LIMIT 2",
        Vec::new(),
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(TermRef {
            id: r.try_get_by_index(0)?,
            code: r.try_get_by_index(1)?,
            name_zh: r.try_get_by_index(2)?,
            name_en: r.try_get_by_index(3)?,
            computed_at: r.try_get_by_index(4).ok(),
        });
    }
    Ok(out)
}

/// Counts per cell for the latest computed term, and the flows from the term before.
pub async fn matrix(db: &impl ConnectionTrait, reach: Reach) -> AppResult<Matrix> {
    let mut terms = computed_terms(db).await?.into_iter();
    let term = terms.next();
    let previous = terms.next();
    let mut by_cell: HashMap<String, i64> = HashMap::new();
    let mut flows = Vec::new();
    if let Some(t) = &term {
        let rows = sql::rows(
            db,
            "SELECT vc.cell, COUNT(*) FROM value_cells vc \
             JOIN students st ON st.id = vc.student_id \
             WHERE vc.term_id = ? AND (? = 1 OR st.advisor_id = ?) GROUP BY vc.cell",
            [vec![t.id.into()], reach.values()].concat(),
        )
        .await?;
        for r in rows {
            by_cell.insert(r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        }
        if let Some(p) = &previous {
            let rows = sql::rows(
                db,
                "SELECT a.cell, b.cell, COUNT(*) FROM value_cells a \
                 JOIN value_cells b ON b.student_id = a.student_id AND b.term_id = ? \
                 JOIN students st ON st.id = a.student_id \
                 WHERE a.term_id = ? AND (? = 1 OR st.advisor_id = ?) GROUP BY a.cell, b.cell",
                [vec![t.id.into(), p.id.into()], reach.values()].concat(),
            )
            .await?;
            for r in rows {
                flows.push(Flow {
                    from: r.try_get_by_index(0)?,
                    to: r.try_get_by_index(1)?,
                    count: r.try_get_by_index(2)?,
                });
            }
            flows.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        }
    }
    let counts: Vec<(String, i64)> = CELLS
        .iter()
        .map(|c| (c.to_string(), by_cell.get(*c).copied().unwrap_or(0)))
        .collect();
    Ok(Matrix {
        total: counts.iter().map(|(_, n)| n).sum(),
        counts,
        term,
        previous,
        flows,
    })
}

/// The students in `reach` whose cell is `cell` in the latest computed term.
pub async fn cell_students(
    db: &impl ConnectionTrait,
    reach: Reach,
    cell: &str,
) -> AppResult<Vec<i64>> {
    let Some(term) = computed_terms(db).await?.into_iter().next() else {
        return Ok(Vec::new());
    };
    let rows = sql::rows(
        db,
        "SELECT vc.student_id FROM value_cells vc JOIN students st ON st.id = vc.student_id \
         WHERE vc.term_id = ? AND vc.cell = ? AND (? = 1 OR st.advisor_id = ?) \
         ORDER BY vc.student_id",
        [vec![term.id.into(), cell.into()], reach.values()].concat(),
    )
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        ids.push(r.try_get_by_index(0)?);
    }
    Ok(ids)
}

/// One student's latest stored cell, with its components and term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudentCell {
    pub cell: String,
    pub standing: f64,
    pub relationship: f64,
    pub components: Components,
    pub term_code: String,
    pub term_zh: String,
    pub term_en: String,
    pub computed_at: DateTime<FixedOffset>,
    /// The cell of the term before, when it was computed.
    pub previous_cell: Option<String>,
}

pub async fn student_cell(
    db: &impl ConnectionTrait,
    student_id: i64,
) -> AppResult<Option<StudentCell>> {
    let rows = value_cells::Entity::find()
        .filter(value_cells::Column::StudentId.eq(student_id))
        .find_also_related(terms::Entity)
        .order_by_desc(terms::Column::Seq)
        .all(db)
        .await?;
    let mut it = rows.into_iter();
    let Some((row, term)) = it.next() else {
        return Ok(None);
    };
    Ok(Some(StudentCell {
        cell: row.cell,
        standing: row.standing,
        relationship: row.relationship,
        components: serde_json::from_str(&row.components).unwrap_or_default(),
        term_code: term.as_ref().map(|t| t.code.clone()).unwrap_or_default(),
        term_zh: term.as_ref().map(|t| t.name_zh.clone()).unwrap_or_default(),
        term_en: term.map(|t| t.name_en).unwrap_or_default(),
        computed_at: row.computed_at,
        previous_cell: it.next().map(|(r, _)| r.cell),
    }))
}

/// The academic year's first day of a cohort (for the plan of credits).
pub fn cohort_start(cohort: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(cohort).ok()?, 8, 1).filter(|d| d.year() > 0)
}
