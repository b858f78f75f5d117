//! Authentication (系统登录): argon2id passwords, JWT sessions in a cookie or a bearer header,
//! CSRF tokens bound to the session, throttled logins, first sign-in with an activation code, single sign-on (OpenID Connect).
//! It knows no pages: the sign-in pages and API are in `crate::account`.

pub mod activation;
pub mod password;
pub mod service;
pub mod session;
pub mod sso;
pub mod sso_flow;
pub mod throttle;
pub mod token;
pub mod username;

pub use session::CurrentUser;
