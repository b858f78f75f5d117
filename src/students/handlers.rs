//! Student records over the API.

use super::service;
use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use rocket::serde::json::Json;
use rocket::{State, get};

#[get("/students/<id>")]
pub async fn api_student(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<service::StudentView>> {
    service::authorize_read(&state.db, user, id, "students").await?;
    Ok(Json(service::view(&state.db, id).await?))
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api_student]
}
