//! Case API: open, list, show, handle, rate, and the administrator's report.

use super::service::{self, Action, ListFilter, NewCase};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde_json::{Value, json};

#[post("/cases", data = "<body>")]
pub async fn api_open_case(
    _on: ModuleOn<on::Messages>,
    who: Perm<'_, can::UseMessages>,
    state: &State<AppState>,
    body: Json<NewCase>,
) -> AppResult<(Status, Json<Value>)> {
    let case = service::open(&state.db, &who, &body).await?;
    Ok((
        Status::Created,
        Json(
            json!({"id": case.id, "queue": case.queue, "status": case.status, "due_at": case.due_at}),
        ),
    ))
}

#[get("/cases?<status>&<view>&<page>&<per_page>")]
pub async fn api_list_cases(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    status: Option<String>,
    view: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> AppResult<Json<Page<service::CaseRow>>> {
    let rows = service::list(&state.db, user, &ListFilter { status, view }).await?;
    let req = PageReq::new(page, per_page);
    let total = rows.len() as u64;
    let items = rows
        .into_iter()
        .skip(((req.page - 1) * req.per_page) as usize)
        .take(req.per_page as usize)
        .collect();
    Ok(Json(Page {
        items,
        total,
        page: req.page,
        per_page: req.per_page,
    }))
}

#[get("/cases/<id>")]
pub async fn api_show_case(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<service::CaseView>> {
    Ok(Json(service::view(&state.db, user, id).await?))
}

#[post("/cases/<id>/actions", data = "<body>")]
pub async fn api_case_action(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    body: Json<Action>,
) -> AppResult<Json<Value>> {
    let case = service::act(&state.db, user, id, &body).await?;
    // NOTE: after a reassignment the caller may no longer see the case; answer its new state.
    match service::view(&state.db, user, id).await {
        Ok(v) => Ok(Json(json!(v))),
        Err(AppError::NotFound) => Ok(Json(
            json!({"id": case.id, "status": case.status, "queue": case.queue}),
        )),
        Err(e) => Err(e),
    }
}

#[get("/cases/report")]
pub async fn api_case_report(
    _on: ModuleOn<on::Messages>,
    _who: Perm<'_, can::HandleCases>,
    state: &State<AppState>,
) -> AppResult<Json<Vec<service::ReportRow>>> {
    Ok(Json(service::report(&state.db).await?))
}
