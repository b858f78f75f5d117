//! Backups the server takes by itself: every `SRM_BACKUP_INTERVAL_HOURS` into `SRM_BACKUP_DIR`,
//! each re-read and checked against its manifest, the newest `SRM_BACKUP_KEEP` kept. With
//! several instances, the one that claims the period (a compare-and-set on a settings row)
//! writes it; the others skip it.

use super::archive;
use crate::config::AppConfig;
use crate::entity::settings;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use rocket::fairing::AdHoc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The settings row holding the last period claimed by an instance.
const CLAIM_KEY: &str = "backup.claim";
/// The settings row holding the outcome of the last backup (scheduled or by the button).
const STATUS_KEY: &str = "backup.last";

/// What the last backup did, for the administrator's page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub at: DateTime<Utc>,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub file: Option<String>,
    pub bytes: u64,
    pub rows: u64,
    pub seconds: f64,
    /// The written file was read back and matched its manifest.
    pub verified: bool,
    pub error: Option<String>,
}

/// A backup file in the backup dir.
#[derive(Debug, Clone, Serialize)]
pub struct BackupFile {
    pub name: String,
    pub bytes: u64,
    pub modified: Option<DateTime<Utc>>,
}

/// Whether `name` is one of our backup files' names: `srm-<letters and digits>.tar.zst`. Only
/// such names are listed, pruned or served, so no path can be smuggled in.
pub fn is_backup_name(name: &str) -> bool {
    name.strip_prefix("srm-")
        .and_then(|n| n.strip_suffix(".tar.zst"))
        .is_some_and(|stem| !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The backups in `dir`, newest first.
pub fn list(dir: &Path) -> Vec<BackupFile> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<BackupFile> = read
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let meta = e.metadata().ok()?;
            (is_backup_name(&name) && meta.is_file()).then(|| BackupFile {
                name,
                bytes: meta.len(),
                modified: meta.modified().ok().map(DateTime::<Utc>::from),
            })
        })
        .collect();
    // The names carry the time, so they sort by it.
    files.sort_by(|a, b| b.name.cmp(&a.name));
    files
}

/// Deletes all but the newest `keep` backups; returns how many went.
pub fn prune(dir: &Path, keep: usize) -> usize {
    let mut removed = 0;
    for f in list(dir).into_iter().skip(keep.max(1)) {
        match std::fs::remove_file(dir.join(&f.name)) {
            Ok(()) => removed += 1,
            Err(e) => {
                tracing::warn!(file = %f.name, error = %e, "an old backup could not be deleted")
            }
        }
    }
    removed
}

/// The scheduling period `at` falls in.
pub fn period(at: DateTime<Utc>, interval_hours: u32) -> i64 {
    at.timestamp()
        .div_euclid(i64::from(interval_hours.max(1)) * 3600)
}

