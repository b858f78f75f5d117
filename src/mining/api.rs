//! The mining API under /api/v1: runs (list, one, start), flags (scoped list, feedback), the
//! formula trial run and a student's own suggestions.

use super::formula::{self, Formula};
use super::service::{self, FlagFilter, FlagRow, MySuggestions, RunRow};
use super::{jobs, pages};
use crate::access::{ModuleOn, Perm, can, on};
use crate::audit::Entry;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[get("/mining/runs?<page>&<per_page>")]
pub async fn api_runs(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> AppResult<Json<Page<RunRow>>> {
    Ok(Json(
        service::runs(&state.db, PageReq::new(page, per_page)).await?,
    ))
}

#[get("/mining/runs/<id>")]
pub async fn api_run(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Value>> {
    let r = service::run(&state.db, id).await?;
    let feedback = service::feedback_counts(&state.db, id).await?;
    let mut v = json!(service::run_row(r, true));
    v["feedback"] = feedback;
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Must be true: starting a run is deliberate.
    pub confirm: bool,
}

#[post("/mining/runs", data = "<body>")]
pub async fn api_start_run(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<StartRequest>,
) -> AppResult<(Status, Json<Value>)> {
    if !body.confirm {
        return Err(AppError::unprocessable(
            "not_confirmed",
            "send {\"confirm\": true}",
        ));
    }
    let id = jobs::start(&state.db, Some(user.id), "manual").await?;
    Ok((
        Status::Accepted,
        Json(json!({"id": id, "status": "queued"})),
    ))
}

#[get("/mining/flags?<level>&<department>&<run>&<page>&<per_page>&<lang>")]
#[allow(clippy::too_many_arguments)]
pub async fn api_flags(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewMining>,
    state: &State<AppState>,
    level: Option<String>,
    department: Option<i64>,
    run: Option<i64>,
    page: Option<u64>,
    per_page: Option<u64>,
    lang: Option<String>,
) -> AppResult<Json<Page<FlagRow>>> {
    let db = &state.db;
    let scope = service::scope_of(&user).ok_or(AppError::Forbidden)?;
    let run = match run {
        Some(id) => service::run(db, id).await?,
        None => service::latest_run(db).await?.ok_or(AppError::NotFound)?,
    };
    let lang = lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::En);
    let f = FlagFilter {
        level: level.filter(|l| !l.is_empty()),
        department,
        at_risk_only: false,
    };
    let page = service::flags(db, &run, scope, &f, PageReq::new(page, per_page), lang).await?;
    Entry::new(Some(user.id), "mining.flags.read", "risk_flag")
        .detail(json!({"run": run.id, "level": f.level, "department": department, "rows": page.items.len()}))
        .write(db)
        .await?;
    Ok(Json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// useful, not_useful or wrong.
    pub feedback: String,
}

#[post("/mining/flags/<id>/feedback", data = "<body>")]
pub async fn api_flag_feedback(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewMining>,
    state: &State<AppState>,
    id: i64,
    body: Json<FeedbackRequest>,
) -> AppResult<Json<Value>> {
    service::feedback(&state.db, &user, id, &body.feedback).await?;
    Ok(Json(json!({"id": id, "feedback": body.feedback})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialRequest {
    pub weights: BTreeMap<String, f64>,
    pub threshold: f64,
    pub department_id: Option<i64>,
}

#[post("/mining/formula/trial", data = "<body>")]
pub async fn api_formula_trial(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<TrialRequest>,
) -> AppResult<Json<formula::Trial>> {
    let text = Formula::weights_text(&body.weights);
    let weights =
        Formula::parse_weights(&text).map_err(|m| AppError::unprocessable("invalid_formula", m))?;
    if !body.threshold.is_finite() {
        return Err(AppError::unprocessable(
            "invalid_formula",
            "threshold must be a number",
        ));
    }
    let f = Formula {
        name: "trial".into(),
        department_id: body.department_id,
        weights,
        threshold: body.threshold,
    };
    pages::trial_on_latest(state, &f)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::unprocessable("no_run", "no finished run to try the formula on"))
}

#[get("/me/suggestions?<lang>")]
pub async fn api_my_suggestions(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
    lang: Option<String>,
) -> AppResult<Json<MySuggestions>> {
    let lang = lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::En);
    match user.student_id {
        Some(s) => Ok(Json(service::my_suggestions(&state.db, s, lang).await?)),
        None => Ok(Json(MySuggestions {
            suggestions: Vec::new(),
            level: None,
            score: None,
            as_of: None,
        })),
    }
}
