//! Taking a backup: every table read inside one read transaction (a snapshot, so rows written
//! meanwhile are either all in or all out), a page of rows at a time, each page written to the
//! table's file before the next is read.

use super::archive::{
    self, FORMAT, FORMAT_VERSION, Manifest, TableEntry, TableHeader, TableWriter,
};
use super::catalog::{self, Table, quote};
use super::values;
use crate::error::{AppError, AppResult};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, IsolationLevel, Statement,
    TransactionTrait,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Rows read per query.
const PAGE: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub path: PathBuf,
    pub bytes: u64,
    pub tables: usize,
    pub rows: u64,
    pub seconds: f64,
    pub manifest: Manifest,
}

/// Writes a backup of `db` to `out` (which must not exist yet).
pub async fn backup(db: &DatabaseConnection, out: &Path) -> AppResult<BackupSummary> {
    let started = std::time::Instant::now();
    if out.exists() {
        return Err(AppError::conflict(
            "backup_exists",
            format!("{} already exists; choose another file", out.display()),
        ));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| AppError::internal(format!("cannot create {}: {e}", parent.display())))?;
    let work = tempfile::Builder::new()
        .prefix(".srm-backup-")
        .tempdir_in(&parent)
        .map_err(|e| AppError::internal(format!("cannot write in {}: {e}", parent.display())))?;

    let backend = db.get_database_backend();
    // NOTE: on SQLite a deferred BEGIN takes its snapshot at the first read; in WAL mode that
    // snapshot holds while writers go on. PostgreSQL's REPEATABLE READ is the same snapshot.
    let txn = match backend {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    };
    let schema_version = catalog::schema_version(&txn).await?.ok_or_else(|| {
        AppError::unprocessable(
            "backup_no_schema",
            "the database has no migrations applied; there is nothing to back up",
        )
    })?;
    let tables = catalog::tables(&txn).await?;
    let mut entries = Vec::new();
    for table in &tables {
        let path = work.path().join(format!("{}.jsonl", table.name));
        let (rows, sha256) = dump_table(&txn, table, path).await?;
        entries.push(TableEntry {
            name: table.name.clone(),
            file: archive::table_file(&table.name),
            rows,
            sha256,
        });
    }
    txn.rollback().await?;

    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        schema_version,
        created_at: chrono::Utc::now(),
        portal_version: env!("CARGO_PKG_VERSION").into(),
        source: match backend {
            DbBackend::Postgres => "postgres",
            _ => "sqlite",
        }
        .into(),
        tables: entries,
    };
    let out_owned = out.to_path_buf();
    let dir = work.path().to_path_buf();
    let m = manifest.clone();
    // Compressing is CPU work: off the async threads.
    let bytes = tokio::task::spawn_blocking(move || archive::pack(&out_owned, &m, &dir))
        .await
        .map_err(|e| AppError::internal(format!("the backup did not finish: {e}")))??;
    drop(work);
    Ok(BackupSummary {
        path: out.to_path_buf(),
        bytes,
        tables: manifest.tables.len(),
        rows: manifest.tables.iter().map(|t| t.rows).sum(),
        seconds: started.elapsed().as_secs_f64(),
        manifest,
    })
}

/// The `SELECT` of one page: rows after `after` (the last key of the previous page) in key
/// order. Row-value comparison `(a, b) > (?, ?)` pages a composite key too.
fn page_sql(table: &Table, backend: DbBackend, first: bool) -> AppResult<String> {
    let cols = table
        .columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<AppResult<Vec<_>>>()?
        .join(", ");
    let key = table
        .order_columns()
        .iter()
        .map(|c| quote(c))
        .collect::<AppResult<Vec<_>>>()?;
    let mut sql = format!("SELECT {cols} FROM {}", quote(&table.name)?);
    if !first {
        let marks: Vec<String> = (1..=key.len())
            .map(|i| match backend {
                DbBackend::Postgres => format!("${i}"),
                _ => "?".to_string(),
            })
            .collect();
        sql.push_str(&format!(
            " WHERE ({}) > ({})",
            key.join(", "),
            marks.join(", ")
        ));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {PAGE}", key.join(", ")));
    Ok(sql)
}

/// Reads every row of `table` as typed JSON cells, in key order, a page at a time.
pub async fn for_each_row<C, F>(db: &C, table: &Table, mut each: F) -> AppResult<()>
where
    C: ConnectionTrait,
    F: FnMut(Vec<serde_json::Value>) -> AppResult<()>,
{
    let backend = db.get_database_backend();
    let key_idx: Vec<usize> = table
        .order_columns()
        .iter()
        .filter_map(|c| table.column_index(c))
        .collect();
    // NOTE: a table without a primary key pages by all its columns; a NULL among them would stop
    // the row-value comparison, so such a table is read in one query.
    let keyset = !table.primary_key.is_empty();
    let mut after: Option<Vec<sea_orm::Value>> = None;
    loop {
        let sql = if keyset {
            page_sql(table, backend, after.is_none())?
        } else {
            page_sql(table, backend, true)?.replace(&format!(" LIMIT {PAGE}"), "")
        };
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                &sql,
                after.take().unwrap_or_default(),
            ))
            .await?;
        let n = rows.len();
        let mut last = None;
        for row in &rows {
            let cells = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| values::read(row, i, c.kind))
                .collect::<AppResult<Vec<_>>>()?;
            last = Some(
                key_idx
                    .iter()
                    .map(|&i| values::bind(&cells[i], table.columns[i].kind))
                    .collect::<AppResult<Vec<_>>>()?,
            );
            each(cells)?;
        }
        if !keyset || n < PAGE {
            return Ok(());
        }
        after = last;
    }
}

async fn dump_table(
    txn: &impl ConnectionTrait,
    table: &Table,
    path: PathBuf,
) -> AppResult<(u64, String)> {
    let header = TableHeader {
        table: table.name.clone(),
        columns: table.columns.clone(),
    };
    let mut writer = TableWriter::create(path, &header)?;
    for_each_row(txn, table, |cells| writer.row(&cells)).await?;
    writer.finish()
}
