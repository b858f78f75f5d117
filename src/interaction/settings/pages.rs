//! The administrator's page for how interaction and care behave: case routing rules and queue
//! members, the answer deadline, the course-feedback thresholds, the care report's window and
//! e-mail delivery. Every value is a labelled field (rules and queues are rows), checked before
//! anything is stored.

use super::forms::SettingsForm;
use super::service::{self, FIELDS, Refusal};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::AppResult;
use crate::interaction::cases::service::{CATEGORIES, Rule};
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Blank rows offered below the rules and queues, to add one.
const BLANK_ROWS: usize = 2;

/// What the page shows: the plain values, the rules and the queues (name, user names).
struct Shown {
    values: HashMap<&'static str, String>,
    rules: Vec<Rule>,
    queues: Vec<(String, String)>,
}

fn say(ctx: &Ctx<'_>, r: &Refusal) -> String {
    crate::i18n::fill(
        &ctx.t(&format!("interaction.settings.err.{}", r.code)),
        &r.args,
    )
}

async fn render(
    ctx: &Ctx<'_>,
    state: &AppState,
    shown: &Shown,
    errors: &BTreeMap<&'static str, Refusal>,
    saved: bool,
) -> AppResult<Template> {
    let fields: Vec<Value> = FIELDS
        .iter()
        .filter(|(field, _, _)| !matches!(*field, "routing" | "queues"))
        .map(|(field, _, _)| {
            json!({"name": field, "value": shown.values.get(field),
                   "label": ctx.t(&format!("interaction.settings.{field}")),
                   "hint": ctx.t(&format!("interaction.settings.{field}_hint")),
                   "error": errors.get(field).map(|r| say(ctx, r))})
        })
        .collect();
    let mut rules: Vec<Value> = shown
        .rules
        .iter()
        .map(|r| json!({"category": r.category, "department": r.department, "queue": r.queue}))
        .collect();
    let mut queues: Vec<Value> = shown
        .queues
        .iter()
        .map(|(q, names)| json!({"name": q, "members": names}))
        .collect();
    for _ in 0..BLANK_ROWS {
        rules.push(json!({"category": "*", "department": "*", "queue": ""}));
        queues.push(json!({"name": "", "members": ""}));
    }
    let mut categories =
        vec![json!({"code": "*", "label": ctx.t("interaction.settings.any_category")})];
    categories.extend(
        CATEGORIES
            .iter()
            .map(|c| json!({"code": c, "label": ctx.t(&format!("interaction.case.category.{c}"))})),
    );
    let mut departments = vec![
        json!({"code": "*", "label": ctx.t("interaction.settings.dept_all")}),
        json!({"code": "any", "label": ctx.t("interaction.settings.dept_any")}),
        json!({"code": "none", "label": ctx.t("interaction.settings.dept_none")}),
    ];
    departments.extend(
        service::departments(&state.db, ctx.lang)
            .await?
            .into_iter()
            .map(|(id, name)| json!({"code": id.to_string(), "label": name})),
    );
    Ok(ctx.render(
        "interaction/settings",
        "interaction.settings.title",
        json!({"fields": fields, "rules": rules, "queues": queues,
               "categories": categories, "departments": departments,
               "routing_error": errors.get("routing").map(|r| say(ctx, r)),
               "queues_error": errors.get("queues").map(|r| say(ctx, r)),
               "saved": saved, "has_errors": !errors.is_empty()}),
    ))
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
    let (rules, queues) = service::rows(&state.db, &values).await?;
    let shown = Shown {
        values,
        rules,
        queues,
    };
    render(
        &ctx,
        state,
        &shown,
        &BTreeMap::new(),
        saved.unwrap_or(false),
    )
    .await
}

#[post("/cases/settings", data = "<form>")]
pub async fn settings_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    form: Csrf<SettingsForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let queue_rows = form.queue_rows();
    let queues = service::queues_text(&state.db, &queue_rows).await?;
    let chosen = match form.checked(queues) {
        Ok(c) => c,
        Err(errors) => {
            let values: HashMap<&'static str, String> = FIELDS
                .iter()
                .map(|(field, _, _)| (*field, form.value(field).to_string()))
                .collect();
            let shown = Shown {
                values,
                rules: serde_json::from_str(&form.routing_text()).unwrap_or_default(),
                queues: queue_rows
                    .into_iter()
                    .map(|(q, names)| (q, names.join(", ")))
                    .collect(),
            };
            let page = render(&ctx, state, &shown, &errors, false).await?;
            return Ok(Err((Status::UnprocessableEntity, page)));
        }
    };
    service::save(&state.db, who.id, chosen).await?;
    Ok(Ok(Redirect::to("/cases/settings?saved=true")))
}
