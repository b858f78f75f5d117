//! Login and logout pages, the password page, the language switch and the auth API.

use super::service::{self, LoginOk};
use super::session::{CurrentUser, SESSION_COOKIE};
use crate::access::client_ip;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::i18n::{LANG_COOKIE, Lang};
use crate::state::AppState;
use crate::web::{Ctx, safe_next};
use rocket::form::Form;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde::{Deserialize, Serialize};
use serde_json::json;

const LOGIN_CSRF_COOKIE: &str = "srm_login_csrf";
/// Marks a browser that has signed in to an account before (see `service::login`).
pub const DEVICE_COOKIE: &str = "srm_device";

/// The caller's address, for throttling and the audit log.
pub struct ClientIp(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientIp(client_ip(req).unwrap_or_else(|| "unknown".into())))
    }
}

fn session_cookie(state: &AppState, ok: &LoginOk) -> Cookie<'static> {
    let mut c = Cookie::new(SESSION_COOKIE, ok.token.clone());
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(state.config.cookie_secure);
    c.set_path("/");
    c
}

/// The device cookie after a successful sign-in: only sent back to the sign-in routes.
fn remember_device(state: &AppState, jar: &CookieJar<'_>, token: String) {
    let mut c = Cookie::new(DEVICE_COOKIE, token);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(state.config.cookie_secure);
    c.set_path("/");
    c.set_max_age(rocket::time::Duration::days(180));
    jar.add(c);
}

fn device_of(jar: &CookieJar<'_>) -> Option<String> {
    jar.get(DEVICE_COOKIE).map(|c| c.value().to_string())
}

/// A pre-session CSRF token for the forms under /login (sign-in and first sign-in): a random
/// value in a strict cookie that only /login pages receive, echoed by the form.
fn new_login_csrf(jar: &CookieJar<'_>) -> String {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut c = Cookie::new(LOGIN_CSRF_COOKIE, token.clone());
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path("/login");
    jar.add(c);
    token
}

fn login_csrf_ok(jar: &CookieJar<'_>, sent: &str) -> bool {
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    !expected.is_empty() && super::token::constant_time_eq(&expected, sent)
}

