//! The sign-in API: log in, log out, change one's password, first sign-in, who am I.

use super::cookies::{device_of, remember_device};
use super::dto::{ActivateRequest, LoginRequest, Me, PasswordRequest};
use crate::access::client_addr::ClientIp;
use crate::auth::CurrentUser;
use crate::auth::activation::{self, Claim};
use crate::auth::service::{self, LoginOk};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::{State, get, post};

/// Log in with user name and password; returns a bearer token.
#[utoipa::path(
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginOk),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 422, description = "A field is missing or of the wrong type", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "The database is briefly out of reach", body = ErrorBody),
    ),
    security(())
)]
#[post("/auth/login", format = "json", data = "<body>")]
pub async fn api_login(
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    ip: ClientIp,
    body: Json<LoginRequest>,
) -> AppResult<Json<LoginOk>> {
    let device = device_of(jar);
    let done = service::login(
        state,
        &body.username,
        &body.password,
        &ip.0,
        device.as_deref(),
    )
    .await?;
    remember_device(state, jar, done.device);
    Ok(Json(done.ok))
}

/// Revoke the caller's token.
#[utoipa::path(
    responses(
        (status = 204, description = "Logged out; the token no longer works"),
        (status = 403, description = "A cookie session without its X-CSRF-Token", body = ErrorBody),
    )
)]
#[post("/auth/logout")]
pub async fn api_logout(user: &CurrentUser, state: &State<AppState>) -> AppResult<Status> {
    service::logout(state, user).await?;
    Ok(Status::NoContent)
}

/// Change the caller's own password; every session, this one included, is signed out.
#[utoipa::path(
    request_body = PasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "A cookie session without its X-CSRF-Token", body = ErrorBody),
        (status = 422, description = "Wrong current password, or the new one is too weak", body = ErrorBody),
    )
)]
#[post("/auth/password", format = "json", data = "<body>")]
pub async fn api_password(
    user: &CurrentUser,
    state: &State<AppState>,
    body: Json<PasswordRequest>,
) -> AppResult<Status> {
    service::change_own_password(state, user.id, &body.current_password, &body.new_password)
        .await?;
    Ok(Status::NoContent)
}

/// The caller's account, groups and permissions.
#[utoipa::path(
    responses(
        (status = 200, description = "The caller", body = Me),
    )
)]
#[get("/me")]
pub async fn api_me(user: &CurrentUser) -> Json<Me> {
    Json(Me::of(user))
}

/// First sign-in of a bulk-created student account with its one-time activation code.
#[utoipa::path(
    request_body = ActivateRequest,
    responses(
        (status = 200, description = "Activated and logged in", body = LoginOk),
        (status = 422, description = "Wrong or expired code, or a weak password", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
    ),
    security(())
)]
#[post("/auth/activate", format = "json", data = "<body>")]
pub async fn api_activate(
    state: &State<AppState>,
    ip: ClientIp,
    body: Json<ActivateRequest>,
) -> AppResult<Json<LoginOk>> {
    let claim = Claim {
        student_no: &body.student_no,
        code: &body.code,
        national_id: &body.national_id,
        birth_date: &body.birth_date,
        new_password: &body.new_password,
    };
    Ok(Json(
        activation::activate_and_sign_in(state, &claim, &ip.0).await?,
    ))
}
