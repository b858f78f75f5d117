//! Message and notification pages.

use super::forms::{NewForm, ReplyForm};
use super::notify;
use super::service::{self as messages, NewConversation};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::{AppError, AppResult};
use crate::interaction::util::fmt;
use crate::state::AppState;
use crate::web::csrf::Csrf;
use crate::web::{CsrfForm, Ctx};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

type Who<'r> = Perm<'r, can::UseMessages>;

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
        contacts = messages::contact_options(db, sid, zh)
            .await?
            .into_iter()
            .map(|c| {
                let mut roles = Vec::new();
                if c.advisor {
                    roles.push(ctx.t("interaction.messages.role.advisor"));
                }
                if !c.courses.is_empty() {
                    roles.push(format!(
                        "{} {}",
                        ctx.t("interaction.messages.role.teacher"),
                        c.courses.join(", ")
                    ));
                }
                json!({"id": c.id, "name": c.name, "label": format!("{} — {}", c.name, roles.join(" · "))})
            })
            .collect();
    } else {
        my_sections = messages::teacher_sections(db, who.id, zh).await?;
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

#[post("/messages", data = "<form>")]
pub async fn messages_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    form: Csrf<NewForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let student_id = messages::student_by_number(&state.db, &form.student_no).await?;
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
    let c = messages::show(&state.db, who.id, id, ctx.lang).await?;
    let people: Vec<Value> = c
        .people
        .iter()
        .map(|m| {
            let mut roles = vec![ctx.t(&format!("role.{}", m.role))];
            if m.advisor {
                roles.push(ctx.t("interaction.messages.role.advisor"));
            }
            json!({"name": m.name, "me": m.user_id == who.id, "roles": roles, "courses": m.courses})
        })
        .collect();
    Ok(ctx.render(
        "interaction/conversation",
        "interaction.messages.title",
        json!({"c": c, "people": people, "error": error}),
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

#[post("/messages/<id>", data = "<form>")]
pub async fn conversation_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    id: i64,
    form: Csrf<ReplyForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
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
            let (title, body) = n
                .words
                .as_deref()
                .and_then(|w| crate::mail::render::notice_from_words(ctx.lang, w))
                .unwrap_or((n.title, n.body));
            json!({"title": title, "body": body, "link": n.link.filter(|l| l.starts_with('/') && !l.starts_with("//")),
                   "at": fmt(&n.created_at), "unread": n.read_at.is_none()})
        })
        .collect();
    Ok(ctx.render(
        "interaction/notifications",
        "interaction.notifications.title",
        json!({"items": items}),
    ))
}

#[post("/notifications/read", data = "<_form>")]
pub async fn notifications_read(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    _form: Csrf<CsrfForm<'_>>,
) -> AppResult<Redirect> {
    notify::mark_all_read(&state.db, who.id).await?;
    Ok(Redirect::to("/notifications"))
}
