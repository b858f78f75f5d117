//! What the database says about itself: its tables, their columns with a portable type, primary
//! keys and foreign keys, read from `sqlite_master`/`pragma_*` or PostgreSQL's catalogue, so a
//! table added by a later migration is backed up without anyone remembering to list it.

use crate::error::{AppError, AppResult};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The migrations' own bookkeeping table: never backed up, restored by migrating.
pub const MIGRATIONS_TABLE: &str = "seaql_migrations";

/// A column's type as it travels in the archive, the same for both databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Int,
    Float,
    Bool,
    Text,
    Date,
    /// A timestamp with its offset, written as RFC 3339.
    Timestamp,
    /// A timestamp without an offset, written as `YYYY-MM-DDTHH:MM:SS[.f]`.
    NaiveTimestamp,
    Json,
    /// Written as base64.
    Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// Primary-key columns in key order (empty when the table has none).
    pub primary_key: Vec<String>,
    /// (column, referenced table) for every foreign key.
    pub foreign_keys: Vec<(String, String)>,
}

impl Table {
    /// The key rows are written and paged in: the primary key, or every column.
    pub fn order_columns(&self) -> Vec<String> {
        if self.primary_key.is_empty() {
            self.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            self.primary_key.clone()
        }
    }

    /// Columns referring to this same table (a merged student points at the kept one).
    pub fn self_references(&self) -> Vec<String> {
        self.foreign_keys
            .iter()
            .filter(|(_, t)| *t == self.name)
            .map(|(c, _)| c.clone())
            .collect()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// A quoted identifier. Names come from the catalogue, never from a user; they are checked to be
/// plain lower-case identifiers as well, so nothing odd reaches the SQL text.
pub fn quote(name: &str) -> AppResult<String> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        return Err(AppError::internal(format!(
            "the database has a table or column named {name:?}, which backup does not handle"
        )));
    }
    Ok(format!("\"{name}\""))
}

