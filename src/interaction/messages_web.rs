//! Message and notification pages and API, and saved segments.

use super::messages::{self, NewConversation};
use super::notify;
use super::util::{fmt, user_names};
use crate::access::{ModuleOn, Perm, can, on};
use crate::entity::{courses, sections, students, terms};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::students::query::StudentFilter;
use crate::web::{CsrfForm, Ctx};
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{FromForm, State, get, post};
use rocket_dyn_templates::Template;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use serde_json::{Value, json};

type Who<'r> = Perm<'r, can::UseMessages>;

// ---------------------------------------------------------------- API

#[get("/conversations")]
pub async fn api_list_conversations(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let items = messages::list(&state.db, who.id).await?;
    let n = items.len();
    Ok(Json(
        json!({"items": items, "total": n, "page": 1, "per_page": n.max(1)}),
    ))
}

#[post("/conversations", data = "<body>")]
pub async fn api_start_conversation(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    body: Json<NewConversation>,
) -> AppResult<(Status, Json<Value>)> {
    let ids = messages::start(&state.db, &who, &body).await?;
    Ok((
        Status::Created,
        Json(json!({"id": ids.first(), "ids": ids, "recipients": ids.len()})),
    ))
}

#[get("/conversations/<id>")]
pub async fn api_show_conversation(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<messages::ConversationView>> {
    Ok(Json(messages::show(&state.db, who.id, id).await?))
}

#[derive(Deserialize)]
pub struct Body {
    #[serde(default)]
    body: String,
}

#[post("/conversations/<id>/messages", data = "<body>")]
pub async fn api_send_message(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    id: i64,
    body: Json<Body>,
) -> AppResult<(Status, Json<Value>)> {
    let mid = messages::reply(&state.db, &who, id, &body.body).await?;
    Ok((Status::Created, Json(json!({"id": mid}))))
}

#[get("/notifications")]
pub async fn api_notifications(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let items = notify::list(&state.db, who.id).await?;
    let n = items.len();
    Ok(Json(
        json!({"items": items, "total": n, "page": 1, "per_page": n.max(1)}),
    ))
}

#[post("/notifications/read")]
pub async fn api_notifications_read(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let n = notify::mark_all_read(&state.db, who.id).await?;
    Ok(Json(json!({"marked_read": n})))
}

#[derive(Deserialize)]
pub struct NewSegment {
    #[serde(default)]
    name: String,
    #[serde(default)]
    filter: StudentFilter,
}

#[get("/segments")]
pub async fn api_list_segments(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let items = messages::my_segments(&state.db, who.id).await?;
    let n = items.len();
    Ok(Json(
        json!({"items": items, "total": n, "page": 1, "per_page": n.max(1)}),
    ))
}

#[post("/segments", data = "<body>")]
pub async fn api_save_segment(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    body: Json<NewSegment>,
) -> AppResult<(Status, Json<Value>)> {
    let s = messages::save_segment(&state.db, &who, &body.name, &body.filter).await?;
    Ok((Status::Created, Json(json!({"id": s.id, "name": s.name}))))
}

// ---------------------------------------------------------------- pages

async fn list_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    who: &Who<'_>,
    form: Value,
    error: Option<String>,
) -> AppResult<Template> {
    let db = &state.db;
    let items = messages::list(db, who.id).await?;
    let zh = ctx.lang == crate::i18n::Lang::Zh;
    let mut contacts = Vec::new();
    let mut my_sections = Vec::new();
    if let Some(sid) = who.student_id {
        let ids = messages::student_contacts(db, sid).await?;
        let names = user_names(db, ids.iter().copied()).await?;
        contacts = ids
            .iter()
            .map(|id| json!({"id": id, "name": names.get(id).cloned().unwrap_or_default()}))
            .collect();
    } else {
        let list = sections::Entity::find()
            .inner_join(terms::Entity)
            .filter(terms::Column::IsCurrent.eq(true))
            .filter(sections::Column::TeacherId.eq(who.id))
            .order_by_asc(sections::Column::Id)
            .all(db)
            .await?;
        for s in list {
            let c = courses::Entity::find_by_id(s.course_id).one(db).await?;
            let label = c
                .map(|c| {
                    format!(
                        "{}-{} {}",
                        c.code,
                        s.section_no,
                        if zh { c.title_zh } else { c.title_en }
                    )
                })
                .unwrap_or_default();
            my_sections.push(json!({"id": s.id, "label": label}));
        }
    }
    let segments = messages::my_segments(db, who.id).await?;
    Ok(ctx.render(
        "interaction/messages",
        "interaction.messages.title",
        json!({"items": items, "is_student": who.student_id.is_some(), "contacts": contacts,
               "sections": my_sections, "segments": segments, "form": form, "error": error}),
    ))
}

