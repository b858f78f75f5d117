//! The analysis store: summary tables that the analysis pages read instead of every row of the
//! history, so they answer in the same time whatever its size. A snapshot, taken by the
//! analytics schedule (nightly by default) or on demand, aggregates in the database where it
//! can (registrations, grades, risk levels, cells per term and group), walks the lifecycle
//! transitions once, and replaces the tables in one transaction (with the facts of
//! [`super::facts`]: the value matrix, the portfolio, satisfaction and retention).
//!
//! A group is a department × major × cohort × advisor (0: none), so an advisor's scope is one
//! condition on the stored rows. Students are counted in their group of today; merged
//! duplicates are left out.

use super::analysis::{self, Funnel, LifecycleReport, Recovery};
use super::scope::Reach;
use super::sql;
use super::transitions::all_in;
use crate::db::{Writable, write_txn};
use crate::entity::{analysis_group_facts, analysis_snapshots, analysis_term_facts};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::Serialize;
use std::collections::HashMap;

/// Department, major, cohort, advisor (0: none).
type Group = (i64, i64, i64, i64);

/// The latest snapshot, if one was taken.
pub async fn latest(db: &impl ConnectionTrait) -> AppResult<Option<analysis_snapshots::Model>> {
    Ok(analysis_snapshots::Entity::find()
        .order_by_desc(analysis_snapshots::Column::Id)
        .one(db)
        .await?)
}

/// Every non-merged student's group.
async fn groups(db: &impl ConnectionTrait) -> AppResult<HashMap<i64, Group>> {
    let rows = sql::rows(
        db,
        "SELECT id, department_id, major_id, cohort_year, COALESCE(advisor_id, 0) FROM students \
         WHERE merged_into_id IS NULL",
        Vec::new(),
    )
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            (
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
                r.try_get_by_index(4)?,
            ),
        );
    }
    Ok(out)
}

/// The rows of `sql`, each a term, a group and `n` measures, added into `facts` by `add`.
async fn fold_term_rows(
    db: &impl ConnectionTrait,
    sql: &'static str,
    facts: &mut HashMap<(i64, Group), analysis_term_facts::Model>,
    add: impl Fn(&mut analysis_term_facts::Model, &sea_orm::QueryResult) -> AppResult<()>,
) -> AppResult<()> {
    for r in sql::rows(db, sql, Vec::new()).await? {
        let term: i64 = r.try_get_by_index(0)?;
        let group: Group = (
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
            r.try_get_by_index(3)?,
            r.try_get_by_index(4)?,
        );
        add(facts.entry((term, group)).or_default(), &r)?;
    }
    Ok(())
}

/// Facts per term and group; per group the students, the funnel and the recovery.
type TermFacts = HashMap<(i64, Group), analysis_term_facts::Model>;
type GroupFacts = HashMap<Group, (i64, Funnel, Recovery)>;

/// Every student's stage at each term's end, funnel and recovery, added up per term and group.
fn walk_all(
    people: &HashMap<i64, Group>,
    all_terms: &[crate::entity::terms::Model],
    today: chrono::NaiveDate,
    rows: Vec<(i64, String, chrono::DateTime<chrono::FixedOffset>)>,
    care: &HashMap<i64, Vec<chrono::NaiveDate>>,
) -> (TermFacts, GroupFacts) {
    let mut facts: TermFacts = HashMap::new();
    let mut per_group: GroupFacts = HashMap::new();
    for g in people.values() {
        per_group.entry(*g).or_default().0 += 1;
    }
    analysis::walk(all_terms, today, rows, care, |student, w| {
        let Some(g) = people.get(&student) else {
            return;
        };
        for (t, idx) in all_terms.iter().zip(&w.stages) {
            let Some(idx) = idx else { continue };
            let f = facts.entry((t.id, *g)).or_default();
            match idx {
                0 => f.stage_new += 1,
                1 => f.stage_forming += 1,
                2 => f.stage_stable += 1,
                3 => f.stage_declining += 1,
                4 => f.stage_left += 1,
                _ => f.stage_graduated += 1,
            }
        }
        let (_, funnel, recovery) = per_group.entry(*g).or_default();
        funnel.add(w.funnel);
        for e in w.episodes {
            recovery.add(e);
        }
    });
    (facts, per_group)
}

