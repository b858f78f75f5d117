//! Backups: `srm backup` writes a portable archive of every table from one consistent snapshot,
//! `srm restore` loads one into an empty SQLite or PostgreSQL database (also how a university
//! moves from the embedded file to PostgreSQL), and the server can take them on a schedule.

pub mod archive;
pub mod catalog;
pub mod dump;
mod pages;
pub mod restore;
pub mod runs;
pub mod schedule;
pub mod service;
pub mod values;

pub use archive::{Manifest, verify};
pub use dump::{BackupSummary, backup};
pub use restore::{RestoreSummary, restore};
pub use service::{backup_dir, file_name};

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![pages::backups_page, pages::backup_now, pages::download]
}
