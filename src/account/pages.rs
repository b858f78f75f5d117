//! Login and logout pages, the password page, the language switch and first sign-in.

use super::cookies::{
    device_of, forget_login_csrf, forget_session, login_csrf_ok, new_login_csrf, remember_device,
    remember_sso_flow, remember_sso_id, session_cookie, take_sso_flow, take_sso_id,
};
use super::forms::{ActivateForm, LoginForm, PasswordForm};
use crate::access::client_addr::ClientIp;
use crate::auth::CurrentUser;
use crate::auth::{activation, service, sso, sso_flow};
use crate::error::{AppError, AppResult};
use crate::i18n::{LANG_COOKIE, Lang};
use crate::state::AppState;
use crate::web::csrf::Csrf;
use crate::web::{Ctx, safe_next};
use rocket::form::Form;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::json;

fn login_page(
    ctx: &Ctx<'_>,
    state: &AppState,
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
        json!({"login_csrf": token, "next": next, "username": username, "error": error,
            "notice": notice, "sso": state.sso.is_some()}),
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
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    next: Option<&str>,
    activated: Option<bool>,
) -> Template {
    let notice = activated.unwrap_or(false).then(|| ctx.t("activate.done"));
    login_page(&ctx, state, jar, &safe_next(next), "", None, notice)
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
            login_page(&ctx, state, jar, &next, form.username, Some(msg), None),
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
            forget_login_csrf(jar);
            // NOTE: a password session must not end at the provider with an older ID token.
            take_sso_id(jar);
            jar.add(session_cookie(state, &done.ok));
            remember_device(state, jar, done.device);
            Ok(Redirect::to(next))
        }
        Err(e) => {
            let status = e.status();
            let msg = match &e {
                AppError::BadCredentials(_) => ctx.t("login.failed"),
                AppError::Unprocessable { code, .. } if *code == "sso_only" => {
                    ctx.t("login.sso_only")
                }
                AppError::TooManyRequests { retry_after } => ctx
                    .t("login.throttled")
                    .replace("{seconds}", &retry_after.to_string()),
                _ => ctx.lang.error(&e),
            };
            Err((
                status,
                login_page(&ctx, state, jar, &next, form.username, Some(msg), None),
            ))
        }
    }
}

#[post("/logout", data = "<_form>")]
pub async fn logout(
    user: &CurrentUser,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    service::logout(state, user).await?;
    forget_session(jar);
    // NOTE: a session opened by single sign-on also ends at the provider when it offers a
    // logout address; the portal's own session is already over either way.
    if let (Some(provider), Some(id_token)) = (state.sso.as_ref(), take_sso_id(jar))
        && let Some(url) = sso::logout_url(provider, &id_token).await
    {
        return Ok(Redirect::to(url));
    }
    Ok(Redirect::to("/login"))
}

// ---------------------------------------------------------------- single sign-on

#[get("/login/sso?<next>")]
pub async fn sso_start(
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    next: Option<&str>,
) -> AppResult<Redirect> {
    let provider = state.sso.as_ref().ok_or(AppError::NotFound)?;
    let started = sso_flow::start(state, provider, &safe_next(next)).await?;
    remember_sso_flow(state, jar, started.flow);
    Ok(Redirect::to(started.redirect))
}

#[get("/login/sso/callback?<state>&<code>&<error>")]
pub async fn sso_callback(
    ctx: Ctx<'_>,
    app: &State<AppState>,
    jar: &CookieJar<'_>,
    ip: ClientIp,
    state: Option<&str>,
    code: Option<&str>,
    error: Option<&str>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let provider = app.sso.as_ref().ok_or(AppError::NotFound)?;
    let flow = take_sso_flow(jar);
    let callback = sso_flow::Callback {
        flow: flow.as_deref(),
        state,
        code,
        error,
        ip: &ip.0,
    };
    match sso_flow::finish(app, provider, callback).await? {
        Ok(done) => {
            jar.add(session_cookie(app, &done.ok));
            remember_sso_id(app, jar, done.id_token);
            Ok(Ok(Redirect::to(done.next)))
        }
        Err(refused) => {
            let key = match refused.code {
                "state" | "provider" | "exchange" | "unknown_user" | "disabled" | "no_claim" => {
                    refused.code
                }
                _ => "token",
            };
            let msg = ctx
                .t(&format!("sso.refused.{key}"))
                .replace("{name}", refused.name.as_deref().unwrap_or_default());
            Ok(Err((
                Status::Forbidden,
                login_page(&ctx, app, jar, "/dashboard", "", Some(msg), None),
            )))
        }
    }
}

#[get("/account/password")]
pub fn password_form(ctx: Ctx<'_>, _user: &CurrentUser) -> Template {
    ctx.render("auth/password", "password.title", json!({}))
}

#[post("/account/password", data = "<form>")]
pub async fn password_submit(
    ctx: Ctx<'_>,
    user: &CurrentUser,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    form: Csrf<PasswordForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let mut errors = serde_json::Map::new();
    if form.new_password != form.confirm {
        errors.insert("confirm".into(), json!(ctx.t("password.mismatch")));
    } else {
        match service::change_own_password_fresh_session(
            state,
            user.id,
            form.current,
            form.new_password,
        )
        .await
        {
            Ok(ok) => {
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
    let claim = activation::Claim {
        student_no: form.student_no,
        code: form.code,
        national_id: form.national_id,
        birth_date: form.birth_date,
        new_password: form.new_password,
    };
    match activation::activate(state, &claim, &ip.0).await {
        Ok(_) => Ok(Redirect::to("/login?activated=1")),
        Err(AppError::TooManyRequests { retry_after }) => Err(again(
            Status::TooManyRequests,
            ctx.t("login.throttled")
                .replace("{seconds}", &retry_after.to_string()),
        )),
        Err(e) => Err(again(e.status(), ctx.lang.error(&e))),
    }
}
