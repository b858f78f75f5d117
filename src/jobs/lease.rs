//! The lease of one job: taken atomically (an insert that cannot duplicate the primary key, or
//! a compare-and-swap on the row's generation when taking over an expired lease), renewed by a
//! heartbeat, released when the job ends.

use crate::entity::{job_claims, job_leases};
use crate::error::AppResult;
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// A lease this instance holds.
#[derive(Debug, Clone)]
pub struct Lease {
    pub kind: String,
    pub job_id: i64,
    pub holder: String,
    pub ttl: Duration,
}

/// Why a worker should stop between two steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// An administrator cancelled the job.
    Cancelled,
    /// The lease was lost (this instance stalled past it and the job was declared interrupted).
    Lost,
}

/// What a cancel request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The holder is alive and will stop at its next step.
    Requested,
    /// Nobody holds the job (its holder is gone): the caller ends it at once.
    Orphaned,
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

fn until(from: DateTime<FixedOffset>, ttl: Duration) -> DateTime<FixedOffset> {
    from + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::seconds(60))
}

fn key(
    kind: &str,
    job_id: i64,
) -> impl Fn(sea_orm::Select<job_leases::Entity>) -> sea_orm::Select<job_leases::Entity> {
    let kind = kind.to_string();
    move |q| {
        q.filter(job_leases::Column::Kind.eq(kind.as_str()))
            .filter(job_leases::Column::JobId.eq(job_id))
    }
}