/// Takes a snapshot: computes every summary and replaces the store in one transaction.
pub async fn snapshot<C: Writable>(
    db: &C,
    by: Option<i64>,
) -> AppResult<analysis_snapshots::Model> {
    let started = std::time::Instant::now();
    let today = Utc::now().date_naive();
    let people = groups(db).await?;
    // The lifecycle: each student's stage at each term's end, the funnel and the recovery.
    let all_terms = analysis::started_terms(db, today).await?;
    let rows = all_in(db, Reach::All).await?;
    let care = analysis::interventions(db, Reach::All).await?;
    // NOTE: walking every student's history is CPU work: on the blocking pool, never on the
    // async workers (an administrator's request takes a snapshot too).
    let (mut facts, per_group) =
        tokio::task::spawn_blocking(move || walk_all(&people, &all_terms, today, rows, &care))
            .await
            .map_err(|e| AppError::internal(format!("the snapshot stopped: {e}")))?;
    // Registrations and credits per term and group, counted in the database.
    fold_term_rows(
        db,
        "SELECT s.term_id, st.department_id, st.major_id, st.cohort_year, \
         COALESCE(st.advisor_id, 0), COUNT(DISTINCT CASE WHEN e.status = 'enrolled' THEN e.student_id END), \
         SUM(CASE WHEN e.status = 'enrolled' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN e.status = 'dropped' THEN 1 ELSE 0 END), \
         CAST(SUM(CASE WHEN e.status = 'enrolled' THEN c.credits ELSE 0.0 END) AS DOUBLE PRECISION) \
         FROM enrolments e JOIN sections s ON s.id = e.section_id \
         JOIN courses c ON c.id = s.course_id JOIN students st ON st.id = e.student_id \
         WHERE st.merged_into_id IS NULL \
         GROUP BY s.term_id, st.department_id, st.major_id, st.cohort_year, st.advisor_id",
        &mut facts,
        |f, r| {
            f.enrolled += r.try_get_by_index::<i64>(5)?;
            f.registrations += r.try_get_by_index::<i64>(6)?;
            f.drops += r.try_get_by_index::<i64>(7)?;
            f.credits += r.try_get_by_index::<Option<f64>>(8)?.unwrap_or(0.0);
            Ok(())
        },
    )
    .await?;
    // Published grades: how many, passed, and grade points weighted by credits.
    fold_term_rows(
        db,
        "SELECT s.term_id, st.department_id, st.major_id, st.cohort_year, \
         COALESCE(st.advisor_id, 0), COUNT(*), SUM(CASE WHEN g.points > 0 THEN 1 ELSE 0 END), \
         CAST(SUM(g.points * c.credits) AS DOUBLE PRECISION), CAST(SUM(c.credits) AS DOUBLE PRECISION) \
         FROM grades g JOIN sections s ON s.id = g.section_id \
         JOIN courses c ON c.id = s.course_id JOIN students st ON st.id = g.student_id \
         WHERE g.status = 'published' AND st.merged_into_id IS NULL \
         GROUP BY s.term_id, st.department_id, st.major_id, st.cohort_year, st.advisor_id",
        &mut facts,
        |f, r| {
            f.graded += r.try_get_by_index::<i64>(5)?;
            f.passed += r.try_get_by_index::<i64>(6)?;
            f.grade_points += r.try_get_by_index::<Option<f64>>(7)?.unwrap_or(0.0);
            f.grade_credits += r.try_get_by_index::<Option<f64>>(8)?.unwrap_or(0.0);
            Ok(())
        },
    )
    .await?;
    // Risk levels of each term's latest finished mining run.
    fold_term_rows(
        db,
        "SELECT r.term_id, st.department_id, st.major_id, st.cohort_year, \
         COALESCE(st.advisor_id, 0), SUM(CASE WHEN f.level = 'medium' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN f.level = 'high' THEN 1 ELSE 0 END) \
         FROM risk_flags f JOIN mining_runs r ON r.id = f.run_id \
         JOIN students st ON st.id = f.student_id \
         WHERE st.merged_into_id IS NULL AND r.term_id IS NOT NULL AND r.id = \
         (SELECT MAX(r2.id) FROM mining_runs r2 WHERE r2.status = 'done' AND r2.term_id = r.term_id) \
         GROUP BY r.term_id, st.department_id, st.major_id, st.cohort_year, st.advisor_id",
        &mut facts,
        |f, r| {
            f.risk_medium += r.try_get_by_index::<i64>(5)?;
            f.risk_high += r.try_get_by_index::<i64>(6)?;
            Ok(())
        },
    )
    .await?;
    // The value matrix's cells of each computed term.
    fold_term_rows(
        db,
        "SELECT vc.term_id, st.department_id, st.major_id, st.cohort_year, \
         COALESCE(st.advisor_id, 0), SUM(CASE WHEN vc.cell = 'develop' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN vc.cell = 'engage' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN vc.cell = 'support' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN vc.cell = 'rescue' THEN 1 ELSE 0 END) \
         FROM value_cells vc JOIN students st ON st.id = vc.student_id \
         WHERE st.merged_into_id IS NULL \
         GROUP BY vc.term_id, st.department_id, st.major_id, st.cohort_year, st.advisor_id",
        &mut facts,
        |f, r| {
            f.cell_develop += r.try_get_by_index::<i64>(5)?;
            f.cell_engage += r.try_get_by_index::<i64>(6)?;
            f.cell_support += r.try_get_by_index::<i64>(7)?;
            f.cell_rescue += r.try_get_by_index::<i64>(8)?;
            Ok(())
        },
    )
    .await?;
    let term_rows: Vec<analysis_term_facts::ActiveModel> = facts
        .into_iter()
        .map(|((term, (d, m, c, a)), f)| {
            let mut am: analysis_term_facts::ActiveModel = analysis_term_facts::Model {
                term_id: term,
                department_id: d,
                major_id: m,
                cohort_year: c,
                advisor_id: a,
                ..f
            }
            .into();
            am.id = sea_orm::ActiveValue::NotSet;
            am
        })
        .collect();
    let group_rows: Vec<analysis_group_facts::ActiveModel> = per_group
        .into_iter()
        .map(|((d, m, c, a), (students, f, r))| {
            let mut am: analysis_group_facts::ActiveModel = analysis_group_facts::Model {
                id: 0,
                department_id: d,
                major_id: m,
                cohort_year: c,
                advisor_id: a,
                students,
                funnel_new: f.new,
                funnel_forming: f.forming,
                funnel_stable: f.stable,
                with_care: r.with_care,
                with_care_recovered: r.with_care_recovered,
                without_care: r.without_care,
                without_care_recovered: r.without_care_recovered,
            }
            .into();
            am.id = sea_orm::ActiveValue::NotSet;
            am
        })
        .collect();
    let (n_terms, n_groups) = (term_rows.len() as i64, group_rows.len() as i64);
    let txn = write_txn(db).await?;
    analysis_term_facts::Entity::delete_many()
        .exec(&txn)
        .await?;
    analysis_group_facts::Entity::delete_many()
        .exec(&txn)
        .await?;
    let mut rows = term_rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        analysis_term_facts::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    let mut rows = group_rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        analysis_group_facts::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    // The value matrix's, the portfolio's, satisfaction's and retention's facts.
    super::facts::write(&txn, today).await?;
    let snap = analysis_snapshots::ActiveModel {
        facts: Set(super::facts::FACTS),
        taken_at: Set(Utc::now().fixed_offset()),
        taken_by: Set(by),
        seconds: Set(started.elapsed().as_secs_f64()),
        term_rows: Set(n_terms),
        group_rows: Set(n_groups),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::Entry::new(by, "analytics.snapshot", "analysis_snapshots")
        .id(snap.id)
        .detail(
            serde_json::json!({"seconds": snap.seconds, "term_rows": n_terms,
                                   "group_rows": n_groups}),
        )
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(snap)
}

/// The report from the analysis store's latest snapshot (computed live when none was taken).
pub async fn lifecycle(db: &impl ConnectionTrait, reach: Reach) -> AppResult<LifecycleReport> {
    let Some(snap) = latest(db).await? else {
        return analysis::live_report(db, reach).await;
    };
    let today = Utc::now().date_naive();
    let all_terms = analysis::started_terms(db, today).await?;
    let mut terms_out = analysis::term_stages(&all_terms);
    let stages = stage_counts(db, reach).await?;
    for (t, out) in all_terms.iter().zip(terms_out.iter_mut()) {
        if let Some(c) = stages.get(&t.id) {
            out.counts = c.to_vec();
        }
    }
    let (funnel, recovery) = funnel_and_recovery(db, reach).await?;
    Ok(LifecycleReport {
        taken_at: Some(snap.taken_at),
        terms: terms_out,
        funnel,
        recovery,
    })
}

/// Stage counts per term in a reach (`?` twice: [`Reach::values`]), from the store; an index
/// on (term, advisor, the six counts) answers it alone.
pub const STAGE_COUNTS_SQL: &str = "SELECT term_id, CAST(SUM(stage_new) AS BIGINT), \
     CAST(SUM(stage_forming) AS BIGINT), CAST(SUM(stage_stable) AS BIGINT), \
     CAST(SUM(stage_declining) AS BIGINT), CAST(SUM(stage_left) AS BIGINT), \
     CAST(SUM(stage_graduated) AS BIGINT) FROM analysis_term_facts \
     WHERE (? = 1 OR advisor_id = ?) GROUP BY term_id";

/// Stage counts per term id (in `Stage::ALL` order) in `reach`, from the store.
pub async fn stage_counts(
    db: &impl ConnectionTrait,
    reach: Reach,
) -> AppResult<HashMap<i64, [i64; 6]>> {
    let rows = sql::rows(db, STAGE_COUNTS_SQL, reach.values()).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let mut c = [0i64; 6];
        for (i, v) in c.iter_mut().enumerate() {
            *v = r.try_get_by_index::<Option<i64>>(i + 1)?.unwrap_or(0);
        }
        out.insert(r.try_get_by_index(0)?, c);
    }
    Ok(out)
}