fn login_page(
    ctx: &Ctx<'_>,
    jar: &CookieJar<'_>,
    next: &str,
    username: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Template {
    let token = new_login_csrf(jar);
    ctx.render(
        "auth/login",
        "login.title",
        json!({"login_csrf": token, "next": next, "username": username, "error": error, "notice": notice}),
    )
}

#[get("/")]
pub fn index(ctx: Ctx<'_>) -> Redirect {
    if ctx.user.is_some() {
        Redirect::to("/dashboard")
    } else {
        Redirect::to("/login")
    }
}

#[get("/login?<next>&<activated>")]
pub fn login_form(
    ctx: Ctx<'_>,
    jar: &CookieJar<'_>,
    next: Option<&str>,
    activated: Option<bool>,
) -> Template {
    let notice = activated.unwrap_or(false).then(|| ctx.t("activate.done"));
    login_page(&ctx, jar, &safe_next(next), "", None, notice)
}

#[derive(rocket::FromForm)]
pub struct LoginForm<'a> {
    username: &'a str,
    password: &'a str,
    next: Option<&'a str>,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/login", data = "<form>")]
pub async fn login_submit(
    ctx: Ctx<'_>,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    ip: ClientIp,
    form: Form<LoginForm<'_>>,
) -> Result<Redirect, (Status, Template)> {
    let next = safe_next(form.next);
    if !login_csrf_ok(jar, form.csrf) {
        let msg = ctx.t("login.expired");
        return Err((
            Status::Forbidden,
            login_page(&ctx, jar, &next, form.username, Some(msg), None),
        ));
    }
    let device = device_of(jar);
    match service::login(
        state,
        form.username,
        form.password,
        &ip.0,
        device.as_deref(),
    )
    .await
    {
        Ok(done) => {
            jar.remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/login"));
            jar.add(session_cookie(state, &done.ok));
            remember_device(state, jar, done.device);
            Ok(Redirect::to(next))
        }
        Err(e) => {
            let status = e.status();
            let msg = match &e {
                AppError::BadCredentials(_) => ctx.t("login.failed"),
                AppError::TooManyRequests { retry_after } => ctx
                    .t("login.throttled")
                    .replace("{seconds}", &retry_after.to_string()),
                _ => e.public_message(),
            };
            Err((
                status,
                login_page(&ctx, jar, &next, form.username, Some(msg), None),
            ))
        }
    }
}

#[post("/logout", data = "<_form>")]
pub async fn logout(
    user: &CurrentUser,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    _form: crate::web::csrf::Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    service::logout(state, user).await?;
    jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok(Redirect::to("/login"))
}

#[get("/account/password")]
pub fn password_form(ctx: Ctx<'_>, _user: &CurrentUser) -> Template {
    ctx.render("auth/password", "password.title", json!({}))
}

#[derive(rocket::FromForm)]
pub struct PasswordForm<'a> {
    current: &'a str,
    new_password: &'a str,
    confirm: &'a str,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/account/password", data = "<form>")]
pub async fn password_submit(
    ctx: Ctx<'_>,
    user: &CurrentUser,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    form: Form<PasswordForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    user.check_csrf(form.csrf)?;
    let mut errors = serde_json::Map::new();
    if form.new_password != form.confirm {
        errors.insert("confirm".into(), json!(ctx.t("password.mismatch")));
    } else {
        match service::change_own_password(state, user.id, form.current, form.new_password).await {
            Ok(()) => {
                // Every session, this one included, is now signed out; start a fresh one.
                let ok = service::issue_session(state, user.id).await?;
                jar.add(session_cookie(state, &ok));
                return Ok(Ok(Redirect::to("/dashboard?flash=password_changed")));
            }
            Err(AppError::Unprocessable { code, .. }) => {
                let field = if code == "wrong_password" {
                    "current"
                } else {
                    "new_password"
                };
                errors.insert(field.into(), json!(ctx.t(&format!("password.{code}"))));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Err((
        Status::UnprocessableEntity,
        ctx.render("auth/password", "password.title", json!({"errors": errors})),
    )))
}

#[get("/lang/<code>?<next>")]
pub async fn switch_lang(
    code: &str,
    next: Option<&str>,
    ctx: Ctx<'_>,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
) -> AppResult<Redirect> {
    let lang = Lang::parse(code).ok_or(AppError::NotFound)?;
    let mut c = Cookie::new(LANG_COOKIE, lang.code());
    c.set_path("/");
    c.set_same_site(SameSite::Lax);
    c.set_max_age(rocket::time::Duration::days(365));
    jar.add(c);
    if let Some(u) = ctx.user {
        crate::admin::service::set_locale(&state.db, u.id, lang.code()).await?;
    }
    Ok(Redirect::to(safe_next(next)))
}

// ---------------------------------------------------------------- JSON API

/// A user name (or student number) and password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    #[schema(example = "admin", max_length = 64)]
    username: String,
    #[schema(format = Password, max_length = 1024)]
    password: String,
}

/// Log in with user name and password; returns a bearer token.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginOk),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 422, description = "A field is missing or of the wrong type", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "The database is briefly out of reach", body = ErrorBody),
    )
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

#[post("/auth/logout")]
pub async fn api_logout(user: &CurrentUser, state: &State<AppState>) -> AppResult<Status> {
    service::logout(state, user).await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize)]
pub struct PasswordRequest {
    current_password: String,
    new_password: String,
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

/// The caller's account, groups and permissions.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    id: i64,
    username: String,
    display_name: String,
    /// `staff` or `student`.
    kind: String,
    groups: Vec<String>,
    /// Permission codes, sorted.
    permissions: Vec<&'static str>,
    /// The caller's own student record, for students.
    student_id: Option<i64>,
}

