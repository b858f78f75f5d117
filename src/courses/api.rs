//! The catalogue and the catalogue office's writes over the API.

use super::dto::{
    CourseBody, CourseOut, SectionBody, SectionOut, SectionPage, SectionQuery, TermBody, TermOut,
};
use super::edit;
use super::service::{self, SectionFilter};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::paging::PageReq;
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post, put};

/// Every term, oldest first.
#[utoipa::path(
    responses(
        (status = 200, description = "Every term, oldest first", body = Vec<TermOut>),
    )
)]
#[get("/terms")]
pub async fn api_terms(
    _on: ModuleOn<on::Courses>,
    _user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<Vec<TermOut>>> {
    let list = service::all_terms(&state.db).await?;
    Ok(Json(list.into_iter().map(TermOut::from).collect()))
}

/// Sections of a term, filtered, a page at a time.
#[utoipa::path(
    params(SectionQuery),
    responses(
        (status = 200, description = "A page of sections", body = SectionPage),
        (status = 422, description = "No such term", body = ErrorBody),
    )
)]
#[get("/sections?<query..>")]
pub async fn api_sections(
    _on: ModuleOn<on::Courses>,
    _user: &CurrentUser,
    state: &State<AppState>,
    query: SectionQuery,
) -> AppResult<Json<SectionPage>> {
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
    let list = service::list_sections(&state.db, &term, &f, page).await?;
    Ok(Json(list.into()))
}

/// Create a term (only one term is current).
#[utoipa::path(
    request_body = TermBody,
    responses(
        (status = 201, description = "Saved", body = TermOut),
        (status = 409, description = "Another record has this code or number", body = ErrorBody),
        (status = 422, description = "A field is missing or out of range", body = ErrorBody),
    )
)]
#[post("/terms", format = "json", data = "<body>")]
pub async fn api_term_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<TermBody>,
) -> AppResult<(Status, Json<TermOut>)> {
    let saved = edit::save_term(&state.db, &state.terms, who.id, None, &body).await?;
    Ok((Status::Created, Json(saved.into())))
}

/// Replace a term.
#[utoipa::path(
    request_body = TermBody,
    responses(
        (status = 200, description = "Saved", body = TermOut),
        (status = 409, description = "Another record has this code or number", body = ErrorBody),
        (status = 422, description = "A field is missing or out of range", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
    )
)]
#[put("/terms/<id>", format = "json", data = "<body>")]
pub async fn api_term_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<TermBody>,
) -> AppResult<Json<TermOut>> {
    Ok(Json(
        edit::save_term(&state.db, &state.terms, who.id, Some(id), &body)
            .await?
            .into(),
    ))
}

/// Create a course, with its prerequisites.
#[utoipa::path(
    request_body = CourseBody,
    responses(
        (status = 201, description = "Saved", body = CourseOut),
        (status = 409, description = "Another record has this code or number", body = ErrorBody),
        (status = 422, description = "A field is missing or out of range", body = ErrorBody),
    )
)]
#[post("/courses", format = "json", data = "<body>")]
pub async fn api_course_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<CourseBody>,
) -> AppResult<(Status, Json<CourseOut>)> {
    let saved = edit::save_course(&state.db, who.id, None, &body).await?;
    Ok((Status::Created, Json(saved.into())))
}

/// Replace a course (and its prerequisites when given).
#[utoipa::path(
    request_body = CourseBody,
    responses(
        (status = 200, description = "Saved", body = CourseOut),
        (status = 409, description = "Another record has this code or number", body = ErrorBody),
        (status = 422, description = "A field is missing or out of range", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
    )
)]
#[put("/courses/<id>", format = "json", data = "<body>")]
pub async fn api_course_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<CourseBody>,
) -> AppResult<Json<CourseOut>> {
    Ok(Json(
        edit::save_course(&state.db, who.id, Some(id), &body)
            .await?
            .into(),
    ))
}

/// Create a section with its meeting times.
#[utoipa::path(
    request_body = SectionBody,
    responses(
        (status = 201, description = "Saved", body = SectionOut),
        (status = 409, description = "Another record has this code or number", body = ErrorBody),
        (status = 422, description = "A field is missing or out of range", body = ErrorBody),
    )
)]
#[post("/sections", format = "json", data = "<body>")]
pub async fn api_section_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<SectionBody>,
) -> AppResult<(Status, Json<SectionOut>)> {
    let saved = edit::save_section(&state.db, who.id, None, &body).await?;
    Ok((Status::Created, Json(saved.into())))
}

/// Replace a section and its meeting times; capacity never below the students in it.
#[utoipa::path(
    request_body = SectionBody,
    responses(
        (status = 200, description = "Saved", body = SectionOut),
        (status = 409, description = "Another record has this code or number", body = ErrorBody),
        (status = 422, description = "A field is missing or out of range", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
    )
)]
#[put("/sections/<id>", format = "json", data = "<body>")]
pub async fn api_section_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<SectionBody>,
) -> AppResult<Json<SectionOut>> {
    Ok(Json(
        edit::save_section(&state.db, who.id, Some(id), &body)
            .await?
            .into(),
    ))
}
