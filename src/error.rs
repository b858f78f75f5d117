//! One error type for the whole portal and the one place that turns it into a response:
//! JSON `{"error":{"code","message"}}` under `/api`, an HTML page elsewhere.

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde_json::json;
use std::io::Cursor;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    BadCredentials(String),
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error(
        "the form has expired or was not sent from this session; reload the page and try again"
    )]
    Csrf,
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// The database is out of reach for now (503 with `Retry-After`); the detail is logged.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Unprocessable {
            code,
            message: message.into(),
        }
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        AppError::Internal(message.to_string())
    }

    pub fn status(&self) -> Status {
        match self {
            AppError::NotFound => Status::NotFound,
            AppError::Unauthorized | AppError::BadCredentials(_) => Status::Unauthorized,
            AppError::Forbidden | AppError::Csrf => Status::Forbidden,
            AppError::BadRequest { .. } => Status::BadRequest,
            AppError::Conflict { .. } => Status::Conflict,
            AppError::Unprocessable { .. } => Status::UnprocessableEntity,
            AppError::TooManyRequests { .. } => Status::TooManyRequests,
            AppError::Unavailable(_) => Status::ServiceUnavailable,
            AppError::Db(e) if crate::db::is_transient(e) => Status::ServiceUnavailable,
            AppError::Db(_) | AppError::Internal(_) => Status::InternalServerError,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::BadCredentials(_) => "bad_credentials",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::BadRequest { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Unprocessable { code, .. } => code,
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unavailable(_) => UNAVAILABLE,
            AppError::Db(e) if crate::db::is_transient(e) => UNAVAILABLE,
            AppError::Db(_) | AppError::Internal(_) => "internal",
        }
    }

    /// The message shown to the user; internal details stay in the log.
    pub fn public_message(&self) -> String {
        if self.status() == Status::ServiceUnavailable {
            return UNAVAILABLE_MESSAGE.to_string();
        }
        match self {
            AppError::Db(_) | AppError::Internal(_) | AppError::Unavailable(_) => {
                "something went wrong on our side; the error has been logged".to_string()
            }
            other => excerpt(&other.to_string(), MESSAGE_CHARS),
        }
    }
}

/// The error code of a 503: the database is out of reach for now.
pub const UNAVAILABLE: &str = "unavailable";
const UNAVAILABLE_MESSAGE: &str =
    "the service is briefly unavailable; please try again in a few seconds";
/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u64 = 5;
/// The longest message an error answer carries; a message quoting what was sent is cut, so an
/// error page never echoes a whole body back.
pub const MESSAGE_CHARS: usize = 300;

/// At most `max` characters of `text`, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Whether a request expects JSON (the API) rather than an HTML page.
pub fn wants_json(req: &Request<'_>) -> bool {
    req.uri().path().as_str().starts_with("/api/")
}

pub fn json_body(code: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message}}).to_string()
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status.code >= 500 {
            tracing::error!(error = %self, path = %req.uri(), "request failed");
        } else {
            tracing::debug!(error = %self, path = %req.uri(), "request refused");
        }
        let mut builder = Response::build();
        if let AppError::TooManyRequests { retry_after } = &self {
            builder.header(Header::new("Retry-After", retry_after.to_string()));
        }
        if status == Status::ServiceUnavailable {
            builder.header(Header::new("Retry-After", RETRY_AFTER_SECONDS.to_string()));
        }
        if wants_json(req) {
            let body = json_body(self.code(), &self.public_message());
            return builder
                .status(status)
                .header(ContentType::JSON)
                .sized_body(body.len(), Cursor::new(body))
                .ok();
        }
        if matches!(self, AppError::Unauthorized) {
            let next = req.uri().to_string();
            let location = format!("/login?next={}", crate::web::url_encode(&next));
            return builder
                .status(Status::SeeOther)
                .header(Header::new("Location", location))
                .ok();
        }
        let message = if status == Status::ServiceUnavailable {
            crate::i18n::Lang::from_request_parts(req).t("error.503")
        } else {
            self.public_message()
        };
        let html = crate::web::error_page(req, status, &message);
        builder
            .status(status)
            .header(ContentType::HTML)
            .sized_body(html.len(), Cursor::new(html))
            .ok()
    }
}