impl Lease {
    /// Takes the lease of `(kind, job_id)` for `holder`: when nobody holds it, when its holder
    /// stopped renewing it, or when `holder` already does. None when someone else holds it.
    pub async fn acquire(
        db: &impl ConnectionTrait,
        kind: &str,
        job_id: i64,
        holder: &str,
        ttl: Duration,
    ) -> AppResult<Option<Lease>> {
        let at = now();
        let lease = Lease {
            kind: kind.to_string(),
            job_id,
            holder: holder.to_string(),
            ttl,
        };
        let current = key(kind, job_id)(job_leases::Entity::find())
            .one(db)
            .await?;
        let taken = match current {
            None => {
                let row = job_leases::ActiveModel {
                    kind: Set(kind.to_string()),
                    job_id: Set(job_id),
                    holder: Set(holder.to_string()),
                    generation: Set(0),
                    acquired_at: Set(at),
                    heartbeat_at: Set(at),
                    lease_until: Set(until(at, ttl)),
                    cancel_requested: Set(false),
                };
                job_leases::Entity::insert(row)
                    .on_conflict(
                        OnConflict::columns([job_leases::Column::Kind, job_leases::Column::JobId])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(db)
                    .await?
                    == 1
            }
            Some(row) if row.holder == holder || row.lease_until < at => {
                let fresh = row.holder != holder;
                let mut update = job_leases::Entity::update_many()
                    .col_expr(job_leases::Column::Holder, Expr::value(holder))
                    .col_expr(
                        job_leases::Column::Generation,
                        Expr::col(job_leases::Column::Generation).add(1),
                    )
                    .col_expr(job_leases::Column::HeartbeatAt, Expr::value(at))
                    .col_expr(job_leases::Column::LeaseUntil, Expr::value(until(at, ttl)));
                if fresh {
                    update = update
                        .col_expr(job_leases::Column::AcquiredAt, Expr::value(at))
                        .col_expr(job_leases::Column::CancelRequested, Expr::value(false));
                }
                update
                    .filter(job_leases::Column::Kind.eq(kind))
                    .filter(job_leases::Column::JobId.eq(job_id))
                    .filter(job_leases::Column::Generation.eq(row.generation))
                    .exec(db)
                    .await?
                    .rows_affected
                    == 1
            }
            Some(_) => false,
        };
        Ok(taken.then_some(lease))
    }

    /// Renews the lease. `Some(Stop)` when the worker should stop: the job was cancelled, or
    /// the lease is no longer this holder's.
    pub async fn heartbeat(&self, db: &impl ConnectionTrait) -> AppResult<Option<Stop>> {
        let at = now();
        let renewed = job_leases::Entity::update_many()
            .col_expr(job_leases::Column::HeartbeatAt, Expr::value(at))
            .col_expr(
                job_leases::Column::LeaseUntil,
                Expr::value(until(at, self.ttl)),
            )
            .col_expr(
                job_leases::Column::Generation,
                Expr::col(job_leases::Column::Generation).add(1),
            )
            .filter(job_leases::Column::Kind.eq(self.kind.as_str()))
            .filter(job_leases::Column::JobId.eq(self.job_id))
            .filter(job_leases::Column::Holder.eq(self.holder.as_str()))
            .exec(db)
            .await?
            .rows_affected;
        if renewed == 0 {
            return Ok(Some(Stop::Lost));
        }
        self.check(db).await
    }

    /// Whether the worker should stop, without renewing.
    pub async fn check(&self, db: &impl ConnectionTrait) -> AppResult<Option<Stop>> {
        let row = key(&self.kind, self.job_id)(job_leases::Entity::find())
            .one(db)
            .await?;
        Ok(match row {
            Some(r) if r.holder != self.holder => Some(Stop::Lost),
            Some(r) if r.cancel_requested => Some(Stop::Cancelled),
            Some(_) => None,
            None => Some(Stop::Lost),
        })
    }

    /// Gives the lease up (the job ended).
    pub async fn release(&self, db: &impl ConnectionTrait) -> AppResult<()> {
        job_leases::Entity::delete_many()
            .filter(job_leases::Column::Kind.eq(self.kind.as_str()))
            .filter(job_leases::Column::JobId.eq(self.job_id))
            .filter(job_leases::Column::Holder.eq(self.holder.as_str()))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// Asks the holder of `(kind, job_id)` to stop at its next step.
pub async fn request_cancel(
    db: &impl ConnectionTrait,
    kind: &str,
    job_id: i64,
) -> AppResult<CancelOutcome> {
    // NOTE: times are compared here, not in SQL: SQLite stores them as text.
    let row = key(kind, job_id)(job_leases::Entity::find())
        .one(db)
        .await?;
    if row.is_some_and(|r| r.lease_until >= now()) {
        job_leases::Entity::update_many()
            .col_expr(job_leases::Column::CancelRequested, Expr::value(true))
            .filter(job_leases::Column::Kind.eq(kind))
            .filter(job_leases::Column::JobId.eq(job_id))
            .exec(db)
            .await?;
        return Ok(CancelOutcome::Requested);
    }
    job_leases::Entity::delete_many()
        .filter(job_leases::Column::Kind.eq(kind))
        .filter(job_leases::Column::JobId.eq(job_id))
        .exec(db)
        .await?;
    Ok(CancelOutcome::Orphaned)
}

/// Claims one period of a repeating schedule; true for exactly one caller across all
/// instances (the primary key `(kind, period)` admits one row).
pub async fn claim_period(
    db: &impl ConnectionTrait,
    kind: &str,
    period: i64,
    holder: &str,
) -> AppResult<bool> {
    let row = job_claims::ActiveModel {
        kind: Set(kind.to_string()),
        period: Set(period),
        claimed_by: Set(holder.to_string()),
        claimed_at: Set(now()),
    };
    Ok(job_claims::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([job_claims::Column::Kind, job_claims::Column::Period])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?
        == 1)
}

const RUNNING: u8 = 0;
const CANCELLED: u8 = 1;
const LOST: u8 = 2;

/// A task renewing a lease every third of its time, until dropped; the worker asks
/// [`Heartbeat::stop`] between its steps.
pub struct Heartbeat {
    state: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    pub fn start(db: DatabaseConnection, lease: Lease) -> Heartbeat {
        let state = Arc::new(AtomicU8::new(RUNNING));
        let seen = state.clone();
        let every = (lease.ttl / 3).max(Duration::from_millis(200));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match lease.heartbeat(&db).await {
                    Ok(None) => {}
                    Ok(Some(stop)) => {
                        seen.store(
                            if stop == Stop::Cancelled {
                                CANCELLED
                            } else {
                                LOST
                            },
                            Ordering::SeqCst,
                        );
                        if stop == Stop::Lost {
                            return;
                        }
                    }
                    // NOTE: a database that is briefly away is not a reason to stop; the lease
                    // is only lost when someone else declares it so.
                    Err(e) => {
                        tracing::warn!(kind = %lease.kind, job = lease.job_id, error = %e, "heartbeat failed")
                    }
                }
            }
        });
        Heartbeat { state, task }
    }

    /// Whether the worker should stop now.
    pub fn stop(&self) -> Option<Stop> {
        match self.state.load(Ordering::SeqCst) {
            CANCELLED => Some(Stop::Cancelled),
            LOST => Some(Stop::Lost),
            _ => None,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
