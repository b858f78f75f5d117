//! The attendance API under `/api/v1`: a section's meetings, a meeting's roll (read and
//! save), and a student's own attendance.

use super::dto::{RollBody, SectionMeetings};
use super::service::{self, Roll, RollSaved, StudentAttendance, today};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use chrono::NaiveDate;
use rocket::serde::json::Json;
use rocket::{State, get, put};

type Db = State<AppState>;

/// A date path value (the document says YYYY-MM-DD; the parameter check refuses others).
fn parse_date(text: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        AppError::unprocessable("invalid_parameter", "date must be a date, YYYY-MM-DD")
    })
}

/// A section's class meetings up to today, newest first, each with whether its roll was taken
/// (its teacher; registrar staff).
#[utoipa::path(
    params(("id" = i64, Path, description = "The section", minimum = 1)),
    responses(
        (status = 200, description = "The meetings", body = SectionMeetings),
        (status = 403, description = "Not this section's teacher (the refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such section, or the courses module is off", body = ErrorBody),
    )
)]
#[get("/sections/<id>/meetings")]
pub async fn api_meetings(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<SectionMeetings>> {
    let s = service::section_access(&state.db, user, id).await?;
    let mut m = service::meetings_of(&state.db, &[&s], today()).await?;
    Ok(Json(SectionMeetings {
        section_id: s.id,
        items: m.remove(&s.id).unwrap_or_default(),
        course_code: s.course_code,
        section_no: s.section_no,
        term_code: s.term_code,
    }))
}

/// One meeting's roll: every enrolled student, present unless marked (the read is audited).
#[utoipa::path(
    params(
        ("id" = i64, Path, description = "The section", minimum = 1),
        ("date" = String, Path, format = Date, description = "The meeting's date, YYYY-MM-DD"),
    ),
    responses(
        (status = 200, description = "The roll", body = Roll),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 422, description = "Not a meeting of the section, or in the future", body = ErrorBody),
    )
)]
#[get("/sections/<id>/attendance/<date>")]
pub async fn api_roll(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
    date: &str,
) -> AppResult<Json<Roll>> {
    let date = parse_date(date)?;
    let s = service::section_access(&state.db, user, id).await?;
    Ok(Json(
        service::roll(&state.db, user, &s, date, today()).await?,
    ))
}

/// Save a meeting's roll: the exceptions (absent, late, excused); everyone else was present.
/// Replaces the meeting's earlier marks; one transaction; audited.
#[utoipa::path(
    params(
        ("id" = i64, Path, description = "The section", minimum = 1),
        ("date" = String, Path, format = Date, description = "The meeting's date, YYYY-MM-DD"),
    ),
    request_body = RollBody,
    responses(
        (status = 200, description = "Saved", body = RollSaved),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 422, description = "Not a meeting, in the future, a student not enrolled, or a body of the wrong shape", body = ErrorBody),
    )
)]
#[put("/sections/<id>/attendance/<date>", format = "json", data = "<body>")]
pub async fn api_save_roll(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
    date: &str,
    body: Json<RollBody>,
) -> AppResult<Json<RollSaved>> {
    let date = parse_date(date)?;
    let s = service::section_access(&state.db, user, id).await?;
    let saved = service::save_roll(&state.db, user, &s, date, today(), &body.marks).await?;
    Ok(Json(saved))
}

/// The caller's attendance this term: per section the rate and every mark other than present.
#[utoipa::path(
    responses(
        (status = 200, description = "The caller's attendance", body = StudentAttendance),
        (status = 403, description = "The caller has no student record", body = ErrorBody),
    )
)]
#[get("/me/attendance")]
pub async fn api_my_attendance(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &Db,
) -> AppResult<Json<StudentAttendance>> {
    let id = service::own_student(&who)?;
    Ok(Json(
        service::student_attendance(&state.db, id, today()).await?,
    ))
}

/// A student's attendance this term, for staff who may read the record (advisor, their
/// teachers, registrar); the read is audited like every read of a record.
#[utoipa::path(
    params(("id" = i64, Path, description = "The student record", minimum = 1)),
    responses(
        (status = 200, description = "The student's attendance", body = StudentAttendance),
        (status = 403, description = "Not in the caller's scope (the refusal is audited)", body = ErrorBody),
        (status = 404, description = "The courses module is off", body = ErrorBody),
    )
)]
#[get("/students/<id>/attendance")]
pub async fn api_student_attendance(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<StudentAttendance>> {
    crate::students::service::authorize_read(&state.db, user, id, "attendance").await?;
    Ok(Json(
        service::student_attendance(&state.db, id, today()).await?,
    ))
}
