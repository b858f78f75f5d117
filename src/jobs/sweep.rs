//! Declaring jobs interrupted: those whose holder stopped renewing their lease (a crash, a
//! `kill -9`, a lost machine), and this instance's own when it shuts down.

use super::{BACKUP, IMPORT, MINING_RUN};
use crate::entity::job_status::JobStatus;
use crate::entity::{backup_runs, import_jobs, job_leases, mining_runs};
use crate::error::AppResult;
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Which leases to break.
enum Which<'a> {
    Expired,
    HeldBy(&'a str, &'a str),
}

/// Marks every job whose lease expired (or that has none) `interrupted`, with when and where it
/// stopped; returns how many.
pub async fn sweep(db: &impl ConnectionTrait) -> AppResult<usize> {
    run(db, Which::Expired).await
}

/// Marks this instance's own running jobs `interrupted` (it is shutting down), giving `why`.
pub async fn interrupt_own(db: &impl ConnectionTrait, holder: &str, why: &str) -> AppResult<usize> {
    let n = run(db, Which::HeldBy(holder, why)).await?;
    // Another instance takes the schedule over at its next check, not after the lease.
    job_leases::Entity::delete_many()
        .filter(job_leases::Column::Kind.eq(super::SCHEDULER))
        .filter(job_leases::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(n)
}

async fn run(db: &impl ConnectionTrait, which: Which<'_>) -> AppResult<usize> {
    let now = Utc::now().fixed_offset();
    let mut done = 0;
    let runs = mining_runs::Entity::find()
        .filter(mining_runs::Column::Status.is_in(JobStatus::LIVE))
        .all(db)
        .await?;
    for r in runs {
        if let Some(reason) = decide(db, MINING_RUN, r.id, &which, now, &r.message).await? {
            let n = mining_runs::Entity::update_many()
                .col_expr(
                    mining_runs::Column::Status,
                    Expr::value(JobStatus::Interrupted),
                )
                .col_expr(mining_runs::Column::InterruptedAt, Expr::value(now))
                .col_expr(mining_runs::Column::FinishedAt, Expr::value(now))
                .col_expr(mining_runs::Column::InterruptedReason, Expr::value(reason))
                .filter(mining_runs::Column::Id.eq(r.id))
                .filter(mining_runs::Column::Status.is_in(JobStatus::LIVE))
                .exec(db)
                .await?
                .rows_affected;
            done += n as usize;
        }
    }
    let imports = import_jobs::Entity::find()
        .filter(import_jobs::Column::Status.eq(JobStatus::Running))
        .all(db)
        .await?;
    for j in imports {
        let step = format!("{} of {} rows stored", j.rows_done, j.rows_total);
        if let Some(reason) = decide(db, IMPORT, j.id, &which, now, &step).await? {
            let n = import_jobs::Entity::update_many()
                .col_expr(
                    import_jobs::Column::Status,
                    Expr::value(JobStatus::Interrupted),
                )
                .col_expr(import_jobs::Column::InterruptedAt, Expr::value(now))
                .col_expr(import_jobs::Column::InterruptedReason, Expr::value(reason))
                .filter(import_jobs::Column::Id.eq(j.id))
                .filter(import_jobs::Column::Status.eq(JobStatus::Running))
                .exec(db)
                .await?
                .rows_affected;
            done += n as usize;
        }
    }
    let backups = backup_runs::Entity::find()
        .filter(backup_runs::Column::Status.eq(JobStatus::Running))
        .all(db)
        .await?;
    for b in backups {
        let step = format!("writing {}", b.file.as_deref().unwrap_or("-"));
        if let Some(reason) = decide(db, BACKUP, b.id, &which, now, &step).await? {
            let n = backup_runs::Entity::update_many()
                .col_expr(
                    backup_runs::Column::Status,
                    Expr::value(JobStatus::Interrupted),
                )
                .col_expr(backup_runs::Column::InterruptedAt, Expr::value(now))
                .col_expr(backup_runs::Column::FinishedAt, Expr::value(now))
                .col_expr(backup_runs::Column::InterruptedReason, Expr::value(reason))
                .filter(backup_runs::Column::Id.eq(b.id))
                .filter(backup_runs::Column::Status.eq(JobStatus::Running))
                .exec(db)
                .await?
                .rows_affected;
            done += n as usize;
        }
    }
    if done > 0 {
        tracing::warn!(jobs = done, "jobs marked interrupted");
    }
    Ok(done)
}

/// Whether the job `(kind, id)` is to be declared interrupted, and why. Its lease is removed
/// first, conditionally on being the one seen, so a holder that renewed it in the meantime
/// keeps its job.
async fn decide(
    db: &impl ConnectionTrait,
    kind: &str,
    id: i64,
    which: &Which<'_>,
    now: DateTime<FixedOffset>,
    step: &str,
) -> AppResult<Option<String>> {
    let lease = job_leases::Entity::find()
        .filter(job_leases::Column::Kind.eq(kind))
        .filter(job_leases::Column::JobId.eq(id))
        .one(db)
        .await?;
    let step = if step.is_empty() { "-" } else { step };
    let reason = match (&lease, which) {
        (None, Which::Expired) => format!("no instance holds this job (last step: {step})"),
        (None, Which::HeldBy(..)) => return Ok(None),
        (Some(l), Which::Expired) if l.lease_until < now => format!(
            "{} stopped sending heartbeats at {} (last step: {step})",
            l.holder,
            l.heartbeat_at.format("%Y-%m-%d %H:%M:%S %:z")
        ),
        (Some(l), Which::HeldBy(me, why)) if l.holder == *me => {
            format!(
                "{why} on {} at {} (last step: {step})",
                l.holder,
                now.format("%Y-%m-%d %H:%M:%S %:z")
            )
        }
        _ => return Ok(None),
    };
    if let Some(l) = lease {
        let removed = job_leases::Entity::delete_many()
            .filter(job_leases::Column::Kind.eq(kind))
            .filter(job_leases::Column::JobId.eq(id))
            .filter(job_leases::Column::Generation.eq(l.generation))
            .exec(db)
            .await?
            .rows_affected;
        if removed == 0 {
            return Ok(None);
        }
    }
    Ok(Some(reason))
}
