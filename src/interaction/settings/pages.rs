//! The administrator's page for how interaction and care behave: case routing rules and queue
//! members, the answer deadline, the course-feedback thresholds, the care report's window and
//! e-mail delivery. Each value is checked before anything is stored.

use super::forms::SettingsForm;
use super::service::{self, FIELDS};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

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
    let values = service::current(&state.db).await?;
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
    form: Csrf<SettingsForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
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
    service::save(&state.db, who.id, chosen).await?;
    Ok(Ok(Redirect::to("/cases/settings?saved=true")))
}
