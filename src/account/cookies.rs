//! The cookies of signing in: the session, the device a user signed in from before, and the
//! pre-session CSRF token of the forms under /login.

use crate::auth::service::LoginOk;
use crate::auth::session::SESSION_COOKIE;
use crate::state::AppState;
use rocket::http::{Cookie, CookieJar, SameSite};

use crate::web::csrf::LOGIN_COOKIE as LOGIN_CSRF_COOKIE;

/// Marks a browser that has signed in to an account before (see `auth::service::login`).
pub const DEVICE_COOKIE: &str = "srm_device";

pub fn session_cookie(state: &AppState, ok: &LoginOk) -> Cookie<'static> {
    let mut c = Cookie::new(SESSION_COOKIE, ok.token.clone());
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(state.config.cookie_secure);
    c.set_path("/");
    c
}

/// The device cookie after a successful sign-in: only sent back to the sign-in routes.
pub fn remember_device(state: &AppState, jar: &CookieJar<'_>, token: String) {
    let mut c = Cookie::new(DEVICE_COOKIE, token);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(state.config.cookie_secure);
    c.set_path("/");
    c.set_max_age(rocket::time::Duration::days(180));
    jar.add(c);
}

pub fn device_of(jar: &CookieJar<'_>) -> Option<String> {
    jar.get(DEVICE_COOKIE).map(|c| c.value().to_string())
}

/// A pre-session CSRF token for the forms under /login (sign-in and first sign-in).
pub fn new_login_csrf(jar: &CookieJar<'_>) -> String {
    crate::web::csrf::issue_login_token(jar)
}

/// Whether a /login form carries its pre-session token. NOTE: checked by hand, not by the
/// `Csrf` guard, so that an expired token shows the sign-in form again with its message.
pub fn login_csrf_ok(jar: &CookieJar<'_>, sent: &str) -> bool {
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    !expected.is_empty() && crate::auth::token::constant_time_eq(&expected, sent)
}

/// Forgets the pre-session CSRF token once signed in.
pub fn forget_login_csrf(jar: &CookieJar<'_>) {
    jar.remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/login"));
}

/// Ends the session in this browser.
pub fn forget_session(jar: &CookieJar<'_>) {
    jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
}

/// The pending single sign-on of this browser: signed, HttpOnly, only sent back to /login/sso
/// (the provider's redirect back is a top-level GET, which `Lax` lets through).
pub const SSO_FLOW_COOKIE: &str = "srm_sso_flow";
/// The ID token of a session opened by single sign-on: the hint for the provider's logout, so
/// only sent to /logout.
pub const SSO_ID_COOKIE: &str = "srm_sso_id";

fn private_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    path: &'static str,
) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(state.config.cookie_secure);
    c.set_path(path);
    c
}

pub fn remember_sso_flow(state: &AppState, jar: &CookieJar<'_>, value: String) {
    let mut c = private_cookie(state, SSO_FLOW_COOKIE, value, "/login/sso");
    c.set_max_age(rocket::time::Duration::seconds(
        crate::auth::sso::FLOW_TTL_SECONDS,
    ));
    jar.add(c);
}

/// The pending single sign-on, taken: it is forgotten as it is read, so it serves once.
pub fn take_sso_flow(jar: &CookieJar<'_>) -> Option<String> {
    let value = jar.get(SSO_FLOW_COOKIE).map(|c| c.value().to_string());
    jar.remove(Cookie::build(SSO_FLOW_COOKIE).path("/login/sso"));
    value
}

pub fn remember_sso_id(state: &AppState, jar: &CookieJar<'_>, id_token: String) {
    jar.add(private_cookie(state, SSO_ID_COOKIE, id_token, "/logout"));
}

pub fn take_sso_id(jar: &CookieJar<'_>) -> Option<String> {
    let value = jar.get(SSO_ID_COOKIE).map(|c| c.value().to_string());
    jar.remove(Cookie::build(SSO_ID_COOKIE).path("/logout"));
    value
}
