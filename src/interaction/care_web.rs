//! Care pages and API: the work list, recording interventions, the effect report.

use super::care::{self, KINDS, NewIntervention};
use crate::access::{ModuleOn, Perm, can, on};
use crate::audit::Entry;
use crate::charts::bar_chart;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{FromForm, State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

type Who<'r> = Perm<'r, can::RecordInterventions>;

async fn audited_worklist(
    state: &AppState,
    who: &Who<'_>,
    zh: bool,
) -> AppResult<Vec<care::WorkRow>> {
    let rows = care::worklist(&state.db, who, zh).await?;
    Entry::new(Some(who.id), "care.worklist", "risk_flags")
        .detail(json!({"rows": rows.len()}))
        .write(&state.db)
        .await?;
    Ok(rows)
}

#[get("/care/worklist")]
pub async fn api_care_worklist(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let items = audited_worklist(state, &who, false).await?;
    let n = items.len();
    Ok(Json(
        json!({"items": items, "total": n, "page": 1, "per_page": n.max(1)}),
    ))
}

#[post("/interventions", data = "<body>")]
pub async fn api_record_intervention(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    body: Json<NewIntervention>,
) -> AppResult<(Status, Json<crate::entity::interventions::Model>)> {
    Ok((
        Status::Created,
        Json(care::record(&state.db, &who, &body).await?),
    ))
}

#[get("/care/effect")]
pub async fn api_care_effect(
    _on: ModuleOn<on::Messages>,
    _who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<care::Effect>> {
    Ok(Json(care::effect(&state.db).await?))
}

async fn page(
    ctx: &Ctx<'_>,
    state: &AppState,
    who: &Who<'_>,
    error: Option<String>,
) -> AppResult<Template> {
    let zh = ctx.lang == Lang::Zh;
    let rows = audited_worklist(state, who, zh).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"r": r, "name": if zh { &r.name_zh } else { &r.name_en },
                   "level_label": ctx.t(&format!("interaction.care.level.{}", r.level))})
        })
        .collect();
    Ok(ctx.render(
        "interaction/care",
        "interaction.care.title",
        json!({"items": items, "error": error, "today": super::util::now().date_naive().to_string(),
               "kinds": KINDS.iter().map(|k| json!({"code": k, "label": ctx.t(&format!("interaction.care.kind.{k}"))})).collect::<Vec<_>>()}),
    ))
}

#[get("/care")]
pub async fn care_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Template> {
    page(&ctx, state, &who, None).await
}

#[derive(FromForm)]
pub struct CareForm {
    #[field(name = "_csrf", default = String::new())]
    csrf: String,
    #[field(default = 0)]
    student_id: i64,
    flag_id: Option<i64>,
    #[field(default = String::new())]
    kind: String,
    #[field(default = String::new())]
    notes: String,
    #[field(default = String::new())]
    happened_on: String,
    #[field(default = String::new())]
    follow_up_on: String,
}

#[post("/care", data = "<form>")]
pub async fn care_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    form: Form<CareForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(&form.csrf)?;
    let n = NewIntervention {
        student_id: form.student_id,
        kind: form.kind.clone(),
        notes: form.notes.clone(),
        happened_on: Some(form.happened_on.clone()),
        follow_up_on: Some(form.follow_up_on.clone()),
        outcome: None,
        flag_id: form.flag_id,
    };
    match care::record(&state.db, &who, &n).await {
        Ok(_) => Ok(Ok(Redirect::to("/care"))),
        Err(AppError::Unprocessable { message, .. }) => {
            let p = page(&ctx, state, &who, Some(message)).await?;
            Ok(Err((Status::UnprocessableEntity, p)))
        }
        Err(e) => Err(e),
    }
}

#[get("/care/effect")]
pub async fn effect_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    _who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let e = care::effect(&state.db).await?;
    let label = |l: &str| {
        if l == "all" {
            ctx.t("interaction.care.all_levels")
        } else {
            ctx.t(&format!("interaction.care.level.{l}"))
        }
    };
    let mut bars = Vec::new();
    for c in &e.comparisons {
        if let Some(v) = c.care.mean_change {
            bars.push((
                format!(
                    "{} · {}",
                    label(&c.level),
                    ctx.t("interaction.care.with_care")
                ),
                v,
            ));
        }
        if let Some(v) = c.no_care.mean_change {
            bars.push((
                format!(
                    "{} · {}",
                    label(&c.level),
                    ctx.t("interaction.care.without_care")
                ),
                v,
            ));
        }
    }
    // NOTE: the bar chart draws magnitudes; signs are in the labels' table below.
    let abs: Vec<(String, f64)> = bars
        .iter()
        .map(|(l, v)| (format!("{l} ({v:+.1})"), v.abs()))
        .collect();
    let rows: Vec<Value> = e
        .comparisons
        .iter()
        .map(|c| json!({"level": label(&c.level), "c": c}))
        .collect();
    Ok(ctx.render(
        "interaction/care_effect",
        "interaction.care.effect",
        json!({"e": e, "rows": rows, "chart": bar_chart(&abs, "")}),
    ))
}