/// Claims `period` for this instance: true for exactly one caller per period, however many
/// instances ask at once.
pub async fn claim(db: &impl ConnectionTrait, period: i64) -> AppResult<bool> {
    let now = Utc::now().fixed_offset();
    let current = settings::Entity::find_by_id(CLAIM_KEY.to_string())
        .one(db)
        .await?;
    match current {
        None => {
            let insert = settings::ActiveModel {
                key: Set(CLAIM_KEY.into()),
                value: Set(period.to_string()),
                updated_at: Set(now),
            }
            .insert(db)
            .await;
            match insert {
                Ok(_) => Ok(true),
                Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
        Some(row) => {
            let claimed: i64 = row.value.trim().parse().unwrap_or(i64::MIN);
            if claimed >= period {
                return Ok(false);
            }
            // Compare-and-set: only the instance that still sees the old value moves it.
            let res = settings::Entity::update_many()
                .col_expr(settings::Column::Value, Expr::value(period.to_string()))
                .col_expr(settings::Column::UpdatedAt, Expr::value(now))
                .filter(settings::Column::Key.eq(CLAIM_KEY))
                .filter(settings::Column::Value.eq(row.value))
                .exec(db)
                .await?;
            Ok(res.rows_affected == 1)
        }
    }
}

/// The last backup's outcome, if any was taken.
pub async fn last_status(db: &impl ConnectionTrait) -> AppResult<Option<Status>> {
    Ok(crate::settings::get(db, STATUS_KEY)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok()))
}

/// Takes a backup into the backup dir, reads it back to check it, prunes old ones and records
/// the outcome. An error is recorded too (and returned). The run holds a lease while it writes
/// (see [`super::runs`]); it is refused while another backup is running.
pub async fn run(
    db: &DatabaseConnection,
    config: &AppConfig,
    trigger: &str,
    actor: Option<i64>,
) -> AppResult<Status> {
    let dir = super::backup_dir(config);
    let at = Utc::now();
    let jobs = crate::jobs::Jobs::from_config(config);
    let job = super::runs::start(db, &jobs, trigger, actor, Some(super::file_name(at))).await?;
    // NOTE: reading and encoding every row is CPU work; it runs on a blocking thread (driving
    // its own queries there), not on the threads that answer requests.
    let handle = tokio::runtime::Handle::current();
    let (db_bg, dir_bg) = (db.clone(), dir.clone());
    let result =
        tokio::task::spawn_blocking(move || handle.block_on(take_and_verify(&db_bg, &dir_bg, at)))
            .await
            .map_err(|e| AppError::internal(format!("the backup did not finish: {e}")))
            .and_then(|r| r);
    let status = match &result {
        Ok((s, verified)) => Status {
            at,
            trigger: trigger.into(),
            file: s.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            bytes: s.bytes,
            rows: s.rows,
            seconds: s.seconds,
            verified: *verified,
            error: None,
        },
        Err(e) => Status {
            at,
            trigger: trigger.into(),
            file: None,
            bytes: 0,
            rows: 0,
            seconds: 0.0,
            verified: false,
            error: Some(e.to_string()),
        },
    };
    if result.is_ok() {
        prune(&dir, config.backup_keep);
    }
    job.finish(db, status.file.clone(), status.error.clone())
        .await?;
    let txn = crate::db::write_txn(db).await?;
    crate::settings::put(
        &txn,
        STATUS_KEY,
        serde_json::to_string(&status).map_err(AppError::internal)?,
    )
    .await?;
    txn.commit().await?;
    match result {
        Ok(_) => {
            tracing::info!(file = ?status.file, bytes = status.bytes, seconds = status.seconds, "backup written and verified");
            Ok(status)
        }
        Err(e) => {
            tracing::warn!(error = %e, "backup failed");
            Err(e)
        }
    }
}

async fn take_and_verify(
    db: &DatabaseConnection,
    dir: &Path,
    at: DateTime<Utc>,
) -> AppResult<(super::BackupSummary, bool)> {
    let path: PathBuf = dir.join(super::file_name(at));
    let summary = super::backup(db, &path).await?;
    let check = path.clone();
    let read_back = tokio::task::spawn_blocking(move || archive::verify(&check, None))
        .await
        .map_err(|e| AppError::internal(format!("checking the backup did not finish: {e}")))?;
    let verified = match read_back {
        Ok(m) => m == summary.manifest,
        Err(e) => {
            tracing::warn!(error = %e, file = %path.display(), "a backup just written does not verify");
            false
        }
    };
    Ok((summary, verified))
}

/// Starts the schedule at launch when `SRM_BACKUP_DIR` is set and the interval is not 0: a task
/// that checks every minute whether this period's backup is still to be taken.
pub fn scheduler() -> AdHoc {
    AdHoc::on_liftoff("backup schedule", |rocket| {
        Box::pin(async move {
            let Some(state) = rocket.state::<crate::state::AppState>() else {
                return;
            };
            let config = state.config.clone();
            if config.backup_dir.is_none() || config.backup_interval_hours == 0 {
                return;
            }
            let db = state.db.clone();
            tokio::spawn(async move {
                let minute = std::time::Duration::from_secs(60);
                let mut tick =
                    tokio::time::interval_at(tokio::time::Instant::now() + minute, minute);
                loop {
                    tick.tick().await;
                    if let Err(e) = scheduled_once(&db, &config, Utc::now()).await {
                        tracing::warn!("scheduled backup: {e}");
                    }
                }
            });
        })
    })
}

/// One tick of the schedule: takes the backup when this instance wins the period's claim.
/// Returns whether it took one.
pub async fn scheduled_once(
    db: &DatabaseConnection,
    config: &AppConfig,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let p = period(now, config.backup_interval_hours);
    let claimed = {
        let txn = crate::db::write_txn(db).await?;
        let won = claim(&txn, p).await?;
        txn.commit().await?;
        won
    };
    if !claimed {
        return Ok(false);
    }
    run(db, config, "schedule", None).await?;
    Ok(true)
}