/// The funnel and the recovery in `reach`, from the store.
pub async fn funnel_and_recovery(
    db: &impl ConnectionTrait,
    reach: Reach,
) -> AppResult<(Funnel, Recovery)> {
    let rows = sql::rows(
        db,
        "SELECT CAST(SUM(funnel_new) AS BIGINT), CAST(SUM(funnel_forming) AS BIGINT), CAST(SUM(funnel_stable) AS BIGINT), CAST(SUM(with_care) AS BIGINT), \
         CAST(SUM(with_care_recovered) AS BIGINT), CAST(SUM(without_care) AS BIGINT), CAST(SUM(without_care_recovered) AS BIGINT) \
         FROM analysis_group_facts WHERE (? = 1 OR advisor_id = ?)",
        reach.values(),
    )
    .await?;
    let mut v = [0i64; 7];
    if let Some(r) = rows.first() {
        for (i, x) in v.iter_mut().enumerate() {
            *x = r.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0);
        }
    }
    Ok((
        Funnel {
            new: v[0],
            forming: v[1],
            stable: v[2],
        },
        Recovery {
            with_care: v[3],
            with_care_recovered: v[4],
            without_care: v[5],
            without_care_recovered: v[6],
        },
    ))
}

/// A snapshot taken.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub id: i64,
    pub taken_at: chrono::DateTime<chrono::FixedOffset>,
    pub seconds: f64,
    pub term_rows: i64,
    pub group_rows: i64,
}