fn stmt(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

async fn strings(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
    width: usize,
) -> AppResult<Vec<Vec<String>>> {
    let rows = db
        .query_all_raw(stmt(db.get_database_backend(), sql, values))
        .await?;
    rows.iter()
        .map(|r| {
            (0..width)
                .map(|i| Ok(r.try_get_by_index::<Option<String>>(i)?.unwrap_or_default()))
                .collect()
        })
        .collect()
}

/// Every table of the application (not the migrations' table), sorted by name.
pub async fn tables(db: &impl ConnectionTrait) -> AppResult<Vec<Table>> {
    match db.get_database_backend() {
        DbBackend::Sqlite => sqlite_tables(db).await,
        DbBackend::Postgres => postgres_tables(db).await,
        other => Err(AppError::internal(format!(
            "backup does not support {other:?}"
        ))),
    }
}

async fn sqlite_tables(db: &impl ConnectionTrait) -> AppResult<Vec<Table>> {
    let b = DbBackend::Sqlite;
    let names = strings(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ? ORDER BY name",
        vec![MIGRATIONS_TABLE.into()],
        1,
    )
    .await?;
    let mut out = Vec::new();
    for row in names {
        let name = row[0].clone();
        let cols = db
            .query_all_raw(stmt(
                b,
                "SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid",
                vec![name.clone().into()],
            ))
            .await?;
        let mut columns = Vec::new();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in cols {
            let col: String = c.try_get_by_index(0)?;
            let ty: String = c.try_get_by_index::<Option<String>>(1)?.unwrap_or_default();
            let pk_pos: i64 = c.try_get_by_index(2)?;
            columns.push(Column {
                kind: sqlite_kind(&ty).ok_or_else(|| unknown_type(&name, &col, &ty))?,
                name: col.clone(),
            });
            if pk_pos > 0 {
                pk.push((pk_pos, col));
            }
        }
        pk.sort();
        let fks = strings(
            db,
            "SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?)",
            vec![name.clone().into()],
            2,
        )
        .await?;
        out.push(Table {
            name,
            columns,
            primary_key: pk.into_iter().map(|(_, c)| c).collect(),
            foreign_keys: fks
                .into_iter()
                .map(|r| (r[0].clone(), r[1].clone()))
                .collect(),
        });
    }
    Ok(out)
}

fn unknown_type(table: &str, column: &str, ty: &str) -> AppError {
    AppError::internal(format!(
        "column {table}.{column} has the type {ty:?}, which backup does not know how to write"
    ))
}

/// SQLite keeps the declared type as text; SeaORM's names (`timestamp_with_timezone_text`,
/// `date_text`, `boolean`…) say what the application stores.
fn sqlite_kind(declared: &str) -> Option<Kind> {
    let t = declared.to_ascii_lowercase();
    Some(
        if t.contains("timestamp_with_timezone") || t.contains("timestamptz") {
            Kind::Timestamp
        } else if t.contains("timestamp") || t.contains("datetime") {
            Kind::NaiveTimestamp
        } else if t.contains("date") {
            Kind::Date
        } else if t.contains("bool") {
            Kind::Bool
        } else if t.contains("int") {
            Kind::Int
        } else if t.contains("double") || t.contains("real") || t.contains("float") {
            Kind::Float
        } else if t.contains("json") {
            Kind::Json
        } else if t.contains("blob") || t.contains("binary") {
            Kind::Bytes
        } else if t.contains("char") || t.contains("text") || t.contains("clob") {
            Kind::Text
        } else {
            return None;
        },
    )
}

fn postgres_kind(udt: &str) -> Option<Kind> {
    Some(match udt {
        "int2" | "int4" | "int8" => Kind::Int,
        "float4" | "float8" => Kind::Float,
        "bool" => Kind::Bool,
        "text" | "varchar" | "bpchar" => Kind::Text,
        "date" => Kind::Date,
        "timestamptz" => Kind::Timestamp,
        "timestamp" => Kind::NaiveTimestamp,
        "json" | "jsonb" => Kind::Json,
        "bytea" => Kind::Bytes,
        _ => return None,
    })
}

async fn postgres_tables(db: &impl ConnectionTrait) -> AppResult<Vec<Table>> {
    let names = strings(
        db,
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> $1 \
         ORDER BY table_name",
        vec![MIGRATIONS_TABLE.into()],
        1,
    )
    .await?;
    let mut tables: BTreeMap<String, Table> = names
        .into_iter()
        .map(|r| {
            let name = r[0].clone();
            (
                name.clone(),
                Table {
                    name,
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    foreign_keys: Vec::new(),
                },
            )
        })
        .collect();
    let cols = strings(
        db,
        "SELECT table_name::text, column_name::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
        vec![],
        3,
    )
    .await?;
    for r in cols {
        if let Some(t) = tables.get_mut(&r[0]) {
            t.columns.push(Column {
                kind: postgres_kind(&r[2]).ok_or_else(|| unknown_type(&r[0], &r[1], &r[2]))?,
                name: r[1].clone(),
            });
        }
    }
    let pks = strings(
        db,
        "SELECT cl.relname::text, a.attname::text FROM pg_index i \
         JOIN pg_class cl ON cl.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = cl.relnamespace \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indisprimary AND n.nspname = current_schema() \
         ORDER BY cl.relname, array_position(i.indkey::int2[], a.attnum)",
        vec![],
        2,
    )
    .await?;
    for r in pks {
        if let Some(t) = tables.get_mut(&r[0]) {
            t.primary_key.push(r[1].clone());
        }
    }
    let fks = strings(
        db,
        "SELECT cl.relname::text, a.attname::text, cf.relname::text FROM pg_constraint c \
         JOIN pg_class cl ON cl.oid = c.conrelid \
         JOIN pg_class cf ON cf.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = cl.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) \
         WHERE c.contype = 'f' AND n.nspname = current_schema() \
         ORDER BY cl.relname, a.attname",
        vec![],
        3,
    )
    .await?;
    for r in fks {
        if let Some(t) = tables.get_mut(&r[0]) {
            t.foreign_keys.push((r[1].clone(), r[2].clone()));
        }
    }
    Ok(tables.into_values().collect())
}

/// Tables ordered so that every table comes after the tables it refers to (references to
/// itself aside); ties by name, so the order is stable.
pub fn insert_order(tables: &[Table]) -> AppResult<Vec<&Table>> {
    let by_name: BTreeMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < tables.len() {
        let ready: Vec<&Table> = by_name
            .values()
            .filter(|t| !done.contains(t.name.as_str()))
            .filter(|t| {
                t.foreign_keys.iter().all(|(_, r)| {
                    r == &t.name || done.contains(r.as_str()) || !by_name.contains_key(r.as_str())
                })
            })
            .copied()
            .collect();
        if ready.is_empty() {
            let left: Vec<&str> = by_name
                .keys()
                .filter(|n| !done.contains(*n))
                .copied()
                .collect();
            return Err(AppError::internal(format!(
                "the foreign keys between {} form a cycle, which restore cannot order",
                left.join(", ")
            )));
        }
        for t in ready {
            done.insert(t.name.as_str());
            out.push(t);
        }
    }
    Ok(out)
}

/// The newest applied migration, which names the schema version.
pub async fn schema_version(db: &impl ConnectionTrait) -> AppResult<Option<String>> {
    let sql = format!(
        "SELECT version FROM {} ORDER BY version DESC LIMIT 1",
        quote(MIGRATIONS_TABLE)?
    );
    let row = db
        .query_one_raw(stmt(db.get_database_backend(), &sql, vec![]))
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get_by_index::<String>(0)?),
        None => None,
    })
}

/// The names of the migrations this binary knows, oldest first.
pub fn known_migrations() -> Vec<String> {
    use migration::MigratorTrait;
    migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}
