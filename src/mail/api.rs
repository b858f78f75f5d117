//! The e-mail API: one's own preferences, and the outbox for administrators.

use super::dto::{OutboxView, Pref, Prefs, PrefsUpdate};
use super::service;
use crate::access::{Perm, can};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use rocket::serde::json::Json;
use rocket::{State, get, put};

/// The caller's e-mail preferences, per category.
#[utoipa::path(
    responses(
        (status = 200, description = "Each category with its mode", body = Prefs),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
#[get("/account/notifications")]
pub async fn api_prefs(user: &CurrentUser, state: &State<AppState>) -> AppResult<Json<Prefs>> {
    Ok(Json(
        service::prefs_view(&state.db, user.id, user.student_id.is_some()).await?,
    ))
}

/// Change the caller's e-mail preferences.
#[utoipa::path(
    request_body = PrefsUpdate,
    responses(
        (status = 200, description = "Saved; the preferences now", body = Prefs),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "A mandatory category or an unknown mode", body = ErrorBody),
    )
)]
#[put("/account/notifications", format = "json", data = "<body>")]
pub async fn api_save_prefs(
    user: &CurrentUser,
    state: &State<AppState>,
    body: Json<PrefsUpdate>,
) -> AppResult<Json<Prefs>> {
    let choices: Vec<_> = body
        .prefs
        .iter()
        .map(|p: &Pref| (p.category, p.mode))
        .collect();
    Ok(Json(
        service::save_and_view(&state.db, user.id, user.student_id.is_some(), &choices).await?,
    ))
}

/// The outbox: counts by state and the dead letters.
#[utoipa::path(
    responses(
        (status = 200, description = "The outbox", body = OutboxView),
        (status = 403, description = "Administrators only", body = ErrorBody),
    )
)]
#[get("/admin/outbox")]
pub async fn api_outbox(
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
) -> AppResult<Json<OutboxView>> {
    Ok(Json(
        service::outbox_view(&state.db, state.mail.enabled()).await?,
    ))
}
