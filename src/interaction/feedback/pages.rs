//! Course feedback pages: the surveys to answer, the sections taught, a section's results.

use super::dto::Answers;
use super::forms::FeedbackForm;
use super::service::{self as feedback, QUESTIONS};
use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::charts::bar_chart;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::json;

#[get("/feedback")]
pub async fn feedback_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Template> {
    let zh = ctx.lang == Lang::Zh;
    let to_answer = match user.student_id {
        Some(sid) => feedback::surveys_to_answer(&state.db, sid, zh).await?,
        None => Vec::new(),
    };
    let taught = feedback::taught_sections(&state.db, user.id, zh).await?;
    Ok(ctx.render(
        "interaction/feedback",
        "interaction.feedback.title",
        json!({"to_answer": to_answer, "taught": taught, "scale": crate::interaction::util::scale(ctx.lang),
               "questions": QUESTIONS.iter().map(|q| json!({"code": q, "label": ctx.t(&format!("interaction.feedback.q.{q}"))})).collect::<Vec<_>>()}),
    ))
}

#[get("/feedback/<id>")]
pub async fn feedback_results_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let r = feedback::results(&state.db, user, id).await?;
    let s = feedback::may_see(&state.db, user, id).await?;
    let zh = ctx.lang == Lang::Zh;
    let means: Vec<(String, f64)> = r
        .questions
        .iter()
        .map(|q| (ctx.t(&format!("interaction.feedback.q.{}", q.code)), q.mean))
        .collect();
    let overall: Vec<(String, f64)> = r
        .questions
        .iter()
        .find(|q| q.code == "overall")
        .map(|q| {
            q.counts
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("{}", i + 1), *c as f64))
                .collect()
        })
        .unwrap_or_default();
    Ok(ctx.render(
        "interaction/feedback_results",
        "interaction.feedback.results",
        json!({"r": r, "label": feedback::section_label(&state.db, &s, zh).await?,
               "means_chart": if r.shown { bar_chart(&means, "") } else { String::new() },
               "overall_chart": if r.shown { bar_chart(&overall, "") } else { String::new() }}),
    ))
}

#[post("/feedback/<id>", data = "<form>")]
pub async fn feedback_submit(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    form: Csrf<FeedbackForm>,
) -> AppResult<Redirect> {
    let a = Answers {
        teaching: form.teaching,
        content: form.content,
        workload: form.workload,
        overall: form.overall,
        comment: form.comment.clone(),
    };
    match feedback::submit(&state.db, user, id, &a).await {
        Ok(()) => Ok(Redirect::to("/feedback?thanks")),
        Err(AppError::Conflict { .. }) => Ok(Redirect::to("/feedback")),
        Err(e) => Err(e),
    }
}
