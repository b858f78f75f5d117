//! Lifecycle transitions: each change of a student's derived stage (`students::lifecycle`) is
//! stored with the rule that gave the new stage and what noticed it. The scheduled check
//! compares every student's current stage with their last stored one; a grade publication and
//! a status change record the students they touch in their own transaction.

use super::scope::Reach;
use crate::db::{Writable, write_txn};
use crate::entity::students::StudentStatus;
use crate::entity::{lifecycle_transitions, students};
use crate::error::AppResult;
use crate::students::lifecycle::{Calendar, term_aggregates};
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use std::collections::HashMap;

/// What noticed a change.
pub const SCHEDULE: &str = "schedule";
pub const GRADE_PUBLISH: &str = "grade_publish";
pub const STATUS_CHANGE: &str = "status_change";
pub const HISTORY: &str = "history";

/// Each student's last stored stage.
pub async fn last_stages(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out = HashMap::with_capacity(ids.len());
    // NOTE: in chunks, under every backend's limit of bound values; ids in order, so the
    // latest transition of each student is the one kept.
    for chunk in ids.chunks(1000) {
        let rows: Vec<(i64, String)> = lifecycle_transitions::Entity::find()
            .select_only()
            .columns([
                lifecycle_transitions::Column::StudentId,
                lifecycle_transitions::Column::ToStage,
            ])
            .filter(lifecycle_transitions::Column::StudentId.is_in(chunk.iter().copied()))
            .order_by_asc(lifecycle_transitions::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Records, for each of `ids` whose derived stage differs from their last stored one, a
/// transition dated now. Runs on the caller's connection (their transaction, when they hold
/// one). Returns how many were recorded.
pub async fn record(db: &impl ConnectionTrait, ids: &[i64], source: &str) -> AppResult<usize> {
    let cal = Calendar::load(db).await?;
    let now = Utc::now().fixed_offset();
    let mut recorded = 0;
    for chunk in ids.chunks(2000) {
        let people: Vec<(i64, StudentStatus, i64)> = students::Entity::find()
            .select_only()
            .columns([
                students::Column::Id,
                students::Column::Status,
                students::Column::CohortYear,
            ])
            .filter(students::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        let sub = Query::select()
            .column(students::Column::Id)
            .from(students::Entity)
            .and_where(Expr::col(students::Column::Id).is_in(chunk.to_vec()))
            .to_owned();
        let aggs = term_aggregates(db, sub).await?;
        let last = last_stages(db, chunk).await?;
        let rows: Vec<lifecycle_transitions::ActiveModel> = people
            .iter()
            .filter_map(|(id, status, cohort)| {
                let terms = aggs.get(id).map(Vec::as_slice).unwrap_or(&[]);
                let (stage, rule) = cal.stage_and_rule(*status, *cohort, terms);
                let before = last.get(id);
                (before.map(String::as_str) != Some(stage.code())).then(|| {
                    lifecycle_transitions::ActiveModel {
                        student_id: Set(*id),
                        from_stage: Set(before.cloned()),
                        to_stage: Set(stage.code().to_string()),
                        at: Set(now),
                        rule: Set(rule.to_string()),
                        source: Set(source.to_string()),
                        ..Default::default()
                    }
                })
            })
            .collect();
        recorded += rows.len();
        if !rows.is_empty() {
            lifecycle_transitions::Entity::insert_many(rows)
                .exec(db)
                .await?;
        }
    }
    Ok(recorded)
}

/// The scheduled check over every student (merged records left out), a transaction per chunk.
pub async fn check_all<C: Writable>(db: &C) -> AppResult<usize> {
    let ids: Vec<i64> = students::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .filter(students::Column::MergedIntoId.is_null())
        .order_by_asc(students::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut n = 0;
    for chunk in ids.chunks(2000) {
        let txn = write_txn(db).await?;
        n += record(&txn, chunk, SCHEDULE).await?;
        txn.commit().await?;
    }
    Ok(n)
}

/// One stored transition as the API and the profile show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Transition {
    pub from: Option<String>,
    pub to: String,
    pub at: DateTime<FixedOffset>,
    /// The lifecycle rule that gave the new stage.
    pub rule: String,
    /// What noticed it: `schedule`, `grade_publish`, `status_change` or `history`.
    pub source: String,
}

/// One student's transitions, oldest first.
pub async fn list_for(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Vec<Transition>> {
    Ok(lifecycle_transitions::Entity::find()
        .filter(lifecycle_transitions::Column::StudentId.eq(student_id))
        .order_by_asc(lifecycle_transitions::Column::At)
        .order_by_asc(lifecycle_transitions::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|t| Transition {
            from: t.from_stage,
            to: t.to_stage,
            at: t.at,
            rule: t.rule,
            source: t.source,
        })
        .collect())
}

/// Every stored transition of the students in `reach`, by student then time:
/// (student, to, at).
pub async fn all_in(
    db: &impl ConnectionTrait,
    reach: Reach,
) -> AppResult<Vec<(i64, String, DateTime<FixedOffset>)>> {
    let rows = super::sql::rows(
        db,
        "SELECT lt.student_id, lt.to_stage, lt.at FROM lifecycle_transitions lt \
         JOIN students st ON st.id = lt.student_id WHERE (? = 1 OR st.advisor_id = ?) \
         ORDER BY lt.student_id, lt.at, lt.id",
        reach.values(),
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push((
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
        ));
    }
    Ok(out)
}
