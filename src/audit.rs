//! The append-only audit log: writes, staff reads of student records, refusals and logins.

use crate::entity::audit_log;
use crate::error::AppResult;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::Value;

/// One audit row, built with the chainable setters below.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub student_id: Option<i64>,
    pub outcome: &'static str,
    pub ip: Option<String>,
    pub detail: Value,
}

impl Entry {
    pub fn new(actor_id: Option<i64>, action: &str, entity: &str) -> Self {
        Entry {
            actor_id,
            action: action.to_string(),
            entity: entity.to_string(),
            entity_id: None,
            student_id: None,
            outcome: "ok",
            ip: None,
            detail: Value::Object(Default::default()),
        }
    }
    pub fn id(mut self, id: impl ToString) -> Self {
        self.entity_id = Some(id.to_string());
        self
    }
    pub fn student(mut self, student_id: i64) -> Self {
        self.student_id = Some(student_id);
        self
    }
    pub fn denied(mut self) -> Self {
        self.outcome = "denied";
        self
    }
    pub fn failed(mut self) -> Self {
        self.outcome = "failed";
        self
    }
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
    /// Records what a write changed: `{"old": …, "new": …}`.
    pub fn change(self, old: Value, new: Value) -> Self {
        self.detail(serde_json::json!({"old": old, "new": new}))
    }

    pub async fn write(self, db: &impl ConnectionTrait) -> AppResult<()> {
        self.row(Utc::now().fixed_offset()).insert(db).await?;
        Ok(())
    }

    /// Writes many entries in a few statements (500 rows each), all at the same instant.
    pub async fn write_many(db: &impl ConnectionTrait, entries: Vec<Entry>) -> AppResult<()> {
        let at = Utc::now().fixed_offset();
        let mut rows = entries.into_iter().map(|e| e.row(at)).peekable();
        while rows.peek().is_some() {
            audit_log::Entity::insert_many(rows.by_ref().take(500))
                .exec_without_returning(db)
                .await?;
        }
        Ok(())
    }

    fn row(self, at: chrono::DateTime<chrono::FixedOffset>) -> audit_log::ActiveModel {
        audit_log::ActiveModel {
            at: Set(at),
            actor_id: Set(self.actor_id),
            action: Set(self.action),
            entity: Set(self.entity),
            entity_id: Set(self.entity_id),
            student_id: Set(self.student_id),
            outcome: Set(self.outcome.to_string()),
            ip: Set(self.ip),
            detail: Set(self.detail.to_string()),
            ..Default::default()
        }
    }
}

/// How an audit row reads on a page: the action, the record kind and the outcome by their
/// labels in `lang` (`audit.action.<code>`, `audit.entity.<kind>`, `audit.outcome.<outcome>`;
/// `None` where there is no label, and the page shows the code), and the detail as lines of
/// `field: value`, a change as `field: old → new`.
pub fn readable(
    lang: crate::i18n::Lang,
    action: &str,
    entity: &str,
    outcome: &str,
    detail: &Value,
) -> Value {
    let label = |prefix: &str, code: &str| lang.find(&format!("{prefix}.{code}"));
    serde_json::json!({
        "action_label": label("audit.action", action),
        "entity_label": label("audit.entity", entity),
        "outcome_label": label("audit.outcome", outcome).unwrap_or_else(|| outcome.to_string()),
        "changes": changes(lang, detail),
    })
}

/// The lines of a detail: each field by its label (`audit.field.<key>`, else its key as
/// code), with its value, or its old and new values for a change.
fn changes(lang: crate::i18n::Lang, detail: &Value) -> Vec<Value> {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) => crate::error::excerpt(s, 120),
        Some(other) => crate::error::excerpt(&other.to_string(), 120),
    };
    let line = |key: &str, value: String| serde_json::json!({"label": lang.find(&format!("audit.field.{key}")), "key": key, "value": value});
    let empty = serde_json::Map::new();
    match detail {
        Value::Object(m) if m.contains_key("old") || m.contains_key("new") => {
            let old = m.get("old").and_then(Value::as_object).unwrap_or(&empty);
            let new = m.get("new").and_then(Value::as_object).unwrap_or(&empty);
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            if keys.is_empty() {
                return vec![line(
                    "change",
                    format!("{} → {}", text(m.get("old")), text(m.get("new"))),
                )];
            }
            keys.into_iter()
                .filter(|k| old.get(*k) != new.get(*k))
                .map(|k| line(k, format!("{} → {}", text(old.get(k)), text(new.get(k)))))
                .collect()
        }
        Value::Object(m) => m.iter().map(|(k, v)| line(k, text(Some(v)))).collect(),
        Value::Null => Vec::new(),
        other => vec![line("detail", text(Some(other)))],
    }
}
