//! Backups: `srm backup` writes a portable archive of every table from one consistent snapshot,
//! `srm restore` loads one into an empty SQLite or PostgreSQL database (also how a university
//! moves from the embedded file to PostgreSQL), and the server can take them on a schedule.

pub mod archive;
pub mod catalog;
pub mod dump;
pub mod pages;
pub mod restore;
pub mod schedule;
pub mod values;

pub use archive::{Manifest, verify};
pub use dump::{BackupSummary, backup};
pub use restore::{RestoreSummary, restore};

use crate::config::AppConfig;
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

pub fn page_routes() -> Vec<rocket::Route> {
    pages::routes()
}
