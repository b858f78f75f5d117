//! The catalogue and the catalogue office's writes over the API.

use super::dto::{CourseBody, SectionBody, SectionQuery, TermBody, TermOut};
use super::edit;
use super::service::{self, SectionFilter, SectionRow};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::entity::{courses, sections, terms};
use crate::error::AppResult;
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post, put};

/// Every term, oldest first.
#[get("/terms")]
pub async fn api_terms(
    _on: ModuleOn<on::Courses>,
    _user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<Vec<TermOut>>> {
    let list = service::all_terms(&state.db).await?;
    Ok(Json(list.into_iter().map(TermOut::from).collect()))
}

#[get("/sections?<query..>")]
pub async fn api_sections(
    _on: ModuleOn<on::Courses>,
    _user: &CurrentUser,
    state: &State<AppState>,
    query: SectionQuery,
) -> AppResult<Json<Page<SectionRow>>> {
    let term = service::resolve_term_cached(state, query.term.as_deref())
        .await?
        .ok_or_else(service::unknown_term)?;
    let f = SectionFilter {
        course: query.course,
        q: query.q,
        department_id: query.department,
        teacher: query.teacher,
        weekday: query.day,
        open_only: query.open_only.unwrap_or(false),
    };
    let page = PageReq::new(query.page, query.per_page);
    Ok(Json(
        service::list_sections(&state.db, &term, &f, page).await?,
    ))
}

#[post("/terms", format = "json", data = "<body>")]
pub async fn api_term_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<TermBody>,
) -> AppResult<(Status, Json<terms::Model>)> {
    let saved = edit::save_term(&state.db, &state.terms, who.id, None, &body).await?;
    Ok((Status::Created, Json(saved)))
}

#[put("/terms/<id>", format = "json", data = "<body>")]
pub async fn api_term_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<TermBody>,
) -> AppResult<Json<terms::Model>> {
    Ok(Json(
        edit::save_term(&state.db, &state.terms, who.id, Some(id), &body).await?,
    ))
}

#[post("/courses", format = "json", data = "<body>")]
pub async fn api_course_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<CourseBody>,
) -> AppResult<(Status, Json<courses::Model>)> {
    let saved = edit::save_course(&state.db, who.id, None, &body).await?;
    Ok((Status::Created, Json(saved)))
}

#[put("/courses/<id>", format = "json", data = "<body>")]
pub async fn api_course_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<CourseBody>,
) -> AppResult<Json<courses::Model>> {
    Ok(Json(
        edit::save_course(&state.db, who.id, Some(id), &body).await?,
    ))
}

#[post("/sections", format = "json", data = "<body>")]
pub async fn api_section_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<SectionBody>,
) -> AppResult<(Status, Json<sections::Model>)> {
    let saved = edit::save_section(&state.db, who.id, None, &body).await?;
    Ok((Status::Created, Json(saved)))
}

#[put("/sections/<id>", format = "json", data = "<body>")]
pub async fn api_section_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<SectionBody>,
) -> AppResult<Json<sections::Model>> {
    Ok(Json(
        edit::save_section(&state.db, who.id, Some(id), &body).await?,
    ))
}
