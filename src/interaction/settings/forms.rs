//! The settings page's form: every value as typed, checked field by field. Routing rules and
//! queue members are rows of labelled fields, not JSON.

use super::service::{FIELDS, Refusal, check};
use rocket::FromForm;
use serde_json::json;
use std::collections::BTreeMap;

/// The values as typed: one entry per row for the routing rules and the queues.
#[derive(FromForm, Default)]
pub struct SettingsForm {
    #[field(default = Vec::new())]
    pub rule_category: Vec<String>,
    #[field(default = Vec::new())]
    pub rule_department: Vec<String>,
    #[field(default = Vec::new())]
    pub rule_queue: Vec<String>,
    #[field(default = Vec::new())]
    pub queue_name: Vec<String>,
    /// Per queue, the user names of the people who work it (separated by commas or spaces).
    #[field(default = Vec::new())]
    pub queue_members: Vec<String>,
    #[field(default = String::new())]
    pub sla_hours: String,
    #[field(default = String::new())]
    pub min_responses: String,
    #[field(default = String::new())]
    pub open_days: String,
    #[field(default = String::new())]
    pub window_weeks: String,
    #[field(default = String::new())]
    pub email: String,
}

impl SettingsForm {
    /// The routing rules as stored (a JSON list), rows without a queue left out.
    pub fn routing_text(&self) -> String {
        let rules: Vec<_> = self
            .rule_queue
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.trim().is_empty())
            .map(|(i, q)| {
                let at = |v: &Vec<String>| v.get(i).map_or("*", |s| s.trim()).to_string();
                json!({"category": at(&self.rule_category), "department": at(&self.rule_department), "queue": q.trim()})
            })
            .collect();
        json!(rules).to_string()
    }

    /// The queues as typed: (queue, user names), rows without a name left out.
    pub fn queue_rows(&self) -> Vec<(String, Vec<String>)> {
        self.queue_name
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.trim().is_empty())
            .map(|(i, q)| {
                let names = self
                    .queue_members
                    .get(i)
                    .map(|m| {
                        m.split([',', '，', ' ', '、'])
                            .map(str::trim)
                            .filter(|n| !n.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                (q.trim().to_string(), names)
            })
            .collect()
    }

    /// The value typed for one of the plain fields.
    pub fn value(&self, field: &str) -> &str {
        match field {
            "sla_hours" => &self.sla_hours,
            "min_responses" => &self.min_responses,
            "open_days" => &self.open_days,
            "window_weeks" => &self.window_weeks,
            _ => &self.email,
        }
    }

    /// The text to store per settings key, or why a field could not be used; `queues` is the
    /// queue members already resolved to user ids (a JSON object).
    pub fn checked(
        &self,
        queues: Result<String, Refusal>,
    ) -> Result<Vec<(&'static str, String)>, BTreeMap<&'static str, Refusal>> {
        let mut errors = BTreeMap::new();
        let mut out = Vec::new();
        for (field, key, _) in FIELDS {
            let outcome = match field {
                "routing" => check(field, &self.routing_text()),
                "queues" => queues.clone().and_then(|q| check(field, &q)),
                _ => check(field, self.value(field).trim()),
            };
            match outcome {
                Ok(stored) => out.push((key, stored)),
                Err(refusal) => {
                    errors.insert(field, refusal);
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}
