//! Announcement API.

use super::service::{self as announcements, NewAnnouncement};
use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::entity::announcements as ann;
use crate::error::AppResult;
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde_json::{Value, json};

#[get("/announcements")]
pub async fn api_list_announcements(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let items: Vec<ann::Model> = announcements::visible(&state.db, user, 100).await?;
    let n = items.len();
    Ok(Json(
        json!({"items": items, "total": n, "page": 1, "per_page": n.max(1)}),
    ))
}

#[post("/announcements", data = "<body>")]
pub async fn api_create_announcement(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    body: Json<NewAnnouncement>,
) -> AppResult<(Status, Json<ann::Model>)> {
    Ok((
        Status::Created,
        Json(announcements::create(&state.db, user, &body).await?),
    ))
}
