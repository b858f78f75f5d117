//! Connecting to SQLite or PostgreSQL, running the migrations (a failure stops the start),
//! and starting write transactions the same way on both.

use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

/// Opens the configured database. SQLite gets WAL, foreign keys and a busy timeout.
pub async fn connect(config: &AppConfig) -> AppResult<DatabaseConnection> {
    let url = config.effective_database_url();
    if config.uses_embedded_sqlite() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            AppError::internal(format!(
                "cannot create data dir {}: {e}",
                config.data_dir.display()
            ))
        })?;
    }
    connect_url(&url, config.db_max_connections).await
}

pub async fn connect_url(url: &str, max_connections: u32) -> AppResult<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                .create_if_missing(true)
        });
    Database::connect(opts)
        .await
        .map_err(|e| AppError::internal(format!("cannot connect to the database: {e}")))
}

/// Applies every pending migration; the error names the migration that failed.
pub async fn migrate(db: &DatabaseConnection) -> AppResult<()> {
    Migrator::up(db, None).await.map_err(|e| {
        AppError::internal(format!(
            "a database migration failed, so the portal will not start: {e}"
        ))
    })
}

/// Begins a transaction that will write: IMMEDIATE on SQLite (so two writers never both read
/// a stale value and then collide), an ordinary transaction on PostgreSQL (rows are locked
/// with `SELECT … FOR UPDATE` or conditional updates where it matters).
pub async fn write_txn<C>(db: &C) -> AppResult<C::Transaction>
where
    C: ConnectionTrait + TransactionTrait,
{
    let options = match db.get_database_backend() {
        DbBackend::Sqlite => TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        },
        _ => TransactionOptions::default(),
    };
    Ok(db.begin_with_options(options).await?)
}

pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
