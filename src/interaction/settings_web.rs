//! The administrator's page for how interaction and care behave: case routing rules and queue
//! members, the answer deadline, the course-feedback thresholds, the care report's window and
//! e-mail delivery. Each value is checked before anything is stored; all are saved together in
//! one transaction, audited with the old and new values.

use super::cases::{self, CATEGORIES, QUEUES_KEY, ROUTING_KEY, Rule, SLA_KEY};
use super::{care::WINDOW_KEY, feedback, notify::EMAIL_KEY};
use crate::access::{ModuleOn, Perm, can, on};
use crate::audit::Entry;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{FromForm, State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// The settings on the page: (form field, settings key, default text).
const FIELDS: [(&str, &str, &str); 7] = [
    ("routing", ROUTING_KEY, cases::DEFAULT_ROUTING),
    ("queues", QUEUES_KEY, "{}"),
    ("sla_hours", SLA_KEY, "72"),
    ("min_responses", feedback::MIN_KEY, "5"),
    ("open_days", feedback::OPEN_DAYS_KEY, "21"),
    ("window_weeks", WINDOW_KEY, "6"),
    ("email", EMAIL_KEY, "off"),
];

#[derive(FromForm, Default)]
pub struct SettingsForm {
    #[field(default = String::new())]
    routing: String,
    #[field(default = String::new())]
    queues: String,
    #[field(default = String::new())]
    sla_hours: String,
    #[field(default = String::new())]
    min_responses: String,
    #[field(default = String::new())]
    open_days: String,
    #[field(default = String::new())]
    window_weeks: String,
    #[field(default = String::new())]
    email: String,
    #[field(name = "_csrf", default = String::new())]
    csrf: String,
}

impl SettingsForm {
    fn value(&self, field: &str) -> &str {
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
    fn checked(&self) -> Result<Vec<(&'static str, String)>, BTreeMap<&'static str, String>> {
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
fn check(field: &str, text: &str) -> Result<String, String> {
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

async fn current(db: &sea_orm::DatabaseConnection) -> AppResult<HashMap<&'static str, String>> {
    let mut values = HashMap::new();
    for (field, key, default) in FIELDS {
        let stored = crate::settings::get(db, key).await?;
        values.insert(field, stored.unwrap_or_else(|| default.to_string()));
    }
    Ok(values)
}

fn render(
    ctx: &Ctx<'_>,
    values: &HashMap<&'static str, String>,
    errors: &BTreeMap<&'static str, String>,
    saved: bool,
) -> Template {
    let fields: Vec<Value> = FIELDS
        .iter()
        .map(|(field, key, _)| {
            json!({"name": field, "key": key, "value": values.get(field),
                   "label": ctx.t(&format!("interaction.settings.{field}")),
                   "hint": ctx.t(&format!("interaction.settings.{field}_hint")),
                   "error": errors.get(field)})
        })
        .collect();
    ctx.render(
        "interaction/settings",
        "interaction.settings.title",
        json!({"fields": fields, "saved": saved, "has_errors": !errors.is_empty()}),
    )
}

#[get("/cases/settings?<saved>")]
pub async fn settings_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    saved: Option<bool>,
) -> AppResult<Template> {
    let values = current(&state.db).await?;
    Ok(render(
        &ctx,
        &values,
        &BTreeMap::new(),
        saved.unwrap_or(false),
    ))
}

#[post("/cases/settings", data = "<form>")]
pub async fn settings_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    form: Form<SettingsForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(&form.csrf)?;
    let chosen = match form.checked() {
        Ok(c) => c,
        Err(errors) => {
            let typed: HashMap<&'static str, String> = FIELDS
                .iter()
                .map(|(field, _, _)| (*field, form.value(field).to_string()))
                .collect();
            return Ok(Err((
                Status::UnprocessableEntity,
                render(&ctx, &typed, &errors, false),
            )));
        }
    };
    let txn = crate::db::write_txn(&state.db).await?;
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
        Entry::new(Some(who.id), "interaction.settings", "setting")
            .change(Value::Object(before), Value::Object(after))
            .write(&txn)
            .await?;
    }
    txn.commit().await.map_err(AppError::from)?;
    Ok(Ok(Redirect::to("/cases/settings?saved=true")))
}
