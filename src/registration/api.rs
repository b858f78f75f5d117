//! Registration over the API: add, drop, swap and my registrations; the registrar's holds and
//! overrides; a section's roster.

use super::dto::{AddBody, DropOut, HoldBody, OverrideBody, SwapBody};
use super::holds;
use super::idempotency::IdempotencyKey;
use super::roster::{self, RosterRow};
use super::service::{self, Added, MyRegistration, own_student};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::entity::{holds as hold_rows, registration_overrides};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};

#[get("/registrations?<term>")]
pub async fn api_list(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    term: Option<&str>,
) -> AppResult<Json<Vec<MyRegistration>>> {
    let student = own_student(&user)?;
    Ok(Json(service::list_in_term(&state.db, student, term).await?))
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

#[post("/registrations/swap", format = "json", data = "<body>")]
pub async fn api_swap(
    _on: ModuleOn<on::Courses>,
    user: Perm<'_, can::RegisterSelf>,
    state: &State<AppState>,
    body: Json<SwapBody>,
) -> AppResult<(Status, Json<service::Registration>)> {
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

#[get("/students/<id>/holds")]
pub async fn api_holds(
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<hold_rows::Model>>> {
    Ok(Json(holds::holds_of(&state.db, id).await?))
}

#[post("/students/<id>/holds", format = "json", data = "<body>")]
pub async fn api_place_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<HoldBody>,
) -> AppResult<(Status, Json<hold_rows::Model>)> {
    let hold = holds::place_hold(&state.db, who.id, id, &body.reason).await?;
    Ok((Status::Created, Json(hold)))
}

#[delete("/holds/<id>")]
pub async fn api_lift_hold(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<hold_rows::Model>> {
    Ok(Json(holds::lift_hold(&state.db, who.id, id).await?))
}

#[post("/students/<id>/overrides", format = "json", data = "<body>")]
pub async fn api_grant_override(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageRegistrations>,
    state: &State<AppState>,
    id: i64,
    body: Json<OverrideBody>,
) -> AppResult<(Status, Json<registration_overrides::Model>)> {
    let row = holds::grant_override(&state.db, who.id, id, &body).await?;
    Ok((Status::Created, Json(row)))
}

#[get("/sections/<id>/roster")]
pub async fn api_roster(
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<RosterRow>>> {
    Ok(Json(roster::roster(&state.db, user, id).await?))
}
