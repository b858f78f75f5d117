//! The mining API under /api/v1: runs (list, one, start), flags (scoped list, feedback), the
//! suggestion rules (list with their matches, add, change, delete), the saved scoring formulas
//! (list, save, activate, delete), the formula trial run and a student's own suggestions.

use super::dto::{
    FeedbackAnswer, FeedbackRequest, FlagsQuery, FormulaActiveRequest, FormulaList, FormulaState,
    LangQuery, MyRecommendations, NewRuleRequest, PageQuery, RuleItem, RuleList, RulePatchRequest,
    RunAnswerStatus, RunDetail, RunStatusAnswer, SaveFormulaRequest, StartRequest, TermQuery,
    TrialRequest,
};
use super::service::{self, FlagFilter, FlagRequest, FlagRow, MySuggestions, RunRow};
use super::trial::{self, FormulaInput, TrialAnswer};
use super::{formula, jobs, rules};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::i18n::Lang;
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, delete, get, post, put};

/// Mining runs, newest first (paged): status, progress, model, dates.
#[utoipa::path(
    params(PageQuery),
    responses(
        (status = 200, description = "One page of runs", body = Page<RunRow>),
    )
)]
#[get("/mining/runs?<q..>")]
pub async fn api_runs(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    q: PageQuery,
) -> AppResult<Json<Page<RunRow>>> {
    Ok(Json(
        service::runs(&state.db, PageReq::new(q.page, q.per_page)).await?,
    ))
}

/// One mining run with its metrics (models against baselines, fairness, clusters) and
/// feedback counts.
#[utoipa::path(
    params(("id" = i64, Path, description = "The run")),
    responses(
        (status = 200, description = "The run", body = RunDetail),
        (status = 404, description = "No such run", body = ErrorBody),
    )
)]
#[get("/mining/runs/<id>")]
pub async fn api_run(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<RunDetail>> {
    let (run, feedback) = service::run_detail(&state.db, id).await?;
    Ok(Json(RunDetail { run, feedback }))
}

/// Start a mining run in the background (`{"confirm": true}`); 202 with its id.
#[utoipa::path(
    request_body = StartRequest,
    responses(
        (status = 202, description = "Queued", body = RunStatusAnswer),
        (status = 409, description = "A run is already queued or running", body = ErrorBody),
        (status = 422, description = "Not confirmed, or a body of the wrong shape", body = ErrorBody),
    )
)]
#[post("/mining/runs", format = "json", data = "<body>")]
pub async fn api_start_run(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<StartRequest>,
) -> AppResult<(Status, Json<RunStatusAnswer>)> {
    if !body.confirm {
        return Err(AppError::unprocessable(
            "not_confirmed",
            "send {\"confirm\": true}",
        ));
    }
    let id = jobs::start(&state.db, &state.jobs, Some(user.id), "manual").await?;
    Ok((
        Status::Accepted,
        Json(RunStatusAnswer {
            id,
            status: RunAnswerStatus::Queued,
        }),
    ))
}

/// Cancels a queued or running run (202 `cancelling` while its worker stops at its next step;
/// 200 `cancelled` when no live instance held it); 409 `not_running` otherwise.
#[utoipa::path(
    params(("id" = i64, Path, description = "The run")),
    responses(
        (status = 200, description = "Cancelled (no live instance held it)", body = RunStatusAnswer),
        (status = 202, description = "Cancelling: its worker stops at its next step", body = RunStatusAnswer),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 409, description = "The run is not queued or running", body = ErrorBody),
    )
)]
#[post("/mining/runs/<id>/cancel")]
pub async fn api_cancel_run(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<(Status, Json<RunStatusAnswer>)> {
    let status = super::run::cancel(&state.db, user.id, id).await?;
    let (code, status) = if status == "cancelling" {
        (Status::Accepted, RunAnswerStatus::Cancelling)
    } else {
        (Status::Ok, RunAnswerStatus::Cancelled)
    };
    Ok((code, Json(RunStatusAnswer { id, status })))
}

/// Risk flags of the latest run (or `run`), riskiest first, filtered by `level`, `department`
/// and `formula`; teachers see their students only.
#[utoipa::path(
    params(FlagsQuery),
    responses(
        (status = 200, description = "One page of flags", body = Page<FlagRow>),
        (status = 400, description = "An unknown level or formula filter", body = ErrorBody),
        (status = 422, description = "A query parameter is not one of its documented values", body = ErrorBody),
        (status = 404, description = "No such run, or no finished run yet", body = ErrorBody),
    )
)]
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

