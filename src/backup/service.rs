//! What the backups page asks of the backups: where they go, the last one and the ones kept,
//! "back up now" (audited, run in the background) and a download (audited). No Rocket types.

use super::schedule::{self, BackupFile, Status};
use crate::audit::Entry;
use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use sea_orm::DatabaseConnection;
use std::path::PathBuf;

/// Where backups go: `SRM_BACKUP_DIR`, or `backups/` in the data dir.
pub fn backup_dir(config: &AppConfig) -> PathBuf {
    config
        .backup_dir
        .clone()
        .unwrap_or_else(|| config.data_path("backups"))
}

/// A new backup's file name, sortable by time (to the millisecond, so two taken in one second
/// do not collide).
pub fn file_name(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("srm-{}.tar.zst", at.format("%Y%m%dT%H%M%S%3fZ"))
}

/// The backups page's facts.
pub struct Overview {
    pub dir: PathBuf,
    /// Whether the server takes backups by itself (a directory and an interval are set).
    pub scheduled: bool,
    pub last: Option<Status>,
    pub files: Vec<BackupFile>,
    /// The newest runs, an interrupted one with when and where it stopped.
    pub runs: Vec<crate::entity::backup_runs::Model>,
}

pub async fn overview(db: &DatabaseConnection, config: &AppConfig) -> AppResult<Overview> {
    let dir = backup_dir(config);
    // A backup whose holder died shows as interrupted, not as running for ever.
    crate::jobs::sweep(db).await?;
    let runs = super::runs::recent(db, 10).await?;
    let last = schedule::last_status(db).await?;
    let list_dir = dir.clone();
    let files = tokio::task::spawn_blocking(move || schedule::list(&list_dir))
        .await
        .map_err(AppError::internal)?;
    Ok(Overview {
        dir,
        scheduled: config.backup_dir.is_some() && config.backup_interval_hours > 0,
        last,
        files,
        runs,
    })
}

/// Starts a backup in the background (audited first); its outcome shows on the page once done.
pub async fn start_now(db: &DatabaseConnection, config: &AppConfig, actor: i64) -> AppResult<()> {
    Entry::new(Some(actor), "backups.start", "backup")
        .write(db)
        .await?;
    let (db, config) = (db.clone(), config.clone());
    tokio::spawn(async move {
        if let Err(e) = schedule::run(&db, &config, "manual", Some(actor)).await {
            tracing::warn!("backup started from the page failed: {e}");
        }
    });
    Ok(())
}

/// The file of the backup `name` for a download, audited; 404 for any other name or a file
/// that is gone.
pub async fn download(
    db: &DatabaseConnection,
    config: &AppConfig,
    actor: i64,
    ip: Option<String>,
    name: &str,
) -> AppResult<PathBuf> {
    if !schedule::is_backup_name(name) {
        return Err(AppError::NotFound);
    }
    let path = backup_dir(config).join(name);
    if !tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
        return Err(AppError::NotFound);
    }
    Entry::new(Some(actor), "backups.download", "backup")
        .id(name)
        .ip(ip)
        .write(db)
        .await?;
    Ok(path)
}
