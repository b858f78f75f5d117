//! Course feedback API.

use super::service::{self as feedback, Answers};
use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
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