/// Staff verdict on a flag: `{"feedback": "useful"|"not_useful"|"wrong"}`.
#[utoipa::path(
    params(("id" = i64, Path, description = "The flag")),
    request_body = FeedbackRequest,
    responses(
        (status = 200, description = "Recorded", body = FeedbackAnswer),
        (status = 400, description = "Malformed body, or an unknown verdict", body = ErrorBody),
        (status = 403, description = "Not allowed, not your student, or the module is off", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 422, description = "A body of the wrong shape", body = ErrorBody),
    )
)]
#[post("/mining/flags/<id>/feedback", format = "json", data = "<body>")]
pub async fn api_flag_feedback(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewMining>,
    state: &State<AppState>,
    id: i64,
    body: Json<FeedbackRequest>,
) -> AppResult<Json<FeedbackAnswer>> {
    service::feedback(&state.db, &user, id, &body.feedback).await?;
    Ok(Json(FeedbackAnswer {
        id,
        feedback: body.into_inner().feedback,
    }))
}

/// Try a scoring formula (`weights`, `threshold`, optional `department_id`) on the latest
/// run's students without saving it.
#[utoipa::path(
    request_body = TrialRequest,
    responses(
        (status = 200, description = "The trial's result (and a token to save it when it passed)", body = TrialAnswer),
        (status = 404, description = "No finished run to try it on", body = ErrorBody),
        (status = 422, description = "A bad formula, or a body of the wrong shape", body = ErrorBody),
    )
)]
#[post("/mining/formula/trial", format = "json", data = "<body>")]
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

/// Suggestion rules, most important first, each with how many students of the latest run its
/// trigger matches (`matches`, `match_sample`).
#[utoipa::path(
    responses(
        (status = 200, description = "The rules", body = RuleList),
    )
)]
#[get("/mining/rules")]
pub async fn api_rules(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Json<RuleList>> {
    let (all, matched) = service::rules_with_matches(&state.db).await?;
    let items = all
        .iter()
        .map(|r| {
            let m = matched
                .as_ref()
                .map(|m| m.by_rule.get(&r.id).cloned().unwrap_or_default());
            RuleItem::new(r, m.as_ref())
        })
        .collect();
    Ok(Json(RuleList {
        items,
        match_run: matched.map(|m| m.run),
    }))
}

/// Add a suggestion rule; 422 `bad_trigger`/`bad_code`/`empty_text`, 409 `duplicate_code`.
#[utoipa::path(
    request_body = NewRuleRequest,
    responses(
        (status = 201, description = "Added", body = RuleItem),
        (status = 409, description = "A rule with this code exists", body = ErrorBody),
        (status = 422, description = "A bad trigger, code or text, or a body of the wrong shape", body = ErrorBody),
    )
)]
#[post("/mining/rules", format = "json", data = "<body>")]
pub async fn api_rule_create(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<NewRuleRequest>,
) -> AppResult<(Status, Json<RuleItem>)> {
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
    Ok((Status::Created, Json(RuleItem::new(&row, None))))
}

/// Change a suggestion rule: any of `trigger`, `text_zh`, `text_en`, `priority`, `is_active`.
#[utoipa::path(
    params(("id" = i64, Path, description = "The rule")),
    request_body = RulePatchRequest,
    responses(
        (status = 200, description = "Changed", body = RuleItem),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 422, description = "A bad trigger or text, or a body of the wrong shape", body = ErrorBody),
    )
)]
#[put("/mining/rules/<id>", format = "json", data = "<body>")]
pub async fn api_rule_update(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    body: Json<RulePatchRequest>,
) -> AppResult<Json<RuleItem>> {
    let b = body.into_inner();
    let patch = rules::RulePatch {
        trigger: b.trigger,
        text_zh: b.text_zh,
        text_en: b.text_en,
        priority: b.priority,
        is_active: b.is_active,
    };
    let row = rules::update(&state.db, user.id, id, &patch).await?;
    Ok(Json(RuleItem::new(&row, None)))
}

