//! Course feedback pages and API.

use super::feedback::{self, Answers, QUESTIONS};
use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::charts::bar_chart;
use crate::entity::{courses, enrolments, sections, terms};
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
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};

#[get("/feedback/<id>")]
pub async fn api_feedback_results(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<feedback::Results>> {
    Ok(Json(feedback::results(&state.db, user, id).await?))
}

#[post("/feedback/<id>", data = "<body>")]
pub async fn api_feedback_submit(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    body: Json<Answers>,
) -> AppResult<(Status, Json<Value>)> {
    feedback::submit(&state.db, user, id, &body).await?;
    Ok((
        Status::Created,
        Json(json!({"section_id": id, "answered": true})),
    ))
}

async fn label(state: &AppState, s: &sections::Model, zh: bool) -> AppResult<String> {
    Ok(courses::Entity::find_by_id(s.course_id)
        .one(&state.db)
        .await?
        .map(|c| {
            format!(
                "{}-{} {}",
                c.code,
                s.section_no,
                if zh { c.title_zh } else { c.title_en }
            )
        })
        .unwrap_or_default())
}

#[get("/feedback")]
pub async fn feedback_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Template> {
    let db = &state.db;
    let zh = ctx.lang == Lang::Zh;
    let today = super::util::now().date_naive();
    let mut to_answer = Vec::new();
    if let Some(sid) = user.student_id {
        let ids: Vec<i64> = enrolments::Entity::find()
            .filter(enrolments::Column::StudentId.eq(sid))
            .filter(enrolments::Column::Status.eq("enrolled"))
            .select_only()
            .column(enrolments::Column::SectionId)
            .into_tuple()
            .all(db)
            .await?;
        for s in sections::Entity::find()
            .filter(sections::Column::Id.is_in(ids))
            .all(db)
            .await?
        {
            let Some(term) = terms::Entity::find_by_id(s.term_id).one(db).await? else {
                continue;
            };
            if !feedback::is_open(db, &term, today).await? {
                continue;
            }
            to_answer.push(json!({"id": s.id, "label": label(state, &s, zh).await?,
                                  "answered": feedback::answered(db, sid, s.id).await?}));
        }
    }
    let mut taught = Vec::new();
    for s in sections::Entity::find()
        .filter(sections::Column::TeacherId.eq(user.id))
        .order_by_desc(sections::Column::Id)
        .limit(50)
        .all(db)
        .await?
    {
        taught.push(json!({"id": s.id, "label": label(state, &s, zh).await?}));
    }
    Ok(ctx.render(
        "interaction/feedback",
        "interaction.feedback.title",
        json!({"to_answer": to_answer, "taught": taught,
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
        json!({"r": r, "label": label(state, &s, zh).await?,
               "means_chart": if r.shown { bar_chart(&means, "") } else { String::new() },
               "overall_chart": if r.shown { bar_chart(&overall, "") } else { String::new() }}),
    ))
}

#[derive(FromForm)]
pub struct FeedbackForm {
    #[field(name = "_csrf", default = String::new())]
    csrf: String,
    teaching: Option<i64>,
    content: Option<i64>,
    workload: Option<i64>,
    overall: Option<i64>,
    #[field(default = String::new())]
    comment: String,
}

#[post("/feedback/<id>", data = "<form>")]
pub async fn feedback_submit(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    form: Form<FeedbackForm>,
) -> AppResult<Redirect> {
    user.check_csrf(&form.csrf)?;
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
