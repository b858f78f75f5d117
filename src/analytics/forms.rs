//! The settings page's form: every value as typed under `v.<field>` (thresholds, weights
//! `w_<component>`, credits per term, schedule hours, and `<cell>_<name|strategy>_<zh|en>`),
//! checked field by field.

use super::settings::{CELLS, CellText, ValueSettings, Weights};
use rocket::FromForm;
use std::collections::{BTreeMap, HashMap};

#[derive(FromForm, Default)]
pub struct ValueSettingsForm {
    #[field(default = HashMap::new())]
    pub v: HashMap<String, String>,
}

impl ValueSettingsForm {
    pub fn value(&self, field: &str) -> String {
        self.v.get(field).cloned().unwrap_or_default()
    }

    /// The settings the form asks for, or the refusals per field (code `number` or the
    /// settings' own check's code).
    pub fn parse(&self, old: &ValueSettings) -> Result<ValueSettings, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let mut number = |field: &str, fallback: f64| -> f64 {
            match self.value(field).trim().parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                _ => {
                    errors.insert(field.to_string(), "number".to_string());
                    fallback
                }
            }
        };
        let mut s = old.clone();
        s.standing_at = number("standing_at", old.standing_at);
        s.relationship_at = number("relationship_at", old.relationship_at);
        s.credits_per_term = number("credits_per_term", old.credits_per_term);
        let hours = number("schedule_hours", f64::from(old.schedule_hours));
        for name in Weights::STANDING.iter().chain(Weights::RELATIONSHIP.iter()) {
            let w = number(&format!("w_{name}"), old.weights.get(name));
            s.weights.set(name, w);
        }
        s.schedule_hours = if hours.fract() == 0.0 && (0.0..=720.0).contains(&hours) {
            hours as u32
        } else {
            errors
                .entry("schedule_hours".into())
                .or_insert_with(|| "schedule".into());
            old.schedule_hours
        };
        s.cells = CELLS
            .iter()
            .map(|code| CellText {
                code: code.to_string(),
                name_zh: self.value(&format!("{code}_name_zh")).trim().to_string(),
                name_en: self.value(&format!("{code}_name_en")).trim().to_string(),
                strategy_zh: self
                    .value(&format!("{code}_strategy_zh"))
                    .trim()
                    .to_string(),
                strategy_en: self
                    .value(&format!("{code}_strategy_en"))
                    .trim()
                    .to_string(),
            })
            .collect();
        if errors.is_empty()
            && let Some((field, code)) = s.problem()
        {
            errors.insert(field, code.to_string());
        }
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}
