//! One cell between the database and the archive: read from a row by its column's portable type
//! into JSON (timestamps as RFC 3339, booleans as booleans, NULL as null, bytes as base64), and
//! from JSON back into a typed, bindable value.

use super::catalog::Kind;
use crate::error::{AppError, AppResult};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat};
use sea_orm::{QueryResult, Value as DbValue};
use serde_json::Value;

const NAIVE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// The cell at `idx` of `row`, as the archive writes it.
pub fn read(row: &QueryResult, idx: usize, kind: Kind) -> AppResult<Value> {
    Ok(match kind {
        Kind::Int => row.try_get_by_index::<Option<i64>>(idx)?.into(),
        Kind::Float => match row.try_get_by_index::<Option<f64>>(idx)? {
            None => Value::Null,
            Some(f) if f.is_finite() => f.into(),
            // JSON has no NaN or infinity; they travel as text.
            Some(f) => Value::String(f.to_string()),
        },
        Kind::Bool => row.try_get_by_index::<Option<bool>>(idx)?.into(),
        Kind::Text => row.try_get_by_index::<Option<String>>(idx)?.into(),
        Kind::Date => row
            .try_get_by_index::<Option<NaiveDate>>(idx)?
            .map(|d| d.format("%Y-%m-%d").to_string())
            .into(),
        Kind::Timestamp => row
            .try_get_by_index::<Option<DateTime<FixedOffset>>>(idx)?
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
            .into(),
        Kind::NaiveTimestamp => row
            .try_get_by_index::<Option<NaiveDateTime>>(idx)?
            .map(|t| t.format(NAIVE_FORMAT).to_string())
            .into(),
        Kind::Json => row
            .try_get_by_index::<Option<Value>>(idx)?
            .unwrap_or(Value::Null),
        Kind::Bytes => row
            .try_get_by_index::<Option<Vec<u8>>>(idx)?
            .map(|b| B64.encode(b))
            .into(),
    })
}

fn bad(kind: Kind, v: &Value) -> AppError {
    let shown: String = v.to_string().chars().take(60).collect();
    AppError::unprocessable(
        "backup_damaged",
        format!("the archive holds {shown} where a {kind:?} value belongs"),
    )
}

/// The archive's cell as a value to bind in an INSERT, typed even when NULL (PostgreSQL checks
/// the parameter's type against the column's).
pub fn bind(v: &Value, kind: Kind) -> AppResult<DbValue> {
    let null = v.is_null();
    Ok(match kind {
        Kind::Int => (if null {
            None
        } else {
            Some(v.as_i64().ok_or_else(|| bad(kind, v))?)
        })
        .into(),
        Kind::Float => (if null {
            None
        } else {
            Some(match v {
                Value::String(s) => s.parse::<f64>().map_err(|_| bad(kind, v))?,
                _ => v.as_f64().ok_or_else(|| bad(kind, v))?,
            })
        })
        .into(),
        Kind::Bool => (if null {
            None
        } else {
            Some(v.as_bool().ok_or_else(|| bad(kind, v))?)
        })
        .into(),
        Kind::Text => (if null {
            None
        } else {
            Some(v.as_str().ok_or_else(|| bad(kind, v))?.to_string())
        })
        .into(),
        Kind::Date => (if null {
            None
        } else {
            let s = v.as_str().ok_or_else(|| bad(kind, v))?;
            Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad(kind, v))?)
        })
        .into(),
        Kind::Timestamp => (if null {
            None
        } else {
            let s = v.as_str().ok_or_else(|| bad(kind, v))?;
            Some(DateTime::parse_from_rfc3339(s).map_err(|_| bad(kind, v))?)
        })
        .into(),
        Kind::NaiveTimestamp => (if null {
            None
        } else {
            let s = v.as_str().ok_or_else(|| bad(kind, v))?;
            Some(NaiveDateTime::parse_from_str(s, NAIVE_FORMAT).map_err(|_| bad(kind, v))?)
        })
        .into(),
        Kind::Json => DbValue::Json(if null {
            None
        } else {
            Some(Box::new(v.clone()))
        }),
        Kind::Bytes => (if null {
            None
        } else {
            let s = v.as_str().ok_or_else(|| bad(kind, v))?;
            Some(B64.decode(s).map_err(|_| bad(kind, v))?)
        })
        .into(),
    })
}