/// One term of the summary (in the caller's scope and filter).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SummaryTerm {
    pub term_code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Students with at least one course in the term.
    pub enrolled: i64,
    pub registrations: i64,
    pub drops: i64,
    pub credits: f64,
    pub graded: i64,
    /// Share of published grades that passed, in per cent (one decimal); none without grades.
    pub pass_rate: Option<f64>,
    /// Mean grade points weighted by credits (two decimals); none without grades.
    pub mean_points: Option<f64>,
    pub risk_medium: i64,
    pub risk_high: i64,
    /// Students per lifecycle stage at the term's end, in `Stage::ALL` order.
    pub stages: Vec<i64>,
    /// Students per value-matrix cell (develop, engage, support, rescue).
    pub cells: Vec<i64>,
}

/// The summary by term from the store's latest snapshot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// When the snapshot was taken; none before the first.
    pub taken_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub terms: Vec<SummaryTerm>,
}

/// The summary in `reach`, filtered by department, major and cohort (0: all).
pub async fn summary(
    db: &impl ConnectionTrait,
    reach: Reach,
    department: i64,
    major: i64,
    cohort: i64,
) -> AppResult<Summary> {
    let taken_at = latest(db).await?.map(|s| s.taken_at);
    let rows = sql::rows(
        db,
        "SELECT t.code, t.name_zh, t.name_en, CAST(SUM(f.enrolled) AS BIGINT), CAST(SUM(f.registrations) AS BIGINT), \
         CAST(SUM(f.drops) AS BIGINT), CAST(SUM(f.credits) AS DOUBLE PRECISION), CAST(SUM(f.graded) AS BIGINT), CAST(SUM(f.passed) AS BIGINT), CAST(SUM(f.grade_points) AS DOUBLE PRECISION), \
         CAST(SUM(f.grade_credits) AS DOUBLE PRECISION), CAST(SUM(f.risk_medium) AS BIGINT), CAST(SUM(f.risk_high) AS BIGINT), CAST(SUM(f.stage_new) AS BIGINT), \
         CAST(SUM(f.stage_forming) AS BIGINT), CAST(SUM(f.stage_stable) AS BIGINT), CAST(SUM(f.stage_declining) AS BIGINT), CAST(SUM(f.stage_left) AS BIGINT), \
         CAST(SUM(f.stage_graduated) AS BIGINT), CAST(SUM(f.cell_develop) AS BIGINT), CAST(SUM(f.cell_engage) AS BIGINT), CAST(SUM(f.cell_support) AS BIGINT), \
         CAST(SUM(f.cell_rescue) AS BIGINT) FROM analysis_term_facts f JOIN terms t ON t.id = f.term_id \
         WHERE (? = 1 OR f.advisor_id = ?) AND (? = 0 OR f.department_id = ?) \
         AND (? = 0 OR f.major_id = ?) AND (? = 0 OR f.cohort_year = ?) \
         GROUP BY t.id, t.code, t.name_zh, t.name_en, t.seq ORDER BY t.seq",
        [
            reach.values(),
            vec![
                department.into(),
                department.into(),
                major.into(),
                major.into(),
                cohort.into(),
                cohort.into(),
            ],
        ]
        .concat(),
    )
    .await?;
    let mut terms = Vec::with_capacity(rows.len());
    for r in rows {
        let int =
            |i: usize| -> AppResult<i64> { Ok(r.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0)) };
        let real = |i: usize| -> AppResult<f64> {
            Ok(r.try_get_by_index::<Option<f64>>(i)?.unwrap_or(0.0))
        };
        let (graded, passed) = (int(7)?, int(8)?);
        let (points, credits) = (real(9)?, real(10)?);
        terms.push(SummaryTerm {
            term_code: r.try_get_by_index(0)?,
            name_zh: r.try_get_by_index(1)?,
            name_en: r.try_get_by_index(2)?,
            enrolled: int(3)?,
            registrations: int(4)?,
            drops: int(5)?,
            credits: (real(6)? * 10.0).round() / 10.0,
            graded,
            pass_rate: (graded > 0)
                .then(|| (passed as f64 / graded as f64 * 1000.0).round() / 10.0),
            mean_points: (credits > 0.0).then(|| (points / credits * 100.0).round() / 100.0),
            risk_medium: int(11)?,
            risk_high: int(12)?,
            stages: (13..19).map(int).collect::<AppResult<_>>()?,
            cells: (19..23).map(int).collect::<AppResult<_>>()?,
        });
    }
    Ok(Summary { taken_at, terms })
}

