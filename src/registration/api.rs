//! Registration over the API: add, drop, swap and my registrations; the registrar's holds and
//! overrides; a section's roster.

use super::dto::{AddBody, DropOut, HoldBody, HoldOut, OverrideBody, OverrideOut, SwapBody};
use super::holds;
use super::idempotency::IdempotencyKey;
use super::roster::{self, RosterRow};
use super::service::{self, Added, MyRegistration, Registration, own_student};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};

/// The caller's own registrations (enrolled and waitlisted), in one term or all.
#[utoipa::path(
    params(("term" = Option<String>, Query, description = "`current`, a term id or a term code")),
    responses(
        (status = 200, description = "My registrations", body = Vec<MyRegistration>),
        (status = 404, description = "No such term", body = ErrorBody),
        (status = 422, description = "The caller is not a student", body = ErrorBody),
    )
)]
#[get("/registrations?<term>")]
pub async fn api_list(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    term: Option<&str>,
) -> AppResult<Json<Vec<MyRegistration>>> {
    let student = own_student(&user)?;
    Ok(Json(service::list_in_term(state, student, term).await?))
}

/// The answer of an add: 201 with the registration, or the first answer again for a known key.
pub struct AddAnswer(Status, String);

impl<'r> rocket::response::Responder<'r, 'static> for AddAnswer {
    fn respond_to(self, _req: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        rocket::Response::build()
            .status(self.0)
            .header(ContentType::JSON)
            .sized_body(self.1.len(), std::io::Cursor::new(self.1))
            .ok()
    }
}

/// Register for a section: enrolled, or waitlisted with a position; an `Idempotency-Key` replays the first answer.
#[utoipa::path(
    params(("Idempotency-Key" = Option<String>, Header, description = "A key (at most 200 characters) under which the first answer is kept and replayed")),
    request_body = AddBody,
    responses(
        (status = 201, description = "Enrolled or waitlisted", body = Registration),
        (status = 409, description = "Already registered, full, waitlist full or a time clash", body = ErrorBody),
        (status = 422, description = "Refused: hold, prerequisites, credit limit, window closed, …", body = ErrorBody),
    )
)]
#[post("/registrations", format = "json", data = "<body>")]
pub async fn api_add(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    key: IdempotencyKey,
    body: Json<AddBody>,
) -> AppResult<AddAnswer> {
    let student = own_student(&user)?;
    let reg = match key.0 {
        Some(k) => match service::add_once(&state.db, student, body.section_id, user.id, &k).await?
        {
            Added::New(reg) => reg,
            Added::Replayed(status, body) => {
                return Ok(AddAnswer(
                    Status::from_code(status).unwrap_or(Status::Created),
                    body,
                ));
            }
        },
        None => service::add(&state.db, student, body.section_id, Some(user.id)).await?,
    };
    Ok(AddAnswer(
        Status::Created,
        serde_json::to_string(&reg).map_err(AppError::internal)?,
    ))
}

/// Drop a registration before the add/drop deadline; the first waitlisted student is promoted.
#[utoipa::path(
    params(("id" = i64, Path, description = "The registration")),
    responses(
        (status = 200, description = "Dropped", body = DropOut),
        (status = 404, description = "No such registration of the caller", body = ErrorBody),
        (status = 422, description = "Too late to drop, or not a student", body = ErrorBody),
    )
)]
#[delete("/registrations/<id>")]
pub async fn api_drop(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<DropOut>> {
    let student = own_student(&user)?;
    let promoted = service::drop(&state.db, student, id, Some(user.id)).await?;
    Ok(Json(DropOut {
        id,
        status: service::DROPPED,
        promoted_student_id: promoted,
    }))
}

/// Swap a registration for another section of the same course; the old seat is kept when the new one cannot be had.
#[utoipa::path(
    request_body = SwapBody,
    responses(
        (status = 201, description = "Swapped", body = Registration),
        (status = 404, description = "No such registration of the caller", body = ErrorBody),
        (status = 409, description = "The new section is full or clashes", body = ErrorBody),
        (status = 422, description = "Refused", body = ErrorBody),
    )
)]
#[post("/registrations/swap", format = "json", data = "<body>")]
pub async fn api_swap(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    body: Json<SwapBody>,
) -> AppResult<(Status, Json<Registration>)> {
    let student = own_student(&user)?;
    let reg = service::swap(
        &state.db,
        student,
        body.from_registration_id,
        body.to_section_id,
        Some(user.id),
    )
    .await?;
    Ok((Status::Created, Json(reg)))
}

/// A student's holds, current and lifted, newest first.
#[utoipa::path(
    params(("id" = i64, Path, description = "The student")),
    responses(
        (status = 200, description = "Holds", body = Vec<HoldOut>),
        (status = 404, description = "No such student", body = ErrorBody),
    )
)]
#[get("/students/<id>/holds")]
pub async fn api_holds(
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<HoldOut>>> {
    let list = holds::holds_of(&state.db, id).await?;
    Ok(Json(list.into_iter().map(HoldOut::from).collect()))
}

/// Place a hold (with a reason) that blocks the student's registration.
#[utoipa::path(
    params(("id" = i64, Path, description = "The student")),
    request_body = HoldBody,
    responses(
        (status = 201, description = "Placed", body = HoldOut),
        (status = 404, description = "No such student", body = ErrorBody),
        (status = 422, description = "No reason, or one over 500 characters", body = ErrorBody),
    )
)]
#[post("/students/<id>/holds", format = "json", data = "<body>")]
pub async fn api_place_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<HoldBody>,
) -> AppResult<(Status, Json<HoldOut>)> {
    let hold = holds::place_hold(&state.db, who.id, id, &body.reason).await?;
    Ok((Status::Created, Json(hold.into())))
}

/// Lift a hold (once).
#[utoipa::path(
    params(("id" = i64, Path, description = "The hold")),
    responses(
        (status = 200, description = "Lifted", body = HoldOut),
        (status = 404, description = "No such hold", body = ErrorBody),
        (status = 409, description = "Already lifted", body = ErrorBody),
    )
)]
#[delete("/holds/<id>")]
pub async fn api_lift_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<HoldOut>> {
    Ok(Json(holds::lift_hold(&state.db, who.id, id).await?.into()))
}

/// Let one student exceed a section's capacity or skip its prerequisites, with a reason.
#[utoipa::path(
    params(("id" = i64, Path, description = "The student")),
    request_body = OverrideBody,
    responses(
        (status = 201, description = "Granted", body = OverrideOut),
        (status = 404, description = "No such student", body = ErrorBody),
        (status = 422, description = "Unknown kind or section, or no reason", body = ErrorBody),
    )
)]
#[post("/students/<id>/overrides", format = "json", data = "<body>")]
pub async fn api_grant_override(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<OverrideBody>,
) -> AppResult<(Status, Json<OverrideOut>)> {
    let row = holds::grant_override(&state.db, who.id, id, &body).await?;
    Ok((Status::Created, Json(row.into())))
}

/// A section's enrolled and waitlisted students (its teacher, or staff who see every student).
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    responses(
        (status = 200, description = "The roster", body = Vec<RosterRow>),
        (status = 404, description = "No such section", body = ErrorBody),
    )
)]
#[get("/sections/<id>/roster")]
pub async fn api_roster(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<RosterRow>>> {
    Ok(Json(roster::roster(&state.db, user, id).await?))
}
