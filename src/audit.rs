//! The append-only audit log: writes, staff reads of student records, refusals and logins.

use crate::entity::audit_log;
use crate::error::AppResult;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
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
        audit_log::ActiveModel {
            at: Set(Utc::now().fixed_offset()),
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
        .insert(db)
        .await?;
        Ok(())
    }
}
