//! The mining pages: the administrator's overview (runs, metrics against baselines, score
//! distribution, fairness, clusters), run progress, the at-risk list (scoped for teachers) with
//! feedback buttons, the suggestion-rule and formula editors, and a student's own suggestions.

use super::formula::{self, Formula};
use super::service::{self, FlagFilter, FlagRequest, Scope};
use super::settings::{self, MiningSettings};
use super::trial::{self, TrialAnswer};
use super::{charts, jobs, rules};
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::auth::CurrentUser;
use crate::entity::job_status::JobStatus;
use crate::entity::mining_runs;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::PageReq;
use crate::state::AppState;
use crate::web::csrf::Csrf;
use crate::web::{Ctx, safe_next, url_encode};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{FromForm, State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::HashMap;

fn level_label(lang: Lang, level: &str) -> String {
    lang.t(&format!("mining.level.{level}"))
}

fn status_label(lang: Lang, status: &str) -> String {
    lang.t(&format!("mining.status.{status}"))
}

fn feedback_label(lang: Lang, f: &str) -> String {
    lang.t(&format!("mining.feedback.{f}"))
}

/// Everything the report partial shows for a finished run.
pub async fn report_data(
    state: &AppState,
    run: &mining_runs::Model,
    lang: Lang,
) -> AppResult<Value> {
    let db = &state.db;
    let m: Value = serde_json::from_str(&run.metrics).unwrap_or(Value::Null);
    let hist: Vec<(String, f64)> = m["histogram"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, v)| {
            (
                format!("{}–{}", i * 10, i * 10 + 10),
                v.as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let chosen = m["chosen"].as_str().unwrap_or("");
    let models: Vec<Value> = m["models"].as_array().cloned().unwrap_or_default();
    let confusion = models
        .iter()
        .find(|r| r["name"] == chosen)
        .map(|r| r["confusion"].clone())
        .unwrap_or(Value::Null);
    let departments: HashMap<String, String> = service::department_options(db, lang)
        .await?
        .into_iter()
        .map(|d| {
            (
                d["id"].to_string(),
                d["label"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut fair_dep: Vec<Value> = m["fairness"]["department"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for r in &mut fair_dep {
        let key = r["group"].as_str().unwrap_or("").to_string();
        r["label"] = json!(departments.get(&key).cloned().unwrap_or(key));
    }
    let mut fair_gender: Vec<Value> = m["fairness"]["gender"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for r in &mut fair_gender {
        let g = r["group"].as_str().unwrap_or("").to_string();
        let key = format!("mining.gender.{g}");
        let t = lang.t(&key);
        r["label"] = json!(if t == key { g } else { t });
    }
    let clusters = service::clusters(db, run.id, lang).await?;
    let legend: Vec<String> = clusters
        .iter()
        .map(|c| {
            format!(
                "{} ({}) — {}",
                c["label"].as_i64().unwrap_or(0) + 1,
                c["size"],
                c["description"].as_str().unwrap_or("")
            )
        })
        .collect();
    let scatter = m["clusters"]["points"]
        .as_array()
        .map(|p| charts::scatter(p, &legend, &lang.t("charts.axes_note")))
        .unwrap_or_default();
    let importances: Vec<Value> = m["importances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| json!({"label": lang.t(&format!("mining.feature.{}", r["feature"].as_str().unwrap_or(""))), "value": r["value"]}))
        .collect();
    let early = early_chart(lang, &m["early"]);
    let recommend = recommend_chart(lang, &m["recommend"]);
    let mut formula = m["formula"].clone();
    if let Some(list) = formula.get_mut("formulas").and_then(Value::as_array_mut) {
        for f in list {
            let key = f["department_id"].to_string();
            f["department"] = json!(departments.get(&key));
        }
    }
    Ok(json!({
        "m": m,
        "formula": formula,
        "confusion": confusion,
        "histogram": crate::charts::bar_chart(&hist, ""),
        "fairness": [{"title": lang.t("mining.gender"), "rows": fair_gender},
            {"title": lang.t("mining.department"), "rows": fair_dep}],
        "clusters": clusters,
        "scatter": scatter,
        "importances": importances,
        "early": early,
        "recommend": recommend,
        "feedback": service::feedback_counts(db, run.id).await?,
        "explained": m["clusters"]["explained"].as_array().map(|a| a.iter().map(|v| (v.as_f64().unwrap_or(0.0) * 1000.0).round() / 10.0).collect::<Vec<_>>()),
    }))
}

/// The course recommendations' offline figures against the popularity baseline, as bars
/// (percent): how many students took one of their five, and how many of those passed.
fn recommend_chart(lang: Lang, r: &Value) -> Option<Value> {
    let pct = |v: &Value| (v.as_f64().unwrap_or(0.0) * 1000.0).round() / 10.0;
    let ours = lang.t("mining.recommend.ours");
    let popular = lang.t("mining.recommend.popular");
    let hit = lang.t("mining.recommend.hit_rate");
    let pass = lang.t("mining.recommend.pass_rate");
    r.get("recommended").map(|_| {
        let chart = crate::charts::bar_chart(
            &[
                (
                    format!("{hit} · {ours}"),
                    pct(&r["recommended"]["hit_rate"]),
                ),
                (
                    format!("{hit} · {popular}"),
                    pct(&r["popularity"]["hit_rate"]),
                ),
                (
                    format!("{pass} · {ours}"),
                    pct(&r["recommended"]["pass_rate"]),
                ),
                (
                    format!("{pass} · {popular}"),
                    pct(&r["popularity"]["pass_rate"]),
                ),
            ],
            "%",
        );
        let note = crate::i18n::fill(
            &lang.t("mining.recommend.offline_note"),
            &[
                ("term", r["term"].as_str().unwrap_or_default().to_string()),
                ("students", r["students"].to_string()),
                ("overall", format!("{}", pct(&r["overall_pass_rate"]))),
            ],
        );
        json!({"chart": chart, "note": note})
    })
}

/// The curve of the early warning's ROC AUC by day of the term (the model and two baselines),
/// from a run's `early` points; empty when the run has none.
fn early_chart(lang: Lang, points: &Value) -> String {
    let Some(points) = points.as_array().filter(|p| !p.is_empty()) else {
        return String::new();
    };
    let line = |key: &str| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter_map(|p| Some((p["day"].as_f64()?, p[key].as_f64()?)))
            .collect()
    };
    let days: Vec<f64> = points.iter().filter_map(|p| p["day"].as_f64()).collect();
    let model = points[0]["model"].as_str().unwrap_or("");
    crate::charts::line_chart(
        &[
            (
                format!("{} ({model})", lang.t("mining.early.model")),
                line("roc_auc"),
            ),
            (
                lang.t("mining.early.missed_first"),
                line("missed_first_auc"),
            ),
            (lang.t("mining.early.prior_gpa"), line("prior_gpa_auc")),
        ],
        &days,
        (0.4, 1.0),
        0.1,
        &lang.t("mining.early.chart_label"),
    )
}

fn run_view(lang: Lang, r: mining_runs::Model) -> Value {
    let status = status_label(lang, r.status.as_str());
    let mut v = json!(service::run_row(r, false));
    v["status_label"] = json!(status);
    // NOTE: a running job's step is a code (`loading`, `training`, …); a failure's message is
    // shown as it was stored.
    if let Some(step) = v["message"].as_str() {
        let key = format!("mining.progress.{step}");
        let text = lang.t(&key);
        if text != key {
            v["message"] = json!(text);
        }
    }
    v["percent"] = json!((v["progress"].as_f64().unwrap_or(0.0) * 100.0).round());
    v
}

#[get("/mining")]
pub async fn overview(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Result<Template, Redirect>> {
    if !user.can(Permission::RunMining) {
        if user.can(Permission::ViewMining) {
            return Ok(Err(Redirect::to("/mining/flags")));
        }
        return Err(AppError::Forbidden);
    }
    Ok(Ok(overview_page(&ctx, state, None).await?))
}

/// The administrator's overview; `refused` puts a refused settings form (its input and the
/// message) back in place of the stored settings.
async fn overview_page(
    ctx: &Ctx<'_>,
    state: &State<AppState>,
    refused: Option<(Value, String)>,
) -> AppResult<Template> {
    let db = &state.db;
    let runs: Vec<Value> = service::recent_runs(db, 20)
        .await?
        .into_iter()
        .map(|r| run_view(ctx.lang, r))
        .collect();
    let latest = service::latest_run(db).await?;
    let report = match &latest {
        Some(r) => report_data(state, r, ctx.lang).await?,
        None => Value::Null,
    };
    let (set, settings_error) = match refused {
        Some((input, message)) => (input, json!(message)),
        None => (json!(settings::get(db).await?), Value::Null),
    };
    Ok(ctx.render(
        "mining/index",
        "mining.title",
        json!({"runs": runs, "latest": latest.map(|r| run_view(ctx.lang, r)), "report": report,
            "settings": set, "settings_error": settings_error,
            "departments": service::department_options(db, ctx.lang).await?}),
    ))
}

#[derive(FromForm)]
pub struct StartForm {
    confirm: bool,
}

#[post("/mining/runs", data = "<form>")]
pub async fn start_run(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    form: Csrf<StartForm>,
) -> AppResult<Redirect> {
    if !form.confirm {
        return Err(AppError::unprocessable("not_confirmed", "confirm the run"));
    }
    let id = jobs::start(&state.db, &state.jobs, Some(user.id), "manual").await?;
    Ok(Redirect::to(format!("/mining/runs/{id}")))
}

/// The cancel button of a running run.
#[post("/mining/runs/<id>/cancel", data = "<_form>")]
pub async fn cancel_run(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    super::run::cancel(&state.db, user.id, id).await?;
    Ok(Redirect::to(format!("/mining/runs/{id}")))
}

#[get("/mining/runs/<id>")]
pub async fn run_page(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let r = service::run(&state.db, id).await?;
    let running = r.status.is_live();
    let report = if r.status == JobStatus::Done {
        report_data(state, &r, ctx.lang).await?
    } else {
        Value::Null
    };
    Ok(ctx.render(
        "mining/run",
        "mining.run",
        json!({"run": run_view(ctx.lang, r), "running": running, "report": report}),
    ))
}

#[derive(FromForm)]
pub struct SettingsForm {
    medium_at: String,
    high_at: String,
    leave_medium_at: String,
    leave_high_at: String,
    students_see_level: bool,
    schedule_hours: String,
}

impl SettingsForm {
    /// The settings the form asks for (the seed kept from `old`), or the refusal's message.
    fn parse(&self, lang: Lang, old: &MiningSettings) -> Result<MiningSettings, String> {
        let num = |v: &str, key: &str| -> Result<f64, String> {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("{}: {}", lang.t(key), lang.t("mining.settings_not_number")))
        };
        let new = MiningSettings {
            medium_at: num(&self.medium_at, "mining.medium_at")?,
            high_at: num(&self.high_at, "mining.high_at")?,
            leave_medium_at: num(&self.leave_medium_at, "mining.leave_medium_at")?,
            leave_high_at: num(&self.leave_high_at, "mining.leave_high_at")?,
            students_see_level: self.students_see_level,
            schedule_hours: self.schedule_hours.trim().parse().map_err(|_| {
                format!(
                    "{}: {}",
                    lang.t("mining.schedule_hours"),
                    lang.t("mining.settings_not_number")
                )
            })?,
            seed: old.seed,
        };
        new.validate()
            .map_err(|_| lang.t("mining.settings_invalid"))?;
        Ok(new)
    }

    /// The form's input as the page shows it again.
    fn echo(&self) -> Value {
        json!({"medium_at": self.medium_at, "high_at": self.high_at,
            "leave_medium_at": self.leave_medium_at, "leave_high_at": self.leave_high_at,
            "students_see_level": self.students_see_level, "schedule_hours": self.schedule_hours})
    }
}

/// Stores the settings, or shows the overview again (422) with the message by the form and the
/// input kept, nothing stored.
#[post("/mining/settings", data = "<form>")]
pub async fn save_settings(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    form: Csrf<SettingsForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let old = settings::get(&state.db).await?;
    let refused = match form.parse(ctx.lang, &old) {
        Ok(new) => match settings::set(&state.db, user.id, &new).await {
            Ok(()) => return Ok(Ok(Redirect::to("/mining"))),
            Err(AppError::Unprocessable { .. }) => ctx.lang.t("mining.settings_invalid"),
            Err(e) => return Err(e),
        },
        Err(message) => message,
    };
    Ok(Err((
        Status::UnprocessableEntity,
        overview_page(&ctx, state, Some((form.echo(), refused))).await?,
    )))
}

/// Query string of the list filters (for the pager and the feedback buttons' return).
fn flags_query(
    level: &Option<String>,
    department: Option<i64>,
    formula: &Option<String>,
) -> String {
    let mut q = String::new();
    if let Some(l) = level {
        q.push_str(&format!("level={}&", url_encode(l)));
    }
    if let Some(f) = formula {
        q.push_str(&format!("formula={}&", url_encode(f)));
    }
    if let Some(d) = department {
        q.push_str(&format!("department={d}&"));
    }
    q
}

/// The at-risk list's query: filters and the page.
#[derive(FromForm)]
pub struct FlagsPageQuery {
    level: Option<String>,
    department: Option<i64>,
    formula: Option<String>,
    page: Option<u64>,
}

#[get("/mining/flags?<q..>")]
pub async fn flags_page(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    user: Perm<'_, can::ViewMining>,
    state: &State<AppState>,
    q: FlagsPageQuery,
) -> AppResult<Template> {
    let db = &state.db;
    let scope = service::scope_of(&user).ok_or(AppError::Forbidden)?;
    let level = q.level.filter(|l| !l.is_empty());
    let formula = q.formula.filter(|f| !f.is_empty());
    let department = q.department;
    let req = FlagRequest {
        run: None,
        filter: FlagFilter {
            level: level.clone(),
            department,
            at_risk_only: true,
            formula: formula.clone(),
        },
        page: PageReq::new(q.page, Some(50)),
        lang: ctx.lang,
    };
    let (run, list) = match service::read_flags(db, &user, &req).await? {
        Some((run, list)) => (Some(run), Some(list)),
        None => (None, None),
    };
    let pages = list.as_ref().map_or(1, |l| l.pages());
    let items: Vec<Value> = list
        .as_ref()
        .map(|l| {
            l.items
                .iter()
                .map(|f| {
                    let mut v = json!(f);
                    v["level_label"] = json!(level_label(ctx.lang, &f.level));
                    v["feedback_label"] =
                        json!(f.feedback.as_deref().map(|x| feedback_label(ctx.lang, x)));
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    let levels: Vec<Value> = ["high", "medium"]
        .iter()
        .map(|l| json!({"code": l, "label": level_label(ctx.lang, l)}))
        .collect();
    let feedbacks: Vec<Value> = service::FEEDBACK
        .iter()
        .map(|f| json!({"code": f, "label": feedback_label(ctx.lang, f)}))
        .collect();
    let formula_filters: Vec<Value> = service::FORMULA_FILTERS
        .iter()
        .map(|f| json!({"code": f, "label": ctx.t(&format!("mining.formula_filter.{f}"))}))
        .collect();
    let query = flags_query(&level, department, &formula);
    let back = format!(
        "/mining/flags?{query}page={}",
        list.as_ref().map_or(1, |l| l.page)
    );
    let run_formula = run.as_ref().is_some_and(|r| {
        serde_json::from_str::<Value>(&r.metrics).is_ok_and(|m| m["formula"].is_object())
    });
    Ok(ctx.render(
        "mining/flags",
        "mining.flags",
        json!({
            "run": run.map(|r| run_view(ctx.lang, r)),
            "list": list.as_ref().map(|l| json!({"items": items, "total": l.total, "page": l.page, "per_page": l.per_page})),
            "pages": pages,
            "query": query,
            "back": back,
            "level": level,
            "department": department,
            "formula": formula,
            "formula_filters": formula_filters,
            "formula_in_run": run_formula,
            "all_scope": matches!(scope, Scope::All),
            "levels": levels,
            "feedbacks": feedbacks,
            "departments": service::department_options(db, ctx.lang).await?,
        }),
    ))
}

#[derive(FromForm)]
pub struct FeedbackForm {
    feedback: String,
    back: Option<String>,
}

#[post("/mining/flags/<id>/feedback", data = "<form>")]
pub async fn feedback(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::ViewMining>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<FeedbackForm>,
) -> AppResult<Redirect> {
    service::feedback(&state.db, &user, id, &form.feedback).await?;
    let back = safe_next(form.back.as_deref());
    Ok(Redirect::to(if back == "/dashboard" {
        "/mining/flags".to_string()
    } else {
        back
    }))
}

/// The rules as the page lists them, each with its matches on the latest run; `echo` puts a
/// refused edit's input back into its rule's form.
async fn rules_context(
    state: &AppState,
    error: Value,
    new_form: Value,
    echo: Option<(i64, Value)>,
) -> AppResult<Value> {
    let (all, matched) = service::rules_with_matches(&state.db).await?;
    let list: Vec<Value> = all
        .into_iter()
        .map(|r| {
            let m = matched
                .as_ref()
                .and_then(|m| m.by_rule.get(&r.id))
                .cloned()
                .unwrap_or_default();
            let mut v = json!({"id": r.id, "code": r.code, "trigger": r.trigger, "text_zh": r.text_zh,
                "text_en": r.text_en, "priority": r.priority, "is_active": r.is_active,
                "matches": m.count,
                "sample": m.sample.iter().map(|(id, no)| json!({"id": id, "no": no})).collect::<Vec<_>>()});
            if let Some((id, e)) = &echo
                && *id == r.id
                && let (Some(dst), Some(src)) = (v.as_object_mut(), e.as_object())
            {
                for (k, x) in src {
                    dst.insert(k.clone(), x.clone());
                }
            }
            v
        })
        .collect();
    Ok(json!({"rules": list, "error": error, "new": new_form,
        "match_run": matched.map(|m| m.run)}))
}

fn empty_rule_form() -> Value {
    json!({"code": "", "priority": 50, "trigger": "{\"factor\": \"term_missed\"}", "text_zh": "",
        "text_en": "", "is_active": true})
}

#[get("/mining/rules")]
pub async fn rules_page(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Template> {
    Ok(ctx.render(
        "mining/rules",
        "mining.rules",
        rules_context(state, Value::Null, empty_rule_form(), None).await?,
    ))
}

/// The rules page again (422) with a refusal's message by the form it concerns (`id` 0: the
/// new rule form): bad input, or a code in use.
async fn rules_refused(
    ctx: &Ctx<'_>,
    state: &AppState,
    e: AppError,
    id: i64,
    input: Value,
) -> AppResult<(Status, Template)> {
    let message = match e {
        AppError::Unprocessable { message, .. } | AppError::Conflict { message, .. } => message,
        e => return Err(e),
    };
    let (new_form, echo) = if id == 0 {
        (input, None)
    } else {
        (empty_rule_form(), Some((id, input)))
    };
    Ok((
        Status::UnprocessableEntity,
        ctx.render(
            "mining/rules",
            "mining.rules",
            rules_context(state, json!({"id": id, "message": message}), new_form, echo).await?,
        ),
    ))
}

/// A rule's form: the new rule's (with its code) and an existing rule's (without) alike.
#[derive(FromForm)]
pub struct RuleForm {
    code: Option<String>,
    priority: String,
    trigger: String,
    text_zh: String,
    text_en: String,
    is_active: bool,
}

impl RuleForm {
    /// What was typed, to fill the form again when it is refused.
    fn echo(&self) -> Value {
        let mut v = json!({"priority": self.priority, "trigger": self.trigger,
            "text_zh": self.text_zh, "text_en": self.text_en, "is_active": self.is_active});
        if let (Some(code), Some(o)) = (&self.code, v.as_object_mut()) {
            o.insert("code".into(), json!(code));
        }
        v
    }

    /// The priority as typed (empty: 0), or the refusal in the reader's language.
    fn priority(&self, ctx: &Ctx<'_>) -> AppResult<i64> {
        match self.priority.trim() {
            "" => Ok(0),
            p => p.parse::<i64>().map_err(|_| {
                AppError::unprocessable("bad_priority", ctx.t("mining.rule_bad_priority"))
            }),
        }
    }

    /// Back to the rules, or the rules page with the refusal by this form (`id` 0: a new rule).
    async fn answer<T>(
        &self,
        ctx: &Ctx<'_>,
        state: &AppState,
        id: i64,
        done: AppResult<T>,
    ) -> AppResult<Result<Redirect, (Status, Template)>> {
        match done {
            Ok(_) => Ok(Ok(Redirect::to("/mining/rules"))),
            Err(e) => Ok(Err(rules_refused(ctx, state, e, id, self.echo()).await?)),
        }
    }
}

#[post("/mining/rules", data = "<form>")]
pub async fn rule_create(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    form: Csrf<RuleForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let created = match form.priority(&ctx) {
        Ok(priority) => {
            let input = rules::NewRule {
                code: form.code.clone().unwrap_or_default(),
                priority,
                trigger: Value::String(form.trigger.clone()),
                text_zh: form.text_zh.clone(),
                text_en: form.text_en.clone(),
                is_active: form.is_active,
            };
            rules::create(&state.db, user.id, &input).await
        }
        Err(e) => Err(e),
    };
    form.answer(&ctx, state, 0, created).await
}

#[post("/mining/rules/<id>", data = "<form>")]
pub async fn rule_save(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<RuleForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let saved = match form.priority(&ctx) {
        Ok(priority) => {
            let patch = rules::RulePatch {
                trigger: Some(Value::String(form.trigger.clone())),
                text_zh: Some(form.text_zh.clone()),
                text_en: Some(form.text_en.clone()),
                priority: Some(priority),
                is_active: Some(form.is_active),
            };
            rules::update(&state.db, user.id, id, &patch).await
        }
        Err(e) => Err(e),
    };
    form.answer(&ctx, state, id, saved).await
}

#[derive(FromForm)]
pub struct ActiveForm {
    active: bool,
}

#[post("/mining/rules/<id>/active", data = "<form>")]
pub async fn rule_active(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<ActiveForm>,
) -> AppResult<Redirect> {
    let patch = rules::RulePatch {
        is_active: Some(form.active),
        ..Default::default()
    };
    rules::update(&state.db, user.id, id, &patch).await?;
    Ok(Redirect::to("/mining/rules"))
}

#[post("/mining/rules/<id>/delete", data = "<_form>")]
pub async fn rule_delete(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    rules::delete(&state.db, user.id, id).await?;
    Ok(Redirect::to("/mining/rules"))
}

async fn formula_context(
    state: &AppState,
    lang: Lang,
    form: Value,
    trial: Option<TrialAnswer>,
    error: Option<String>,
) -> AppResult<Value> {
    let departments = service::department_options(&state.db, lang).await?;
    let dep_label = |id: Option<i64>| {
        id.map(|d| {
            departments
                .iter()
                .find(|x| x["id"] == d)
                .and_then(|x| x["label"].as_str())
                .map_or_else(|| d.to_string(), String::from)
        })
    };
    let saved: Vec<Value> = formula::list(&state.db)
        .await?
        .into_iter()
        .map(|f| {
            let mut v = json!(f);
            v["weights_text"] = json!(Formula::weights_text(&f.weights));
            v["department"] = json!(dep_label(f.department_id));
            v
        })
        .collect();
    let chart = trial.as_ref().map(|t| {
        let bars: Vec<(String, f64)> = t
            .trial
            .histogram
            .iter()
            .map(|(lo, n)| (format!("≥ {lo:.1}"), *n as f64))
            .collect();
        crate::charts::bar_chart(&bars, "")
    });
    let features: Vec<Value> = super::features::FEATURES
        .iter()
        .map(|f| json!({"code": f, "label": lang.t(&format!("mining.feature.{f}"))}))
        .collect();
    Ok(
        json!({"form": form, "trial": trial, "chart": chart, "error": error, "saved": saved,
        "features": features, "departments": departments}),
    )
}

#[get("/mining/formula")]
pub async fn formula_page(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    _user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let form = json!({"name": "", "department": Value::Null, "threshold": 3,
        "weights": "prior_failed = 1\nterm_missed = 1\ngpa_trend = -1\nterm_score = -0.05\nhas_history = 0"});
    Ok(ctx.render(
        "mining/formula",
        "mining.formula",
        formula_context(state, ctx.lang, form, None, None).await?,
    ))
}

#[derive(FromForm)]
pub struct FormulaForm {
    name: String,
    department: Option<i64>,
    weights: String,
    threshold: f64,
    action: String,
    #[field(default = String::new())]
    trial_token: String,
}

#[post("/mining/formula", data = "<form>")]
pub async fn formula_post(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    form: Csrf<FormulaForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let echo = json!({"name": form.name, "department": form.department, "weights": form.weights, "threshold": form.threshold});
    let refuse = |msg: String| async {
        Ok::<_, AppError>(Err((
            Status::UnprocessableEntity,
            ctx.render(
                "mining/formula",
                "mining.formula",
                formula_context(state, ctx.lang, echo.clone(), None, Some(msg)).await?,
            ),
        )))
    };
    let weights = match Formula::parse_weights(&form.weights) {
        Ok(w) => w,
        Err(e) => return refuse(ctx.lang.error(&e)).await,
    };
    if !form.threshold.is_finite() {
        return refuse(ctx.t("mining.formula_bad_threshold")).await;
    }
    let f = Formula {
        name: form.name.clone(),
        department_id: form.department,
        weights,
        threshold: form.threshold,
    };
    if form.action == "save" {
        if f.name.trim().is_empty() {
            return refuse(ctx.t("mining.formula_need_name")).await;
        }
        if let Err(AppError::Unprocessable { code, .. }) =
            trial::check_trial(&state.db, &state.keys, user.id, &f, &form.trial_token).await
        {
            return refuse(ctx.t(&format!("mining.{code}"))).await;
        }
        return match formula::save(&state.db, user.id, &f, true).await {
            Ok(_) => Ok(Ok(Redirect::to("/mining/formula"))),
            Err(e @ AppError::Unprocessable { .. }) => refuse(ctx.lang.error(&e)).await,
            Err(e) => Err(e),
        };
    }
    let trial = trial::try_formula(&state.db, &state.keys, user.id, &f).await?;
    let error = match &trial {
        None => Some(ctx.t("mining.no_run")),
        Some(t) => t.problem.map(|p| ctx.t(&format!("mining.trial_fail.{p}"))),
    };
    Ok(Err((
        Status::Ok,
        ctx.render(
            "mining/formula",
            "mining.formula",
            formula_context(state, ctx.lang, echo, trial, error).await?,
        ),
    )))
}

#[post("/mining/formula/<id>/active", data = "<form>")]
pub async fn formula_active(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<ActiveForm>,
) -> AppResult<Redirect> {
    formula::set_active(&state.db, user.id, id, form.active).await?;
    Ok(Redirect::to("/mining/formula"))
}

#[post("/mining/formula/<id>/delete", data = "<_form>")]
pub async fn formula_delete(
    _on: ModuleOn<on::Mining>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    formula::delete(&state.db, user.id, id).await?;
    Ok(Redirect::to("/mining/formula"))
}

#[get("/me/suggestions")]
pub async fn my_suggestions(
    _on: ModuleOn<on::Mining>,
    ctx: Ctx<'_>,
    user: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let mine = match user.student_id {
        Some(s) => Some(service::my_suggestions(&state.db, s, ctx.lang).await?),
        None => None,
    };
    let level = mine
        .as_ref()
        .and_then(|m| m.level.as_deref())
        .map(|l| level_label(ctx.lang, l));
    let courses = match user.student_id {
        Some(s) => {
            let (term, items) = service::my_recommendations(&state.db, s, None).await?;
            let items: Vec<Value> = items
                .iter()
                .map(|r| recommendation_view(ctx.lang, &term.code, r))
                .collect();
            Some(
                json!({"term": if ctx.lang == Lang::Zh { term.name_zh } else { term.name_en }, "items": items}),
            )
        }
        None => None,
    };
    Ok(ctx.render(
        "mining/me",
        "mining.my_suggestions",
        json!({"mine": mine, "level_label": level, "courses": courses}),
    ))
}

/// One recommended course in the reader's language, with its reason and a link to its sections.
fn recommendation_view(
    lang: Lang,
    term: &str,
    r: &super::recommend_store::Recommendation,
) -> Value {
    let reason = r.reason.as_ref().map(|x| {
        crate::i18n::fill(
            &lang.t("mining.recommend.reason"),
            &[
                ("band", lang.t(&format!("mining.recommend.band.{}", x.band))),
                ("course", x.course_code.clone()),
                ("students", x.students.to_string()),
                ("rate", format!("{:.0}", x.pass_rate)),
            ],
        )
    });
    json!({
        "code": r.code,
        "title": if lang == Lang::Zh { &r.title_zh } else { &r.title_en },
        "pass_rate": format!("{:.0}", r.pass_rate),
        "reason": reason,
        "href": format!("/courses?term={}&q={}", crate::web::url_encode(term), crate::web::url_encode(&r.code)),
    })
}