/// The caller's account, groups and permissions.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me")]
pub async fn api_me(user: &CurrentUser) -> Json<Me> {
    let mut permissions: Vec<&'static str> = user.permissions.iter().map(|p| p.code()).collect();
    permissions.sort();
    Json(Me {
        id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        kind: user.kind.clone(),
        groups: user.groups.clone(),
        permissions,
        student_id: user.student_id,
    })
}

// ---------------------------------------------------------------- first sign-in

/// Under /login so the pre-session CSRF cookie (path /login) comes with the post.
fn activation_page(
    ctx: &Ctx<'_>,
    jar: &CookieJar<'_>,
    student_no: &str,
    error: Option<String>,
) -> Template {
    let token = new_login_csrf(jar);
    ctx.render(
        "auth/activate",
        "activate.title",
        json!({"login_csrf": token, "student_no": student_no, "error": error}),
    )
}

#[get("/login/activate")]
pub fn activate_form(ctx: Ctx<'_>, jar: &CookieJar<'_>) -> Template {
    activation_page(&ctx, jar, "", None)
}

#[derive(rocket::FromForm)]
pub struct ActivateForm<'a> {
    #[field(default = "")]
    student_no: &'a str,
    #[field(default = "")]
    code: &'a str,
    #[field(default = "")]
    national_id: &'a str,
    #[field(default = "")]
    birth_date: &'a str,
    #[field(default = "")]
    new_password: &'a str,
    #[field(default = "")]
    confirm: &'a str,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

#[post("/login/activate", data = "<form>")]
pub async fn activate_submit(
    ctx: Ctx<'_>,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    ip: ClientIp,
    form: Form<ActivateForm<'_>>,
) -> Result<Redirect, (Status, Template)> {
    let again = |status, msg: String| {
        (
            status,
            activation_page(&ctx, jar, form.student_no, Some(msg)),
        )
    };
    if !login_csrf_ok(jar, form.csrf) {
        return Err(again(Status::Forbidden, ctx.t("login.expired")));
    }
    if form.new_password != form.confirm {
        return Err(again(
            Status::UnprocessableEntity,
            ctx.t("activate.mismatch"),
        ));
    }
    let claim = super::activation::Claim {
        student_no: form.student_no,
        code: form.code,
        national_id: form.national_id,
        birth_date: form.birth_date,
        new_password: form.new_password,
    };
    match super::activation::activate(state, &claim, &ip.0).await {
        Ok(_) => Ok(Redirect::to("/login?activated=1")),
        Err(AppError::TooManyRequests { retry_after }) => Err(again(
            Status::TooManyRequests,
            ctx.t("login.throttled")
                .replace("{seconds}", &retry_after.to_string()),
        )),
        Err(e) => Err(again(e.status(), e.public_message())),
    }
}

#[derive(Deserialize)]
pub struct ActivateRequest {
    student_no: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    national_id: String,
    #[serde(default)]
    birth_date: String,
    new_password: String,
}

#[post("/auth/activate", format = "json", data = "<body>")]
pub async fn api_activate(
    state: &State<AppState>,
    ip: ClientIp,
    body: Json<ActivateRequest>,
) -> AppResult<Json<LoginOk>> {
    let claim = super::activation::Claim {
        student_no: &body.student_no,
        code: &body.code,
        national_id: &body.national_id,
        birth_date: &body.birth_date,
        new_password: &body.new_password,
    };
    let user = super::activation::activate(state, &claim, &ip.0).await?;
    Ok(Json(service::issue_session(state, user).await?))
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        index,
        login_form,
        login_submit,
        logout,
        password_form,
        password_submit,
        switch_lang,
        activate_form,
        activate_submit
    ]
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api_login, api_logout, api_password, api_me, api_activate]
}
