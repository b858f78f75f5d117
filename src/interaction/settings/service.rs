//! The interaction settings: which keys the page edits, how each value is checked, and saving
//! them together in one transaction, audited with the old and new values.

use crate::audit::Entry;
use crate::error::AppResult;
use crate::interaction::cases::service::{
    self as cases, CATEGORIES, QUEUES_KEY, ROUTING_KEY, Rule, SLA_KEY,
};
use crate::interaction::{
    care::service::WINDOW_KEY, feedback::service as feedback, messages::notify::EMAIL_KEY,
};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The settings on the page: (form field, settings key, default text).
pub const FIELDS: [(&str, &str, &str); 7] = [
    ("routing", ROUTING_KEY, cases::DEFAULT_ROUTING),
    ("queues", QUEUES_KEY, "{}"),
    ("sla_hours", SLA_KEY, "72"),
    ("min_responses", feedback::MIN_KEY, "5"),
    ("open_days", feedback::OPEN_DAYS_KEY, "21"),
    ("window_weeks", WINDOW_KEY, "6"),
    ("email", EMAIL_KEY, "off"),
];

fn number(text: &str, range: std::ops::RangeInclusive<i64>) -> Result<String, String> {
    match text.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n.to_string()),
        _ => Err(format!(
            "a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

/// One field's value as it will be stored, or why it cannot be.
pub fn check(field: &str, text: &str) -> Result<String, String> {
    match field {
        "routing" => {
            let rules: Vec<Rule> =
                serde_json::from_str(text).map_err(|e| format!("a JSON list of rules: {e}"))?;
            if rules.is_empty() {
                return Err("at least one rule; the last should catch everything (\"*\")".into());
            }
            for r in &rules {
                if r.category != "*" && !CATEGORIES.contains(&r.category.as_str()) {
                    return Err(format!(
                        "unknown category {}; use * or {}",
                        r.category,
                        CATEGORIES.join(", ")
                    ));
                }
                let dept_ok = matches!(r.department.as_str(), "*" | "any" | "none")
                    || r.department.parse::<i64>().is_ok();
                if !dept_ok || r.queue.trim().is_empty() {
                    return Err(
                        "each rule needs a department (*, any, none or an id) and a queue".into(),
                    );
                }
            }
            serde_json::to_string(&rules).map_err(|e| e.to_string())
        }
        "queues" => {
            let queues: HashMap<String, Vec<i64>> = serde_json::from_str(text).map_err(|e| {
                format!("a JSON object of queue → list of user ids, e.g. {{\"complaints\": [3, 7]}}: {e}")
            })?;
            serde_json::to_string(&queues).map_err(|e| e.to_string())
        }
        "sla_hours" => number(text, 1..=24 * 60),
        "min_responses" => number(text, feedback::MIN_FLOOR as i64..=1000),
        "open_days" => number(text, 1..=180),
        "window_weeks" => number(text, 1..=52),
        _ => match text {
            "on" | "off" => Ok(text.to_string()),
            _ => Err("on or off".into()),
        },
    }
}

pub async fn current(db: &DatabaseConnection) -> AppResult<HashMap<&'static str, String>> {
    let mut values = HashMap::new();
    for (field, key, default) in FIELDS {
        let stored = crate::settings::get(db, key).await?;
        values.insert(field, stored.unwrap_or_else(|| default.to_string()));
    }
    Ok(values)
}

/// Stores the checked values that changed, in one transaction, with one audit entry.
pub async fn save(
    db: &DatabaseConnection,
    user_id: i64,
    chosen: Vec<(&'static str, String)>,
) -> AppResult<()> {
    let txn = crate::db::write_txn(db).await?;
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    for (key, value) in chosen {
        let old = crate::settings::get(&txn, key).await?;
        if old.as_deref() != Some(value.as_str()) {
            before.insert(key.to_string(), json!(old));
            after.insert(key.to_string(), json!(value));
            crate::settings::put(&txn, key, value).await?;
        }
    }
    if !after.is_empty() {
        Entry::new(Some(user_id), "interaction.settings", "setting")
            .change(Value::Object(before), Value::Object(after))
            .write(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}
