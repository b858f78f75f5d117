//! The demo's lifecycle history and matrix movement: after seeding, every past term's stage of
//! every student is reconstructed from the data (their status as of the term's end, their
//! published grades up to that term) and stored as transitions dated at the term's end; then
//! the scheduled check brings everyone up to now, and the matrix is computed for the previous
//! and the current term. Does nothing when transitions are already stored.

use super::transitions::{self, HISTORY};
use super::value;
use crate::db::{Writable, write_txn};
use crate::entity::students::StudentStatus;
use crate::entity::{lifecycle_transitions, students, terms};
use crate::error::AppResult;
use crate::students::lifecycle::{Calendar, term_aggregates};
use chrono::{NaiveTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use std::collections::HashMap;

pub async fn backfill<C: Writable>(db: &C) -> AppResult<usize> {
    if lifecycle_transitions::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let today = Utc::now().date_naive();
    let all: Vec<terms::Model> = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?;
    let cal_now = Calendar::from_terms(&all, today);
    let past: Vec<&terms::Model> = all
        .iter()
        .filter(|t| cal_now.current_seq.is_some_and(|c| t.seq < c) && t.ends_on < today)
        .collect();
    let people: Vec<students::Model> = students::Entity::find()
        .filter(students::Column::MergedIntoId.is_null())
        .all(db)
        .await?;
    let sub = Query::select()
        .column(students::Column::Id)
        .from(students::Entity)
        .and_where(Expr::col(students::Column::MergedIntoId).is_null())
        .to_owned();
    let aggs = term_aggregates(db, sub).await?;
    let mut last: HashMap<i64, String> = HashMap::new();
    let mut rows = Vec::new();
    for term in past {
        let upto: Vec<terms::Model> = all
            .iter()
            .filter(|t| t.seq <= term.seq)
            .cloned()
            .map(|mut t| {
                t.is_current = t.seq == term.seq;
                t
            })
            .collect();
        let cal = Calendar::from_terms(&upto, term.ends_on);
        let at = term
            .ends_on
            .and_time(NaiveTime::MIN)
            .and_utc()
            .fixed_offset();
        for s in &people {
            if value::cohort_start(s.cohort_year).is_none_or(|c| c > term.ends_on) {
                continue;
            }
            let status = match s.status {
                StudentStatus::Withdrawn | StudentStatus::Graduated
                    if s.status_changed_at.date_naive() > term.ends_on =>
                {
                    StudentStatus::Active
                }
                other => other,
            };
            let terms = aggs.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
            let (stage, rule) = cal.stage_and_rule(status, s.cohort_year, terms);
            let before = last.get(&s.id);
            if before.map(String::as_str) == Some(stage.code()) {
                continue;
            }
            if matches!(before.map(String::as_str), Some("left" | "graduated")) {
                continue;
            }
            rows.push(lifecycle_transitions::ActiveModel {
                student_id: Set(s.id),
                from_stage: Set(before.cloned()),
                to_stage: Set(stage.code().to_string()),
                at: Set(at),
                rule: Set(rule.to_string()),
                source: Set(HISTORY.to_string()),
                ..Default::default()
            });
            last.insert(s.id, stage.code().to_string());
        }
    }
    let n = rows.len();
    let txn = write_txn(db).await?;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(1000).collect();
        lifecycle_transitions::Entity::insert_many(chunk)
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    let n = n + transitions::check_all(db).await?;
    if let Some(current) = cal_now.current_seq
        && let Some(prev) = all.iter().rfind(|t| t.seq < current)
    {
        value::compute_term(db, prev, None).await?;
    }
    if value::current_term(db).await?.is_some() {
        value::compute_current(db, None).await?;
    }
    // The analysis pages read the store: the demo opens with a snapshot of its history.
    super::store::snapshot(db, None).await?;
    Ok(n)
}
