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

/// The values a coded message is filled with (`{name}` in the translation of
/// `error.code.<code>`), so a page says it in the reader's language; the English `message`
/// stays for the JSON API and the log.
pub type Args = Vec<(&'static str, String)>;

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
    BadRequest {
        code: &'static str,
        message: String,
        args: Args,
    },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        args: Args,
    },
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        args: Args,
    },
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
            args: Vec::new(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
            args: Vec::new(),
        }
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Unprocessable {
            code,
            message: message.into(),
            args: Vec::new(),
        }
    }
    /// The same error with one more value for its translated message.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        if let AppError::BadRequest { args, .. }
        | AppError::Conflict { args, .. }
        | AppError::Unprocessable { args, .. } = &mut self
        {
            args.push((name, value.to_string()));
        }
        self
    }

    /// The values of its translated message.
    pub fn args(&self) -> &[(&'static str, String)] {
        match self {
            AppError::BadRequest { args, .. }
            | AppError::Conflict { args, .. }
            | AppError::Unprocessable { args, .. } => args,
            _ => &[],
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
            AppError::Db(e) if is_transient(e) => Status::ServiceUnavailable,
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
            AppError::Db(e) if is_transient(e) => UNAVAILABLE,
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
    /// The error's code, for a translated message where there is one (`error.code.<code>`).
    pub code: Option<&'static str>,
    /// The values of the translated message.
    pub args: Args,
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
            code: Some(self.code()),
            args: self.args().to_vec(),
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

/// Whether a database error says the database is out of reach for now (the pool timed out, a
/// connection was closed, reset or terminated, the file is busy), rather than that the query
/// itself is wrong. The first is a 503 the user can retry; the second a bug, a 500.
pub fn is_transient(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_transient(e)
        }
        _ => false,
    }
}

fn sqlx_transient(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed
        | Error::BeginFailed => true,
        Error::Database(d) => {
            let Some(code) = d.code() else {
                return false;
            };
            if d.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN (primary codes).
                code.parse::<i32>()
                    .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 14))
            } else {
                // PostgreSQL: connection exceptions (08…), the server shutting down or
                // terminating the backend (57P01–57P03), too many connections (53300).
                code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
            }
        }
        _ => false,
    }
}
