//! A backup run as a job: recorded in `backup_runs` and held by a lease with a heartbeat while
//! it writes, so a backup whose process died (`kill -9`, a lost machine) is marked
//! `interrupted` by the sweep, with when and where it stopped, and does not block the next one.

use crate::entity::backup_runs;
use crate::entity::job_status::JobStatus;
use crate::error::{AppError, AppResult};
use crate::jobs::{BACKUP, Heartbeat, Jobs, Lease};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

const RUNNING: JobStatus = JobStatus::Running;

/// A backup under way: its row, its lease and the task renewing it.
pub struct Running {
    pub id: i64,
    lease: Lease,
    heartbeat: Heartbeat,
}

/// Records a new run `running` and takes its lease. Refused while another backup is running
/// (a live holder); a dead one is swept to `interrupted` first and does not block.
pub async fn start(
    db: &DatabaseConnection,
    jobs: &Jobs,
    trigger: &str,
    actor: Option<i64>,
    file: Option<String>,
) -> AppResult<Running> {
    crate::jobs::sweep(db).await?;
    let txn = crate::db::write_txn(db).await?;
    let busy = backup_runs::Entity::find()
        .filter(backup_runs::Column::Status.eq(RUNNING))
        .one(&txn)
        .await?;
    if let Some(r) = busy {
        return Err(AppError::conflict(
            "backup_in_progress",
            format!(
                "backup {} (on {}) is still in progress",
                r.id,
                r.holder.unwrap_or_default()
            ),
        ));
    }
    let run = backup_runs::ActiveModel {
        status: Set(RUNNING),
        trigger: Set(trigger.into()),
        started_by: Set(actor),
        started_at: Set(Utc::now().fixed_offset()),
        holder: Set(Some(jobs.holder.clone())),
        file: Set(file),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let Some(lease) = Lease::acquire(&txn, BACKUP, run.id, &jobs.holder, jobs.ttl).await? else {
        return Err(AppError::conflict(
            "backup_in_progress",
            format!("backup {} is held by another instance", run.id),
        ));
    };
    txn.commit().await?;
    let heartbeat = Heartbeat::start(db.clone(), lease.clone());
    Ok(Running {
        id: run.id,
        lease,
        heartbeat,
    })
}

impl Running {
    /// Records how the run ended (unless the sweep declared it interrupted meanwhile) and
    /// gives its lease up.
    pub async fn finish(
        self,
        db: &DatabaseConnection,
        file: Option<String>,
        error: Option<String>,
    ) -> AppResult<()> {
        drop(self.heartbeat);
        let status = if error.is_some() {
            JobStatus::Failed
        } else {
            JobStatus::Done
        };
        let txn = crate::db::write_txn(db).await?;
        let mut update = backup_runs::Entity::update_many()
            .col_expr(backup_runs::Column::Status, Expr::value(status))
            .col_expr(
                backup_runs::Column::FinishedAt,
                Expr::value(Utc::now().fixed_offset()),
            )
            .col_expr(backup_runs::Column::Error, Expr::value(error));
        if file.is_some() {
            update = update.col_expr(backup_runs::Column::File, Expr::value(file));
        }
        update
            .filter(backup_runs::Column::Id.eq(self.id))
            .filter(backup_runs::Column::Status.eq(RUNNING))
            .exec(&txn)
            .await?;
        self.lease.release(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The newest `n` runs, newest first.
pub async fn recent(db: &DatabaseConnection, n: u64) -> AppResult<Vec<backup_runs::Model>> {
    Ok(backup_runs::Entity::find()
        .order_by_desc(backup_runs::Column::Id)
        .limit(n)
        .all(db)
        .await?)
}
