//! One error type for the whole portal and the one place that turns it into a response:
//! JSON `{"error":{"code","message"}}` under `/api`; elsewhere the status goes to the catcher
//! in `web`, which renders the page with the message left here (this module never imports the
//! web layer).

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::Serialize;
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
    /// A failure of ours; the source is kept for the log.
    #[error("{0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
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
    /// An internal failure, keeping its source error (a message is also accepted).
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AppError::Internal(source.into())
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

/// The body of every JSON error answer: `{"error":{"code","message"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable code to act on, and a message for people.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `not_found`, `seat_taken`, `csrf`.
    #[schema(example = "not_found")]
    pub code: String,
    /// A short message in English, at most 300 characters.
    pub message: String,
}

pub fn json_body(code: &str, message: &str) -> String {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message: message.to_string(),
        },
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// What an error answer of a page leaves for the catcher that renders it: the message, and
/// how long to wait before trying again.
#[derive(Debug, Default, Clone)]
pub struct ErrorNote {
    pub message: Option<String>,
    pub retry_after: Option<u64>,
}

impl ErrorNote {
    /// The note this request's error left, if any.
    pub fn of(req: &Request<'_>) -> ErrorNote {
        req.local_cache(ErrorNote::default).clone()
    }
}

impl AppError {
    /// Leaves this error's message for the page catcher (once per request) and returns the
    /// status the catcher is called with.
    pub fn leave_note(&self, req: &Request<'_>) -> Status {
        let retry_after = match self {
            AppError::TooManyRequests { retry_after } => Some(*retry_after),
            _ => None,
        };
        let message = (self.status() != Status::ServiceUnavailable).then(|| self.public_message());
        req.local_cache(|| ErrorNote {
            message,
            retry_after,
        });
        self.status()
    }
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
        // NOTE: the page is the web layer's to render: the catcher for this status reads the
        // note (message, Retry-After) and sends a 401 to the login form.
        Err(self.leave_note(req))
    }
}
