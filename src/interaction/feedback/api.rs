//! Course feedback API.

use super::dto::{Answered, Answers, Results};
use super::service as feedback;
use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};

/// A section's anonymous feedback totals (shown from the minimum number of answers).
#[utoipa::path(
    responses(
        (status = 200, description = "The totals, or only the counts while hidden", body = Results),
        (status = 404, description = "No such section the caller teaches or oversees", body = ErrorBody),
    )
)]
#[get("/feedback/<id>")]
pub async fn api_feedback_results(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Results>> {
    Ok(Json(feedback::results(&state.db, user, id).await?))
}

/// Answer a section's end-of-term feedback survey, once.
#[utoipa::path(
    request_body = Answers,
    responses(
        (status = 201, description = "Answered", body = Answered),
        (status = 403, description = "Only students of the section", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 409, description = "Closed, or already answered", body = ErrorBody),
        (status = 422, description = "An answer is missing or not 1 to 5", body = ErrorBody),
    )
)]
#[post("/feedback/<id>", format = "json", data = "<body>")]
pub async fn api_feedback_submit(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    body: Json<Answers>,
) -> AppResult<(Status, Json<Answered>)> {
    feedback::submit(&state.db, user, id, &body).await?;
    Ok((
        Status::Created,
        Json(Answered {
            section_id: id,
            answered: true,
        }),
    ))
}
