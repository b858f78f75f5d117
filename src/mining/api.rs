//! The mining API under /api/v1: runs (list, one, start), flags (scoped list, feedback), the
//! suggestion rules (list with their matches, add, change, delete), the saved scoring formulas
//! (list, save, activate, delete), the formula trial run and a student's own suggestions.

use super::service::{self, FlagFilter, FlagRequest, FlagRow, MySuggestions, RunRow};
use super::trial::{self, FormulaInput, TrialAnswer};
use super::{formula, jobs, rules};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{FromForm, State, delete, get, post, put};
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
    let (run, feedback) = service::run_detail(&state.db, id).await?;
    let mut v = json!(run);
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
    let id = jobs::start(&state.db, &state.jobs, Some(user.id), "manual").await?;
    Ok((
        Status::Accepted,
        Json(json!({"id": id, "status": "queued"})),
    ))
}

/// Cancels a queued or running run (202 `cancelling` while its worker stops at its next step;
/// 200 `cancelled` when no live instance held it); 409 `not_running` otherwise.
#[post("/mining/runs/<id>/cancel")]
pub async fn api_cancel_run(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<(Status, Json<Value>)> {
    let status = super::run::cancel(&state.db, user.id, id).await?;
    let code = if status == "cancelling" {
        Status::Accepted
    } else {
        Status::Ok
    };
    Ok((code, Json(json!({"id": id, "status": status}))))
}

/// The flag list's query: filters, the run (default: the latest finished one), the page and
/// the language of the reasons.
#[derive(FromForm)]
pub struct FlagsQuery {
    level: Option<String>,
    department: Option<i64>,
    formula: Option<String>,
    run: Option<i64>,
    page: Option<u64>,
    per_page: Option<u64>,
    lang: Option<String>,
}

#[get("/mining/flags?<q..>")]
pub async fn api_flags(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewMining>,
    state: &State<AppState>,
    q: FlagsQuery,
) -> AppResult<Json<Page<FlagRow>>> {
    let req = FlagRequest {
        run: q.run,
        filter: FlagFilter {
            level: q.level.filter(|l| !l.is_empty()),
            department: q.department,
            at_risk_only: false,
            formula: q.formula.filter(|f| !f.is_empty()),
        },
        page: PageReq::new(q.page, q.per_page),
        lang: q.lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::En),
    };
    let (_, page) = service::read_flags(&state.db, &user, &req)
        .await?
        .ok_or(AppError::NotFound)?;
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
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<TrialRequest>,
) -> AppResult<Json<TrialAnswer>> {
    let input = FormulaInput {
        name: "trial",
        weights: &body.weights,
        threshold: body.threshold,
        department_id: body.department_id,
    };
    Ok(Json(
        trial::try_input(&state.db, &state.keys, user.id, &input).await?,
    ))
}

fn rule_json(r: &crate::entity::suggestion_rules::Model, m: Option<&rules::RuleMatches>) -> Value {
    let mut v = json!({"id": r.id, "code": r.code, "priority": r.priority,
        "trigger": serde_json::from_str::<Value>(&r.trigger).unwrap_or(Value::Null),
        "text_zh": r.text_zh, "text_en": r.text_en, "is_active": r.is_active});
    if let Some(m) = m {
        v["matches"] = json!(m.count);
        v["match_sample"] = json!(
            m.sample
                .iter()
                .map(|(id, no)| json!({"student_id": id, "student_no": no}))
                .collect::<Vec<_>>()
        );
    }
    v
}

