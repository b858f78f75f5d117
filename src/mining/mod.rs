//! Mining (数据挖掘): at-risk flags with reasons, clusters and personalised teaching
//! suggestions, evaluated honestly against baselines and published results.

mod api;
mod charts;
pub mod cli;
pub mod features;
pub mod formula;
pub mod jobs;
pub mod ml;
mod pages;
pub mod reasons;
pub mod rules;
pub mod run;
pub mod service;
pub mod settings;

use crate::error::AppResult;
use crate::web::Ctx;
use rocket::Route;
use serde_json::Value;

pub fn page_routes() -> Vec<Route> {
    rocket::routes![
        pages::overview,
        pages::start_run,
        pages::cancel_run,
        pages::run_page,
        pages::save_settings,
        pages::flags_page,
        pages::feedback,
        pages::rules_page,
        pages::rule_create,
        pages::rule_save,
        pages::rule_active,
        pages::rule_delete,
        pages::formula_page,
        pages::formula_post,
        pages::formula_active,
        pages::formula_delete,
        pages::my_suggestions,
    ]
}

pub fn api_routes() -> Vec<Route> {
    rocket::routes![
        api::api_runs,
        api::api_run,
        api::api_start_run,
        api::api_cancel_run,
        api::api_flags,
        api::api_flag_feedback,
        api::api_formula_trial,
        api::api_rules,
        api::api_rule_create,
        api::api_rule_update,
        api::api_rule_delete,
        api::api_formulas,
        api::api_formula_save,
        api::api_formula_update,
        api::api_formula_delete,
        api::api_my_suggestions,
    ]
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

/// This module's part of a student's 360° page (`panels.mining` in
/// `templates/mining/profile_panel.html.tera`); `Value::Null` when the module is off or the
/// viewer may not see it.
pub async fn profile_panel(
    ctx: &Ctx<'_>,
    db: &sea_orm::DatabaseConnection,
    student_id: i64,
) -> AppResult<Value> {
    use crate::access::{Module, Permission};
    let Some(user) = ctx.user else {
        return Ok(Value::Null);
    };
    if !ctx.modules.contains(&Module::Mining) {
        return Ok(Value::Null);
    }
    let own = user.student_id == Some(student_id);
    let staff = user.can(Permission::ViewMining) || user.can(Permission::RunMining);
    if !own && !staff {
        return Ok(Value::Null);
    }
    let Some(flag) = service::student_flag(db, student_id).await? else {
        return Ok(Value::Null);
    };
    let run = service::run(db, flag.run_id).await?;
    let zh = ctx.lang == crate::i18n::Lang::Zh;
    let rules = rules::all(db).await?;
    let suggestions = rules::suggest(&rules, &service::subject(&flag), zh, 4);
    let show_level = !own || settings::get(db).await?.students_see_level;
    let detail: run::FlagDetail = serde_json::from_str(&flag.reasons).unwrap_or_default();
    let reasons: Vec<String> = if own {
        Vec::new()
    } else {
        detail
            .factors
            .into_iter()
            .map(|r| if zh { r.zh } else { r.en })
            .collect()
    };
    Ok(serde_json::json!({
        "level": show_level.then(|| flag.level.clone()),
        "level_label": show_level.then(|| ctx.t(&format!("mining.level.{}", flag.level))),
        "score": (!own).then_some(flag.score),
        "reasons": reasons,
        "suggestions": suggestions,
        "as_of": run.as_of.format("%Y-%m-%d").to_string(),
    }))
}
