//! Restoring an archive into an empty database, SQLite or PostgreSQL.
//!
//! In order: the archive is unpacked and every table file checked against the manifest; the
//! target is migrated to the archive's schema version (never past it, so the columns match);
//! the target must then hold no row at all (restore runs the migrations only, not the start-up
//! that creates the built-in groups and modules, so a fresh database passes and any used one is
//! refused); the rows go in within one transaction, parents before children; PostgreSQL's
//! identity sequences are moved past the restored ids; then any newer migrations run.

use super::archive::{self, TableHeader};
use super::catalog::{self, Table, quote};
use super::values;
use crate::error::{AppError, AppResult};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// Bound parameters per INSERT (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 10_000;
const MAX_ROWS_PER_INSERT: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    pub tables: usize,
    pub rows: u64,
    pub schema_version: String,
    pub seconds: f64,
}

/// Loads the archive at `path` into `db`, which must be empty.
pub async fn restore(db: &DatabaseConnection, path: &Path) -> AppResult<RestoreSummary> {
    let started = std::time::Instant::now();
    let work = tempfile::Builder::new()
        .prefix(".srm-restore-")
        .tempdir()
        .map_err(|e| AppError::internal(format!("cannot make a temporary directory: {e}")))?;
    let (src, dir) = (path.to_path_buf(), work.path().to_path_buf());
    let manifest = tokio::task::spawn_blocking(move || archive::verify(&src, Some(&dir)))
        .await
        .map_err(|e| AppError::internal(format!("reading the backup did not finish: {e}")))??;

    let known = catalog::known_migrations();
    let Some(position) = known.iter().position(|m| *m == manifest.schema_version) else {
        return Err(AppError::unprocessable(
            "backup_newer",
            format!(
                "the backup comes from a newer schema ({}) than this portal knows (newest {}); restore it with the portal version that wrote it ({}) or newer",
                manifest.schema_version,
                known.last().map(String::as_str).unwrap_or("none"),
                manifest.portal_version
            ),
        ));
    };

    // Checked before migrating too, so a database in use is not touched at all.
    refuse_if_not_empty(db).await?;
    let applied = Migrator::get_applied_migrations(db).await?;
    let applied_count = applied.len() as u32;
    let wanted = position as u32 + 1;
    if applied_count > wanted {
        refuse_if_not_empty(db).await?;
        return Err(AppError::conflict(
            "restore_target_newer",
            format!(
                "the target database is already migrated past the backup's schema ({}); restore into a freshly created database",
                manifest.schema_version
            ),
        ));
    }
    if wanted > applied_count {
        Migrator::up(db, Some(wanted - applied_count))
            .await
            .map_err(|e| AppError::internal(format!("a database migration failed: {e}")))?;
    }
    refuse_if_not_empty(db).await?;

    let tables = catalog::tables(db).await?;
    let by_name: BTreeMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), t)).collect();
    for entry in &manifest.tables {
        if !by_name.contains_key(entry.name.as_str()) {
            return Err(mismatch(format!(
                "the backup has a table {} that the database does not",
                entry.name
            )));
        }
    }
    for t in &tables {
        if !manifest.tables.iter().any(|e| e.name == t.name) {
            return Err(mismatch(format!(
                "the database has a table {} that the backup does not",
                t.name
            )));
        }
    }

    let backend = db.get_database_backend();
    let txn = crate::db::write_txn(db).await?;
    let mut rows = 0u64;
    for table in catalog::insert_order(&tables)? {
        let file = work.path().join(format!("{}.jsonl", table.name));
        rows += load_table(&txn, table, &file).await?;
    }
    // A table's count must equal the manifest's, read back inside the same transaction.
    for entry in &manifest.tables {
        let sql = format!("SELECT COUNT(*) FROM {}", quote(&entry.name)?);
        let n = txn
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if n as u64 != entry.rows {
            return Err(AppError::internal(format!(
                "restoring {} gave {n} rows where the backup has {}; nothing was restored",
                entry.name, entry.rows
            )));
        }
    }
    if backend == DbBackend::Postgres {
        reset_sequences(&txn, &tables).await?;
    }
    txn.commit().await?;
    crate::db::migrate(db).await?;
    Ok(RestoreSummary {
        tables: manifest.tables.len(),
        rows,
        schema_version: manifest.schema_version,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn mismatch(msg: String) -> AppError {
    AppError::unprocessable(
        "backup_schema_mismatch",
        format!("the backup does not fit this database: {msg}"),
    )
}

/// Refuses a target with any row in any table.
async fn refuse_if_not_empty(db: &DatabaseConnection) -> AppResult<()> {
    let backend = db.get_database_backend();
    let mut used = Vec::new();
    for t in catalog::tables(db).await? {
        let sql = format!("SELECT 1 FROM {} LIMIT 1", quote(&t.name)?);
        if db
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .is_some()
        {
            used.push(t.name);
        }
    }
    if used.is_empty() {
        return Ok(());
    }
    Err(AppError::conflict(
        "restore_target_not_empty",
        format!(
            "the target database is not empty ({} hold rows); restore only into a freshly created database, before the portal has started on it",
            used.join(", ")
        ),
    ))
}

fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

async fn load_table(txn: &impl ConnectionTrait, table: &Table, file: &Path) -> AppResult<u64> {
    let backend = txn.get_database_backend();
    let f = std::fs::File::open(file)
        .map_err(|e| AppError::internal(format!("cannot read {}: {e}", file.display())))?;
    let mut lines = std::io::BufReader::new(f).lines();
    let bad = |e: &dyn std::fmt::Display| {
        AppError::unprocessable(
            "backup_damaged",
            format!("the backup's table {} cannot be read: {e}", table.name),
        )
    };
    let header: TableHeader = match lines.next() {
        Some(line) => serde_json::from_str(&line.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?,
        None => return Err(bad(&"it is empty")),
    };
    // The archive's columns, mapped onto the target's by name; types must agree.
    if header.columns.len() != table.columns.len() {
        return Err(mismatch(format!(
            "the table {} has {} columns in the backup and {} in the database",
            table.name,
            header.columns.len(),
            table.columns.len()
        )));
    }
    let mut positions = Vec::new();
    for c in &header.columns {
        let Some(i) = table.column_index(&c.name) else {
            return Err(mismatch(format!(
                "the backup's column {}.{} is not in the database",
                table.name, c.name
            )));
        };
        if table.columns[i].kind != c.kind {
            return Err(mismatch(format!(
                "the column {}.{} is {:?} in the backup and {:?} in the database",
                table.name, c.name, c.kind, table.columns[i].kind
            )));
        }
        positions.push(i);
    }
    let names = header
        .columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<AppResult<Vec<_>>>()?;
    let insert_head = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote(&table.name)?,
        names.join(", ")
    );
    // Rows referring to their own table go in with that reference empty, and get it back once
    // every row is in: the referenced row may come later in key order.
    let self_refs: Vec<usize> = table
        .self_references()
        .iter()
        .filter_map(|c| header.columns.iter().position(|h| &h.name == c))
        .collect();
    let key_pos: Vec<usize> = table
        .order_columns()
        .iter()
        .filter_map(|c| header.columns.iter().position(|h| &h.name == c))
        .collect();
    let mut later: Vec<(usize, Vec<sea_orm::Value>, sea_orm::Value)> = Vec::new();

    let width = header.columns.len().max(1);
    let per_insert = (MAX_PARAMS / width).clamp(1, MAX_ROWS_PER_INSERT);
    let mut batch: Vec<sea_orm::Value> = Vec::new();
    let mut batch_rows = 0usize;
    let mut total = 0u64;
    for line in lines {
        let line = line.map_err(|e| bad(&e))?;
        let cells: Vec<serde_json::Value> = serde_json::from_str(&line).map_err(|e| bad(&e))?;
        if cells.len() != width {
            return Err(bad(&"a row has the wrong number of cells"));
        }
        for (j, cell) in cells.iter().enumerate() {
            let kind = header.columns[j].kind;
            if self_refs.contains(&j) && !cell.is_null() {
                let key = key_pos
                    .iter()
                    .map(|&k| values::bind(&cells[k], header.columns[k].kind))
                    .collect::<AppResult<Vec<_>>>()?;
                later.push((j, key, values::bind(cell, kind)?));
                batch.push(values::bind(&serde_json::Value::Null, kind)?);
            } else {
                batch.push(values::bind(cell, kind)?);
            }
        }
        batch_rows += 1;
        total += 1;
        if batch_rows == per_insert {
            insert(txn, backend, &insert_head, width, batch_rows, &mut batch).await?;
            batch_rows = 0;
        }
    }
    if batch_rows > 0 {
        insert(txn, backend, &insert_head, width, batch_rows, &mut batch).await?;
    }
    for (col, key, value) in later {
        let mut n = 1;
        let set = format!(
            "{} = {}",
            quote(&header.columns[col].name)?,
            placeholder(backend, n)
        );
        let mut conds = Vec::new();
        for &k in &key_pos {
            n += 1;
            conds.push(format!(
                "{} = {}",
                quote(&header.columns[k].name)?,
                placeholder(backend, n)
            ));
        }
        let sql = format!(
            "UPDATE {} SET {set} WHERE {}",
            quote(&table.name)?,
            conds.join(" AND ")
        );
        let mut vals = vec![value];
        vals.extend(key);
        txn.execute_raw(Statement::from_sql_and_values(backend, &sql, vals))
            .await?;
    }
    Ok(total)
}

async fn insert(
    txn: &impl ConnectionTrait,
    backend: DbBackend,
    head: &str,
    width: usize,
    rows: usize,
    batch: &mut Vec<sea_orm::Value>,
) -> AppResult<()> {
    let mut sql = String::with_capacity(head.len() + rows * width * 4);
    sql.push_str(head);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&placeholder(backend, n));
        }
        sql.push(')');
    }
    let values = std::mem::take(batch);
    txn.execute_raw(Statement::from_sql_and_values(backend, &sql, values))
        .await?;
    Ok(())
}

/// Moves every serial or identity sequence past the largest restored id, so the next insert
/// does not collide with a restored row.
async fn reset_sequences(txn: &impl ConnectionTrait, tables: &[Table]) -> AppResult<()> {
    let backend = DbBackend::Postgres;
    for t in tables {
        for c in &t.columns {
            if c.kind != catalog::Kind::Int {
                continue;
            }
            let seq = txn
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT pg_get_serial_sequence($1, $2)",
                    vec![quote(&t.name)?.into(), c.name.clone().into()],
                ))
                .await?
                .and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten());
            let Some(seq) = seq else { continue };
            let sql = format!(
                "SELECT setval($1::regclass, COALESCE((SELECT MAX({col}) FROM {tbl}), 0) + 1, false)",
                col = quote(&c.name)?,
                tbl = quote(&t.name)?
            );
            txn.query_one_raw(Statement::from_sql_and_values(
                backend,
                &sql,
                vec![seq.into()],
            ))
            .await?;
        }
    }
    Ok(())
}
