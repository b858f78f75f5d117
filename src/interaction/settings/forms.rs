//! The settings page's form: every value as typed, checked field by field.

use super::service::{FIELDS, check};
use rocket::FromForm;
use std::collections::BTreeMap;

/// The values as typed.
#[derive(FromForm, Default)]
pub struct SettingsForm {
    #[field(default = String::new())]
    pub routing: String,
    #[field(default = String::new())]
    pub queues: String,
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
    pub fn value(&self, field: &str) -> &str {
        match field {
            "routing" => &self.routing,
            "queues" => &self.queues,
            "sla_hours" => &self.sla_hours,
            "min_responses" => &self.min_responses,
            "open_days" => &self.open_days,
            "window_weeks" => &self.window_weeks,
            _ => &self.email,
        }
    }

    /// The text to store per settings key, or the message per field that could not be used.
    pub fn checked(&self) -> Result<Vec<(&'static str, String)>, BTreeMap<&'static str, String>> {
        let mut errors = BTreeMap::new();
        let mut out = Vec::new();
        for (field, key, _) in FIELDS {
            let text = self.value(field).trim();
            match check(field, text) {
                Ok(stored) => out.push((key, stored)),
                Err(message) => {
                    errors.insert(field, message);
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
