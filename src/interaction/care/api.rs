//! Care API: the work list, recording interventions, the effect report.

use super::service::{self, NewIntervention, WorkRow, WorklistQuery};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::AppResult;
use crate::paging::Page;
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};

type Who<'r> = Perm<'r, can::RecordInterventions>;

#[get("/care/worklist?<level>&<page>&<per_page>")]
pub async fn api_care_worklist(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    level: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> AppResult<Json<Page<WorkRow>>> {
    let q = WorklistQuery {
        level,
        page,
        per_page,
    };
    Ok(Json(
        service::audited_worklist(&state.db, &who, &q, false).await?,
    ))
}

#[post("/interventions", data = "<body>")]
pub async fn api_record_intervention(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    body: Json<NewIntervention>,
) -> AppResult<(Status, Json<crate::entity::interventions::Model>)> {
    Ok((
        Status::Created,
        Json(service::record(&state.db, &who, &body).await?),
    ))
}

#[get("/care/effect")]
pub async fn api_care_effect(
    _on: ModuleOn<on::Messages>,
    _who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<service::Effect>> {
    Ok(Json(service::effect(&state.db).await?))
}
