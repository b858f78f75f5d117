//! Login and accounts (系统登录): argon2id passwords, JWT sessions in a cookie or a bearer
//! header, CSRF tokens bound to the session, throttled logins.

pub mod activation;
pub mod handlers;
pub mod password;
pub mod service;
pub mod session;
pub mod throttle;
pub mod token;
pub mod username;

pub use session::CurrentUser;

/// This domain's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(handlers::api_login, handlers::api_me))]
struct ApiDoc;
