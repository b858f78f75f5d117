//! Care API: the work list, recording interventions, the effect report.

use super::dto::{Effect, InterventionItem, NewIntervention, ReferralRow, WorkRow, WorklistQuery};
use super::service;
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::{AppResult, ErrorBody};
use crate::paging::{Page, PageQuery};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};

type Who<'r> = Perm<'r, can::RecordInterventions>;

/// Open risk flags of the caller's students, with the care given (paged in the database).
#[utoipa::path(
    params(WorklistQuery),
    responses(
        (status = 200, description = "One page of the work list", body = Page<WorkRow>),
        (status = 403, description = "Not allowed to record care", body = ErrorBody),
        (status = 422, description = "A query parameter is invalid", body = ErrorBody),
    )
)]
#[get("/care/worklist?<q..>")]
pub async fn api_care_worklist(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    q: WorklistQuery,
) -> AppResult<Json<Page<WorkRow>>> {
    Ok(Json(
        service::audited_worklist(&state.db, &who, &q, false).await?,
    ))
}

/// Record a meeting, tutoring, referral or message for a student.
#[utoipa::path(
    request_body = NewIntervention,
    responses(
        (status = 201, description = "Recorded", body = InterventionItem),
        (status = 403, description = "Not allowed to record care", body = ErrorBody),
        (status = 404, description = "No such student in the caller's scope", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    )
)]
#[post("/interventions", format = "json", data = "<body>")]
pub async fn api_record_intervention(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    body: Json<NewIntervention>,
) -> AppResult<(Status, Json<InterventionItem>)> {
    let recorded = service::record(&state.db, &who, &body).await?;
    Ok((Status::Created, Json(recorded.into())))
}

/// Flagged students with care vs without: score change, sizes, means.
#[utoipa::path(
    responses(
        (status = 200, description = "The comparison, overall and per risk level", body = Effect),
        (status = 403, description = "Not allowed to record care", body = ErrorBody),
    )
)]
#[get("/care/effect")]
pub async fn api_care_effect(
    _on: ModuleOn<on::Messages>,
    _who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<Effect>> {
    Ok(Json(service::effect(&state.db).await?))
}

/// Students handed to care as a group (a cell of the value matrix) and not cared for since, of
/// the caller's students, oldest first (paged in the database).
#[utoipa::path(
    params(PageQuery),
    responses(
        (status = 200, description = "One page of open referrals", body = Page<ReferralRow>),
        (status = 403, description = "Not allowed to record care", body = ErrorBody),
    )
)]
#[get("/care/referrals?<q..>")]
pub async fn api_care_referrals(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    q: PageQuery,
) -> AppResult<Json<Page<ReferralRow>>> {
    Ok(Json(service::referrals(&state.db, &who, q.req()).await?))
}
