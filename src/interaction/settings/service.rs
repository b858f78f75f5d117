//! The interaction settings: which keys the page edits, how each value is checked, and saving
//! them together in one transaction, audited with the old and new values.

use crate::audit::Entry;
use crate::error::AppResult;
use crate::interaction::cases::service::{
    self as cases, CATEGORIES, QUEUES_KEY, ROUTING_KEY, Rule, SLA_KEY,
};
use crate::interaction::{care::service::WINDOW_KEY, feedback::service as feedback};
use crate::mail::service::EMAIL_KEY;
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

/// Why a value cannot be stored: a code (`interaction.settings.err.<code>`) and the values of
/// its message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: &'static str,
    pub args: Vec<(&'static str, String)>,
}

fn refuse(code: &'static str, args: &[(&'static str, String)]) -> Refusal {
    Refusal {
        code,
        args: args.to_vec(),
    }
}

fn number(text: &str, range: std::ops::RangeInclusive<i64>) -> Result<String, Refusal> {
    match text.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n.to_string()),
        _ => Err(refuse(
            "range",
            &[
                ("min", range.start().to_string()),
                ("max", range.end().to_string()),
            ],
        )),
    }
}

/// One field's value as it will be stored, or why it cannot be.
pub fn check(field: &str, text: &str) -> Result<String, Refusal> {
    let unreadable = |_| refuse("unreadable", &[]);
    match field {
        "routing" => {
            let rules: Vec<Rule> = serde_json::from_str(text).map_err(unreadable)?;
            if rules.is_empty() {
                return Err(refuse("no_rules", &[]));
            }
            for r in &rules {
                if r.category != "*" && !CATEGORIES.contains(&r.category.as_str()) {
                    return Err(refuse("category", &[("category", r.category.clone())]));
                }
                let dept_ok = matches!(r.department.as_str(), "*" | "any" | "none")
                    || r.department.parse::<i64>().is_ok();
                if !dept_ok || r.queue.trim().is_empty() {
                    return Err(refuse("rule", &[]));
                }
            }
            serde_json::to_string(&rules).map_err(unreadable)
        }
        "queues" => {
            let queues: HashMap<String, Vec<i64>> =
                serde_json::from_str(text).map_err(unreadable)?;
            serde_json::to_string(&queues).map_err(unreadable)
        }
        "sla_hours" => number(text, 1..=24 * 60),
        "min_responses" => number(text, feedback::MIN_FLOOR as i64..=1000),
        "open_days" => number(text, 1..=180),
        "window_weeks" => number(text, 1..=52),
        _ => match text {
            "on" | "off" => Ok(text.to_string()),
            _ => Err(refuse("on_off", &[])),
        },
    }
}

/// The queue members as stored (`{"queue": [user ids]}`), from the user names typed per
/// queue; a name no account has is refused, naming it.
pub async fn queues_text(
    db: &impl sea_orm::ConnectionTrait,
    rows: &[(String, Vec<String>)],
) -> AppResult<Result<String, Refusal>> {
    use crate::entity::users;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut out: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for (queue, names) in rows {
        let mut ids = Vec::new();
        for name in names {
            let found = users::Entity::find()
                .filter(users::Column::Username.eq(name.as_str()))
                .one(db)
                .await?;
            match found {
                Some(u) => ids.push(u.id),
                None => return Ok(Err(refuse("unknown_user", &[("name", name.clone())]))),
            }
        }
        out.entry(queue.clone()).or_default().extend(ids);
    }
    Ok(Ok(json!(out).to_string()))
}

/// The routing rules and queues as the form's rows show them: rules as they are stored,
/// queue members by user name.
pub async fn rows(
    db: &impl sea_orm::ConnectionTrait,
    values: &HashMap<&'static str, String>,
) -> AppResult<(Vec<Rule>, Vec<(String, String)>)> {
    let rules: Vec<Rule> = values
        .get("routing")
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    Ok((rules, queue_names(db, values).await?))
}

/// The departments a rule can name: (id, name in `lang`).
pub async fn departments(
    db: &impl sea_orm::ConnectionTrait,
    lang: crate::i18n::Lang,
) -> AppResult<Vec<(i64, String)>> {
    use crate::entity::departments;
    use sea_orm::{EntityTrait, QueryOrder};
    Ok(departments::Entity::find()
        .order_by_asc(departments::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|d| {
            let name = match lang {
                crate::i18n::Lang::Zh => d.name_zh,
                crate::i18n::Lang::En => d.name_en,
            };
            (d.id, name)
        })
        .collect())
}

async fn queue_names(
    db: &impl sea_orm::ConnectionTrait,
    values: &HashMap<&'static str, String>,
) -> AppResult<Vec<(String, String)>> {
    use crate::entity::users;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let text = |k: &str| values.get(k).map(String::as_str).unwrap_or_default();
    let queues: std::collections::BTreeMap<String, Vec<i64>> =
        serde_json::from_str(text("queues")).unwrap_or_default();
    let mut shown = Vec::new();
    for (queue, ids) in queues {
        let names: Vec<String> = users::Entity::find()
            .filter(users::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| u.username)
            .collect();
        shown.push((queue, names.join(", ")));
    }
    Ok(shown)
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