#[get("/messages")]
pub async fn messages_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Template> {
    list_view(&ctx, state, &who, json!({}), None).await
}

#[derive(FromForm)]
pub struct NewForm {
    #[field(name = "_csrf", default = String::new())]
    csrf: String,
    to_user_id: Option<i64>,
    #[field(default = String::new())]
    student_no: String,
    section_id: Option<i64>,
    segment_id: Option<i64>,
    #[field(default = String::new())]
    subject: String,
    #[field(default = String::new())]
    body: String,
}

#[post("/messages", data = "<form>")]
pub async fn messages_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    form: Form<NewForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(&form.csrf)?;
    let mut student_id = None;
    let no = form.student_no.trim();
    if !no.is_empty() {
        student_id = Some(
            students::Entity::find()
                .filter(students::Column::StudentNo.eq(no))
                .one(&state.db)
                .await?
                .map(|s| s.id)
                .unwrap_or(-1),
        );
    }
    let n = NewConversation {
        to_user_id: form.to_user_id,
        student_id,
        section_id: form.section_id,
        course_id: None,
        segment_id: form.segment_id,
        subject: form.subject.clone(),
        body: form.body.clone(),
    };
    match messages::start(&state.db, &who, &n).await {
        Ok(ids) if ids.len() == 1 => Ok(Ok(Redirect::to(format!("/messages/{}", ids[0])))),
        Ok(_) => Ok(Ok(Redirect::to("/messages"))),
        Err(AppError::Unprocessable { message, .. }) => {
            let values =
                json!({"subject": form.subject, "body": form.body, "student_no": form.student_no});
            let page = list_view(&ctx, state, &who, values, Some(message)).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e),
    }
}

async fn show_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    who: &Who<'_>,
    id: i64,
    error: Option<String>,
) -> AppResult<Template> {
    let c = messages::show(&state.db, who.id, id).await?;
    Ok(ctx.render(
        "interaction/conversation",
        "interaction.messages.title",
        json!({"c": c, "error": error}),
    ))
}

#[get("/messages/<id>")]
pub async fn conversation_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    show_view(&ctx, state, &who, id, None).await
}

#[derive(FromForm)]
pub struct ReplyForm {
    #[field(name = "_csrf", default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    body: String,
}

#[post("/messages/<id>", data = "<form>")]
pub async fn conversation_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    id: i64,
    form: Form<ReplyForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(&form.csrf)?;
    match messages::reply(&state.db, &who, id, &form.body).await {
        Ok(_) => Ok(Ok(Redirect::to(format!("/messages/{id}")))),
        Err(AppError::Unprocessable { message, .. }) => {
            let page = show_view(&ctx, state, &who, id, Some(message)).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e),
    }
}

#[get("/notifications")]
pub async fn notifications_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let items: Vec<Value> = notify::list(&state.db, who.id)
        .await?
        .into_iter()
        .map(|n| {
            json!({"title": n.title, "body": n.body, "link": n.link.filter(|l| l.starts_with('/') && !l.starts_with("//")),
                   "at": fmt(&n.created_at), "unread": n.read_at.is_none()})
        })
        .collect();
    Ok(ctx.render(
        "interaction/notifications",
        "interaction.notifications.title",
        json!({"items": items}),
    ))
}

#[post("/notifications/read", data = "<form>")]
pub async fn notifications_read(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    form: Form<CsrfForm<'_>>,
) -> AppResult<Redirect> {
    who.check_csrf(form.csrf)?;
    notify::mark_all_read(&state.db, who.id).await?;
    Ok(Redirect::to("/notifications"))
}
