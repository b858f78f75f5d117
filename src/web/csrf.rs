//! The CSRF check of every state-changing page form, done once by a data guard before the
//! handler runs: `form: Csrf<MyForm>` instead of `Form<MyForm>`. The form's `_csrf` field must
//! match the session's token (cookie sessions) or, when nobody is logged in, the pre-session
//! token of the `/login` forms. Bearer-token callers cannot be driven by another site and are
//! not asked. Multipart uploads (`super::upload::Upload`) run the same check.

use crate::auth::session::MaybeUser;
use crate::auth::token::constant_time_eq;
use crate::error::AppError;
use rocket::data::{self, Data, FromData};
use rocket::form::{self, Form, FromForm, ValueField};
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use std::ops::Deref;

/// The name of the token field in every page form.
pub const FIELD: &str = "_csrf";
/// The cookie holding the pre-session token of the `/login` forms.
pub const LOGIN_COOKIE: &str = "srm_login_csrf";

/// A page form whose `_csrf` field matched; dereferences to the form.
#[derive(Debug)]
pub struct Csrf<T>(pub T);

impl<T> Csrf<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Csrf<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Issues the pre-session token of a `/login` form: a random value in a strict, HTTP-only
/// cookie that only `/login` pages receive, echoed by the form.
pub fn issue_login_token(jar: &CookieJar<'_>) -> String {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut cookie = Cookie::new(LOGIN_COOKIE, token.clone());
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path("/login");
    jar.add(cookie);
    token
}

/// Whether `sent` is the token this request's form must carry. Fails only when the database
/// does not answer (the session cannot be checked: 503).
pub async fn token_matches(req: &Request<'_>, sent: &str) -> Result<bool, AppError> {
    let expected = match MaybeUser::from_request(req).await {
        Outcome::Success(MaybeUser(Some(user))) if !user.via_cookie => return Ok(true),
        Outcome::Success(MaybeUser(Some(user))) => user.csrf.clone(),
        Outcome::Success(MaybeUser(None)) | Outcome::Forward(_) => req
            .cookies()
            .get(LOGIN_COOKIE)
            .map(|c| c.value().to_string())
            .unwrap_or_default(),
        Outcome::Error((_, e)) => return Err(e),
    };
    Ok(!expected.is_empty() && constant_time_eq(sent, &expected))
}

/// The refusal of a data guard, with the message left for the page catcher.
pub fn refuse<'r, T>(req: &Request<'_>, error: AppError) -> data::Outcome<'r, T, AppError> {
    let status = error.leave_note(req);
    data::Outcome::Error((status, error))
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r> + Send> FromData<'r> for Csrf<T> {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let parsed = match Form::<WithToken<'r, T>>::from_data(req, data).await {
            data::Outcome::Success(form) => form.into_inner(),
            data::Outcome::Forward(f) => return data::Outcome::Forward(f),
            data::Outcome::Error((status, errors)) => {
                // NOTE: the form's own status stands (413 too large, 422 unreadable).
                let error = if status == Status::PayloadTooLarge {
                    AppError::bad_request("too_large", "the form is too large")
                } else {
                    AppError::unprocessable("bad_form", errors.to_string())
                };
                let _ = error.leave_note(req);
                return data::Outcome::Error((status, error));
            }
        };
        if parsed.too_large {
            let error = AppError::bad_request("too_large", "the form is too large");
            let _ = error.leave_note(req);
            return data::Outcome::Error((Status::PayloadTooLarge, error));
        }
        match token_matches(req, parsed.token.as_deref().unwrap_or_default()).await {
            Ok(true) => {}
            Ok(false) => return refuse(req, AppError::Csrf),
            Err(e) => return refuse(req, e),
        }
        match parsed.form {
            Ok(form) => data::Outcome::Success(Csrf(form)),
            Err(errors) => refuse(req, AppError::unprocessable("bad_form", errors.to_string())),
        }
    }
}

/// A form `T` with the token taken aside (and still handed to `T`, which may ignore it).
struct WithToken<'r, T> {
    token: Option<String>,
    /// Set when the body itself was refused (too large), whatever `T` makes of it.
    too_large: bool,
    form: form::Result<'r, T>,
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r> + Send> FromForm<'r> for WithToken<'r, T> {
    type Context = (Option<String>, bool, T::Context);

    fn init(opts: form::Options) -> Self::Context {
        (None, false, T::init(opts))
    }

    fn push_value(ctxt: &mut Self::Context, field: ValueField<'r>) {
        if field.name.source().as_str() == FIELD {
            ctxt.0 = Some(field.value.to_string());
        }
        T::push_value(&mut ctxt.2, field);
    }

    async fn push_data(ctxt: &mut Self::Context, field: form::DataField<'r, '_>) {
        T::push_data(&mut ctxt.2, field).await;
    }

    fn push_error(ctxt: &mut Self::Context, error: form::Error<'r>) {
        ctxt.1 |= error.status() == Status::PayloadTooLarge;
        T::push_error(&mut ctxt.2, error);
    }

    fn finalize(ctxt: Self::Context) -> form::Result<'r, Self> {
        Ok(WithToken {
            token: ctxt.0,
            too_large: ctxt.1,
            form: T::finalize(ctxt.2),
        })
    }
}
