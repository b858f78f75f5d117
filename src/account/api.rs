//! The sign-in API: log in, log out, change one's password, first sign-in, who am I.

use super::cookies::{device_of, remember_device};
use super::dto::{ActivateRequest, LoginRequest, Me, PasswordRequest};
use crate::access::client_addr::ClientIp;
use crate::auth::CurrentUser;
use crate::auth::activation::{self, Claim};
use crate::auth::service::{self, LoginOk};
use crate::error::AppResult;
use crate::state::AppState;
use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::{State, get, post};

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

#[post("/auth/logout")]
pub async fn api_logout(user: &CurrentUser, state: &State<AppState>) -> AppResult<Status> {
    service::logout(state, user).await?;
    Ok(Status::NoContent)
}

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

#[get("/me")]
pub async fn api_me(user: &CurrentUser) -> Json<Me> {
    Json(Me::of(user))
}

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
