//! The "download my data" API: `GET` answers 202 while the archive is built and 200 with it
//! when ready; `POST` asks for a fresh one.

use super::service::{self, ExportStatus, Fetched};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use rocket::http::{Header, Status};
use rocket::serde::json::Json;
use rocket::{Responder, State, get, post};

/// The archive, as a download.
#[derive(Responder)]
#[response(content_type = "application/zip")]
pub struct ZipFile {
    pub body: Vec<u8>,
    pub disposition: Header<'static>,
}

impl ZipFile {
    pub fn new(body: Vec<u8>, name: &str) -> ZipFile {
        ZipFile {
            body,
            disposition: Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ),
        }
    }
}

/// The archive when ready, else its status (with a `Retry-After`).
#[derive(Responder)]
pub enum ExportAnswer {
    Ready(ZipFile),
    Pending((Status, Json<ExportStatus>), Header<'static>),
}

/// Everything the portal holds about the caller, as one zip archive of JSON and CSV files
/// (profile and its history, registrations, grades and their changes, attendance, messages,
/// cases, care records, risk flags with reasons, notifications, settings, staff reads). The
/// first call starts building it and answers 202; ask again until it answers 200.
#[utoipa::path(
    responses(
        (status = 200, description = "The archive", content_type = "application/zip", body = Vec<u8>),
        (status = 202, description = "Being built: ask again after Retry-After seconds", body = ExportStatus),
        (status = 403, description = "Not a student", body = ErrorBody),
        (status = 404, description = "The caller has no student record", body = ErrorBody),
    )
)]
#[get("/me/export")]
pub async fn api_my_export(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
) -> AppResult<ExportAnswer> {
    let student = who.student_id.ok_or(AppError::NotFound)?;
    Ok(
        match service::fetch(&state.db, &state.jobs, who.id, student).await? {
            Fetched::Ready(body, name) => ExportAnswer::Ready(ZipFile::new(body, &name)),
            Fetched::Pending(s) => pending(s),
        },
    )
}

/// Builds a fresh archive (the previous one is replaced when it is ready).
#[utoipa::path(
    responses(
        (status = 202, description = "Being built: GET /me/export until it answers 200", body = ExportStatus),
        (status = 403, description = "Not a student", body = ErrorBody),
        (status = 404, description = "The caller has no student record", body = ErrorBody),
    )
)]
#[post("/me/export")]
pub async fn api_my_export_refresh(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
) -> AppResult<ExportAnswer> {
    let student = who.student_id.ok_or(AppError::NotFound)?;
    Ok(pending(
        service::request(&state.db, &state.jobs, who.id, student, true).await?,
    ))
}

fn pending(s: ExportStatus) -> ExportAnswer {
    ExportAnswer::Pending((Status::Accepted, Json(s)), Header::new("Retry-After", "2"))
}
