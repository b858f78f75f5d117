//! Small helpers shared by the interaction module: settings, clocks and text checks.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::de::DeserializeOwned;

pub fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

pub use crate::settings::get as setting;

/// A JSON setting, or `default` when it is absent or unreadable (a broken setting is logged,
/// never fatal).
pub async fn json_setting<T: DeserializeOwned>(
    db: &impl ConnectionTrait,
    key: &str,
    default: T,
) -> AppResult<T> {
    match setting(db, key).await? {
        Some(text) => match serde_json::from_str(&text) {
            Ok(v) => Ok(v),
            Err(e) => {
                tracing::warn!(key, error = %e, "unreadable setting; using the default");
                Ok(default)
            }
        },
        None => Ok(default),
    }
}

/// A trimmed, non-empty text of at most `max` characters.
pub fn text(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::unprocessable(
            "invalid",
            format!("{field} must not be empty"),
        ));
    }
    if v.chars().count() > max {
        return Err(AppError::unprocessable(
            "invalid",
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// Hours between two instants, one decimal.
pub fn hours(from: DateTime<FixedOffset>, to: DateTime<FixedOffset>) -> f64 {
    ((to - from).num_seconds() as f64 / 360.0).round() / 10.0
}

/// Display names of some users, by id.
pub use crate::auth::service::display_names as user_names;

/// A date-time as shown on pages.
pub fn fmt(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// Every department as `{id, label}` in the reader's language, for a form's choices.
pub async fn department_options(
    db: &impl ConnectionTrait,
    zh: bool,
) -> AppResult<Vec<serde_json::Value>> {
    Ok(department_names(db, zh)
        .await?
        .into_iter()
        .map(|(id, label)| serde_json::json!({"id": id, "label": label}))
        .collect())
}

/// A case queue as people read it: the built-in queues by their labels
/// (`interaction.queue.<name>`), a department's queue (`dept-<id>`) by the department's name;
/// a queue an administrator named, as named.
pub fn queue_label(
    lang: crate::i18n::Lang,
    queue: &str,
    departments: &std::collections::BTreeMap<i64, String>,
) -> String {
    if let Some(label) = lang.find(&format!("interaction.queue.{queue}")) {
        return label;
    }
    let dept = queue
        .strip_prefix("dept-")
        .and_then(|id| id.parse::<i64>().ok())
        .and_then(|id| departments.get(&id));
    match dept {
        Some(name) => crate::i18n::fill(
            &lang.t("interaction.queue.department"),
            &[("department", name.clone())],
        ),
        None => queue.to_string(),
    }
}

/// Department names by id in the reader's language, in id order.
pub async fn department_names(
    db: &impl ConnectionTrait,
    zh: bool,
) -> AppResult<std::collections::BTreeMap<i64, String>> {
    use crate::entity::departments;
    Ok(departments::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, if zh { d.name_zh } else { d.name_en }))
        .collect())
}

/// The 1–5 answer scale, best first, each value with its label.
pub fn scale(lang: crate::i18n::Lang) -> Vec<serde_json::Value> {
    (1..=5)
        .rev()
        .map(|v| {
            serde_json::json!({"value": v, "label": lang.t(&format!("interaction.feedback.scale.{v}"))})
        })
        .collect()
}
