//! Message, notification and segment API.

use super::dto::{Body, NewSegment};
use super::notify;
use super::service::{self as messages, NewConversation};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::AppResult;
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde_json::{Value, json};

type Who<'r> = Perm<'r, can::UseMessages>;

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