/// Which students the summary counts: one department, major and/or cohort (the query string).
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Only students of this department (its id).
    #[param(minimum = 1, maximum = 1000000000)]
    pub department: Option<i64>,
    /// Only students of this major (its id).
    #[param(minimum = 1, maximum = 1000000000)]
    pub major: Option<i64>,
    /// Only students of this cohort (entry year).
    #[param(minimum = 1900, maximum = 2200)]
    pub cohort: Option<i64>,
}

impl SummaryQuery {
    /// Refuses a value out of range (`invalid_filter`, 422).
    pub fn check(self) -> AppResult<SummaryQuery> {
        let ids_ok = [self.department, self.major]
            .into_iter()
            .flatten()
            .all(|v| (1..=1_000_000_000).contains(&v));
        if !ids_ok || self.cohort.is_some_and(|c| !(1900..=2200).contains(&c)) {
            return Err(crate::error::AppError::unprocessable(
                "invalid_filter",
                "department and major are ids from 1; cohort is a year",
            ));
        }
        Ok(self)
    }

    /// The query string for links (the CSV), empty when unfiltered.
    pub fn query_string(self) -> String {
        let parts: Vec<String> = [
            ("department", self.department),
            ("major", self.major),
            ("cohort", self.cohort),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// The summary as CSV (neutralised), a row per term.
pub fn csv(s: &Summary) -> AppResult<Vec<u8>> {
    use crate::csv_safe::SafeCsv;
    let mut out = SafeCsv::new();
    let mut head: Vec<String> = [
        "term",
        "name_zh",
        "name_en",
        "enrolled",
        "registrations",
        "drops",
        "credits",
        "graded",
        "pass_rate",
        "mean_points",
        "risk_medium",
        "risk_high",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    head.extend(
        crate::students::lifecycle::Stage::ALL
            .iter()
            .map(|s| format!("stage_{}", s.code())),
    );
    head.extend(super::settings::CELLS.iter().map(|c| format!("cell_{c}")));
    out.row(&head)?;
    for t in &s.terms {
        let mut row = vec![
            t.term_code.clone(),
            t.name_zh.clone(),
            t.name_en.clone(),
            t.enrolled.to_string(),
            t.registrations.to_string(),
            t.drops.to_string(),
            t.credits.to_string(),
            t.graded.to_string(),
            t.pass_rate.map(|v| v.to_string()).unwrap_or_default(),
            t.mean_points.map(|v| v.to_string()).unwrap_or_default(),
            t.risk_medium.to_string(),
            t.risk_high.to_string(),
        ];
        row.extend(t.stages.iter().map(i64::to_string));
        row.extend(t.cells.iter().map(i64::to_string));
        out.row(&row)?;
    }
    out.finish()
}
