//! Case API: open, list, show, handle, rate, and the administrator's report.

use super::dto::{
    Action, ActionResult, CaseDetail, CaseItem, CasePage, CaseQuery, NewCase, OpenedCase, ReportRow,
};
use super::service::{self, ListFilter};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::paging::PageReq;
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};

/// Open a case (inquiry, complaint, suggestion) for one's own record.
#[utoipa::path(
    request_body = NewCase,
    responses(
        (status = 201, description = "Opened and routed to a queue", body = OpenedCase),
        (status = 403, description = "Only students open cases", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    )
)]
#[post("/cases", format = "json", data = "<body>")]
pub async fn api_open_case(
    _on: ModuleOn<on::Messages>,
    who: Perm<'_, can::UseMessages>,
    state: &State<AppState>,
    body: Json<NewCase>,
) -> AppResult<(Status, Json<OpenedCase>)> {
    let case = service::open(&state.db, &who, &body).await?;
    Ok((Status::Created, Json(OpenedCase::from(&case))))
}

/// Cases: a student's own, or the queues a handler works.
#[utoipa::path(
    params(CaseQuery),
    responses(
        (status = 200, description = "One page of cases", body = CasePage),
        (status = 422, description = "A query parameter is invalid", body = ErrorBody),
    )
)]
#[get("/cases?<q..>")]
pub async fn api_list_cases(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: CaseQuery,
) -> AppResult<Json<CasePage>> {
    let f = ListFilter {
        status: q.status,
        view: q.view,
    };
    let page = service::list_page(&state.db, user, &f, PageReq::new(q.page, q.per_page)).await?;
    Ok(Json(CasePage {
        total: page.total,
        page: page.page,
        per_page: page.per_page,
        items: page.items.into_iter().map(CaseItem::from).collect(),
    }))
}

/// One case with its history, timings and rating.
#[utoipa::path(
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 404, description = "No such case the caller may see", body = ErrorBody),
    )
)]
#[get("/cases/<id>")]
pub async fn api_show_case(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<CaseDetail>> {
    Ok(Json(service::view(&state.db, user, id).await?.into()))
}

/// Take, reply to, reassign, close or rate a case.
#[utoipa::path(
    request_body = Action,
    responses(
        (status = 200, description = "The case after the step", body = ActionResult),
        (status = 403, description = "The caller may not take this step", body = ErrorBody),
        (status = 404, description = "No such case the caller may see", body = ErrorBody),
        (status = 409, description = "The case is closed, or already rated", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    )
)]
#[post("/cases/<id>/actions", format = "json", data = "<body>")]
pub async fn api_case_action(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    body: Json<Action>,
) -> AppResult<Json<ActionResult>> {
    Ok(Json(
        service::act_and_view(&state.db, user, id, &body)
            .await?
            .into(),
    ))
}

/// Case volumes, response times and topics per department and month.
#[utoipa::path(
    responses(
        (status = 200, description = "One row per department and month", body = Vec<ReportRow>),
        (status = 403, description = "Only case handlers", body = ErrorBody),
    )
)]
#[get("/cases/report")]
pub async fn api_case_report(
    _on: ModuleOn<on::Messages>,
    _who: Perm<'_, can::HandleCases>,
    state: &State<AppState>,
) -> AppResult<Json<Vec<ReportRow>>> {
    Ok(Json(service::report(&state.db).await?))
}