#[get("/mining/rules")]
pub async fn api_rules(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let (all, matched) = service::rules_with_matches(&state.db).await?;
    let items: Vec<Value> = all
        .iter()
        .map(|r| {
            let m = matched
                .as_ref()
                .map(|m| m.by_rule.get(&r.id).cloned().unwrap_or_default());
            rule_json(r, m.as_ref())
        })
        .collect();
    Ok(Json(
        json!({"items": items, "match_run": matched.map(|m| m.run)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRuleRequest {
    pub code: String,
    #[serde(default)]
    pub priority: i64,
    /// A trigger object, or its JSON text.
    pub trigger: Value,
    pub text_zh: String,
    pub text_en: String,
    #[serde(default = "yes", alias = "enabled")]
    pub is_active: bool,
}

fn yes() -> bool {
    true
}

#[post("/mining/rules", data = "<body>")]
pub async fn api_rule_create(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<NewRuleRequest>,
) -> AppResult<(Status, Json<Value>)> {
    let b = body.into_inner();
    let input = rules::NewRule {
        code: b.code,
        priority: b.priority,
        trigger: b.trigger,
        text_zh: b.text_zh,
        text_en: b.text_en,
        is_active: b.is_active,
    };
    let row = service::create_rule(&state.db, user.id, &input).await?;
    Ok((Status::Created, Json(rule_json(&row, None))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePatchRequest {
    pub trigger: Option<Value>,
    pub text_zh: Option<String>,
    pub text_en: Option<String>,
    pub priority: Option<i64>,
    #[serde(alias = "enabled")]
    pub is_active: Option<bool>,
}

#[put("/mining/rules/<id>", data = "<body>")]
pub async fn api_rule_update(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    body: Json<RulePatchRequest>,
) -> AppResult<Json<Value>> {
    let b = body.into_inner();
    let patch = rules::RulePatch {
        trigger: b.trigger,
        text_zh: b.text_zh,
        text_en: b.text_en,
        priority: b.priority,
        is_active: b.is_active,
    };
    let row = rules::update(&state.db, user.id, id, &patch).await?;
    Ok(Json(rule_json(&row, None)))
}

#[delete("/mining/rules/<id>")]
pub async fn api_rule_delete(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Status> {
    rules::delete(&state.db, user.id, id).await?;
    Ok(Status::NoContent)
}

#[get("/mining/formulas")]
pub async fn api_formulas(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    Ok(Json(json!({"items": formula::list(&state.db).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveFormulaRequest {
    pub name: String,
    pub weights: BTreeMap<String, f64>,
    pub threshold: f64,
    pub department_id: Option<i64>,
    /// Whether runs use it from now on (default true; the scope's active one is switched off).
    #[serde(default = "yes")]
    pub is_active: bool,
    /// The `trial_token` of a passed trial of this same formula
    /// (`POST /mining/formula/trial`) on the latest finished run.
    #[serde(default)]
    pub trial_token: String,
}

#[post("/mining/formulas", data = "<body>")]
pub async fn api_formula_save(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<SaveFormulaRequest>,
) -> AppResult<(Status, Json<Value>)> {
    let input = FormulaInput {
        name: &body.name,
        weights: &body.weights,
        threshold: body.threshold,
        department_id: body.department_id,
    };
    let id = trial::save_input(
        &state.db,
        &state.keys,
        user.id,
        &input,
        body.is_active,
        &body.trial_token,
    )
    .await?;
    Ok((
        Status::Created,
        Json(json!({"id": id, "is_active": body.is_active})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormulaActiveRequest {
    pub is_active: bool,
}

#[put("/mining/formulas/<id>", data = "<body>")]
pub async fn api_formula_update(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    body: Json<FormulaActiveRequest>,
) -> AppResult<Json<Value>> {
    formula::set_active(&state.db, user.id, id, body.is_active).await?;
    Ok(Json(json!({"id": id, "is_active": body.is_active})))
}

#[delete("/mining/formulas/<id>")]
pub async fn api_formula_delete(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Status> {
    formula::delete(&state.db, user.id, id).await?;
    Ok(Status::NoContent)
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

/// One-line descriptions of this module's API routes by handler name, for the API reference.
pub fn api_summary(name: &str) -> Option<&'static str> {
    let text = match name {
        "api_runs" => "Mining runs, newest first (paged): status, progress, model, dates.",
        "api_run" => {
            "One mining run with its metrics (models against baselines, fairness, clusters) and feedback counts."
        }
        "api_start_run" => {
            "Start a mining run in the background (`{\"confirm\": true}`); 202 with its id."
        }
        "api_cancel_run" => {
            "Cancel a queued or running run: 202 `cancelling` (its worker stops at its next step), 200 `cancelled` when no live instance held it, 409 `not_running`."
        }
        "api_flags" => {
            "Risk flags of the latest run (or `run`), riskiest first, filtered by `level`, `department` and `formula` (`flagged`, `only`: by the active formula but not the model, `model_only`); each with `formula_score` and `formula_flagged`; teachers see their students only."
        }
        "api_flag_feedback" => {
            "Staff verdict on a flag: `{\"feedback\": \"useful\"|\"not_useful\"|\"wrong\"}`."
        }
        "api_formula_trial" => {
            "Try a scoring formula (`weights`, `threshold`, optional `department_id`) on the latest run's students without saving it."
        }
        "api_rules" => {
            "Suggestion rules, most important first, each with how many students of the latest run its trigger matches (`matches`, `match_sample`)."
        }
        "api_rule_create" => {
            "Add a suggestion rule (`code`, `priority`, `trigger`, `text_zh`, `text_en`, `is_active`); 422 `bad_trigger`/`bad_code`/`empty_text`, 409 `duplicate_code`."
        }
        "api_rule_update" => {
            "Change a suggestion rule: any of `trigger`, `text_zh`, `text_en`, `priority`, `is_active` (enable/disable)."
        }
        "api_rule_delete" => "Delete a suggestion rule; 204.",
        "api_formulas" => {
            "Saved scoring formulas, active first: scope, weights, threshold, who saved it and when."
        }
        "api_formula_save" => {
            "Save a scoring formula (`name`, `weights`, `threshold`, optional `department_id`, `is_active` default true); active formulas score every later run."
        }
        "api_formula_update" => {
            "Activate or deactivate a saved formula (`{\"is_active\": bool}`); one active formula per department and one for all."
        }
        "api_formula_delete" => {
            "Delete a saved scoring formula; runs keep their stored scores; 204."
        }
        "api_my_suggestions" => {
            "The signed-in student's own suggestions (their risk level only when the setting allows)."
        }
        _ => return None,
    };
    Some(text)
}