/// Delete a suggestion rule; 204.
#[utoipa::path(
    params(("id" = i64, Path, description = "The rule")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such rule", body = ErrorBody),
    )
)]
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

/// Saved scoring formulas, active first: scope, weights, threshold, who saved it and when.
#[utoipa::path(
    responses(
        (status = 200, description = "The saved formulas", body = FormulaList),
    )
)]
#[get("/mining/formulas")]
pub async fn api_formulas(
    _on: ModuleOn<on::Mining>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Json<FormulaList>> {
    Ok(Json(FormulaList {
        items: formula::list(&state.db).await?,
    }))
}

/// Save a scoring formula (with the token of its passed trial); active formulas score every
/// later run.
#[utoipa::path(
    request_body = SaveFormulaRequest,
    responses(
        (status = 201, description = "Saved", body = FormulaState),
        (status = 409, description = "A formula with this name exists", body = ErrorBody),
        (status = 422, description = "A bad formula, no passed trial, or a body of the wrong shape", body = ErrorBody),
    )
)]
#[post("/mining/formulas", format = "json", data = "<body>")]
pub async fn api_formula_save(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    body: Json<SaveFormulaRequest>,
) -> AppResult<(Status, Json<FormulaState>)> {
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
        Json(FormulaState {
            id,
            is_active: body.is_active,
        }),
    ))
}

/// Activate or deactivate a saved formula; one active formula per department and one for all.
#[utoipa::path(
    params(("id" = i64, Path, description = "The formula")),
    request_body = FormulaActiveRequest,
    responses(
        (status = 200, description = "Changed", body = FormulaState),
        (status = 404, description = "No such formula", body = ErrorBody),
        (status = 422, description = "A body of the wrong shape", body = ErrorBody),
    )
)]
#[put("/mining/formulas/<id>", format = "json", data = "<body>")]
pub async fn api_formula_update(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    body: Json<FormulaActiveRequest>,
) -> AppResult<Json<FormulaState>> {
    formula::set_active(&state.db, user.id, id, body.is_active).await?;
    Ok(Json(FormulaState {
        id,
        is_active: body.is_active,
    }))
}

/// Delete a saved scoring formula; runs keep their stored scores; 204.
#[utoipa::path(
    params(("id" = i64, Path, description = "The formula")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such formula", body = ErrorBody),
    )
)]
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

/// The signed-in student's own suggestions (their risk level only when the setting allows).
#[utoipa::path(
    params(LangQuery),
    responses(
        (status = 200, description = "The suggestions", body = MySuggestions),
    )
)]
#[get("/me/suggestions?<q..>")]
pub async fn api_my_suggestions(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
    q: LangQuery,
) -> AppResult<Json<MySuggestions>> {
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::En);
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

/// Courses recommended to the signed-in student in a term: open to them, fitting their
/// timetable, ranked by how students with their record did in them, each with its reason.
#[utoipa::path(
    params(TermQuery),
    responses(
        (status = 200, description = "Up to five courses (none before the first grades or mining run)", body = MyRecommendations),
        (status = 404, description = "No such term, or the caller has no student record", body = ErrorBody),
    )
)]
#[get("/me/recommendations?<q..>")]
pub async fn api_my_recommendations(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
    q: TermQuery,
) -> AppResult<Json<MyRecommendations>> {
    let student = user.student_id.ok_or(AppError::NotFound)?;
    let (term, items) = service::my_recommendations(&state.db, student, q.term.as_deref()).await?;
    Ok(Json(MyRecommendations {
        term: term.code,
        items,
    }))
}
