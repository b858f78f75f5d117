//! The analytics' aggregate queries: constant SQL text with `?` placeholders and bound values
//! (numbered `$1`, `$2`, … for PostgreSQL), so that nothing a query reads is ever spliced into
//! its text.

use crate::error::AppResult;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use std::collections::HashMap;

/// `sql` with `values` bound, in the placeholder style of `backend`.
pub fn statement(backend: DbBackend, sql: &'static str, values: Vec<Value>) -> Statement {
    let text = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, text, values)
}

/// The rows of `sql` with `values` bound.
pub async fn rows(
    db: &impl ConnectionTrait,
    sql: &'static str,
    values: Vec<Value>,
) -> AppResult<Vec<QueryResult>> {
    Ok(db
        .query_all_raw(statement(db.get_database_backend(), sql, values))
        .await?)
}

/// Runs `sql` (an `INSERT … SELECT` or a `DELETE`) with `values` bound.
pub async fn execute(
    db: &impl ConnectionTrait,
    sql: &'static str,
    values: Vec<Value>,
) -> AppResult<()> {
    db.execute_raw(statement(db.get_database_backend(), sql, values))
        .await?;
    Ok(())
}

/// `SELECT id, n` rows as a map (n an integer).
pub async fn counts(
    db: &impl ConnectionTrait,
    sql: &'static str,
    values: Vec<Value>,
) -> AppResult<HashMap<i64, i64>> {
    let found = rows(db, sql, values).await?;
    let mut out = HashMap::with_capacity(found.len());
    for r in found {
        out.insert(r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<i64>(1)?);
    }
    Ok(out)
}

/// `SELECT id, x` rows as a map (x a double, NULL left out).
pub async fn reals(
    db: &impl ConnectionTrait,
    sql: &'static str,
    values: Vec<Value>,
) -> AppResult<HashMap<i64, f64>> {
    let found = rows(db, sql, values).await?;
    let mut out = HashMap::with_capacity(found.len());
    for r in found {
        if let Some(v) = r.try_get_by_index::<Option<f64>>(1)? {
            out.insert(r.try_get_by_index::<i64>(0)?, v);
        }
    }
    Ok(out)
}
