//! The catalogue over the API and as a page students browse and register from.

use super::service::{self, SectionFilter, SectionRow};
use crate::access::{ModuleOn, Permission, on};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use crate::web::Ctx;
use rocket::serde::json::Json;
use rocket::{State, get};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

/// Every term, oldest first.
#[get("/terms")]
pub async fn api_terms(
    _on: ModuleOn<on::Courses>,
    _user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let list = service::all_terms(&state.db).await?;
    Ok(Json(
        list.into_iter()
            .map(|t| {
                json!({"id": t.id, "code": t.code, "name": t.name_en, "name_zh": t.name_zh, "name_en": t.name_en,
                       "is_current": t.is_current, "starts_on": t.starts_on, "ends_on": t.ends_on,
                       "registration_opens_at": t.registration_opens_at, "registration_closes_at": t.registration_closes_at,
                       "add_drop_deadline": t.add_drop_deadline, "credit_limit": t.credit_limit})
            })
            .collect(),
    ))
}

#[get("/sections?<term>&<course>&<q>&<department>&<teacher>&<day>&<open_only>&<page>&<per_page>")]
#[allow(clippy::too_many_arguments)]
pub async fn api_sections(
    _on: ModuleOn<on::Courses>,
    _user: &CurrentUser,
    state: &State<AppState>,
    term: Option<String>,
    course: Option<String>,
    q: Option<String>,
    department: Option<i64>,
    teacher: Option<String>,
    day: Option<i64>,
    open_only: Option<bool>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> AppResult<Json<Page<SectionRow>>> {
    let term = service::resolve_term_cached(state, term.as_deref())
        .await?
        .ok_or_else(service::unknown_term)?;
    let f = SectionFilter {
        course,
        q,
        department_id: department,
        teacher,
        weekday: day,
        open_only: open_only.unwrap_or(false),
    };
    Ok(Json(
        service::list_sections(&state.db, &term, &f, PageReq::new(page, per_page)).await?,
    ))
}

#[get("/courses?<term>&<q>&<department>&<teacher>&<day>&<open_only>&<page>")]
#[allow(clippy::too_many_arguments)]
pub async fn catalogue(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    term: Option<String>,
    q: Option<String>,
    department: Option<i64>,
    teacher: Option<String>,
    day: Option<i64>,
    open_only: Option<bool>,
    page: Option<u64>,
) -> AppResult<Template> {
    let selected = service::resolve_term_cached(state, term.as_deref())
        .await?
        .ok_or_else(service::unknown_term)?;
    let f = SectionFilter {
        course: None,
        q: q.clone(),
        department_id: department,
        teacher: teacher.clone(),
        weekday: day,
        open_only: open_only.unwrap_or(false),
    };
    let list =
        service::list_sections(&state.db, &selected, &f, PageReq::new(page, Some(50))).await?;
    let selected_term = Some(selected.id);
    let days: Vec<Value> = (1..=7)
        .map(|d| json!({"n": d, "label": ctx.t(&format!("weekday.{d}"))}))
        .collect();
    // When each section meets, in the page's language: "周一 1-2节".
    let when: std::collections::HashMap<String, Vec<String>> = list
        .items
        .iter()
        .map(|s| {
            let slots = s
                .meetings
                .iter()
                .map(|m| {
                    format!(
                        "{} {}-{}",
                        ctx.t(&format!("weekday.{}", m.weekday)),
                        m.start_period,
                        m.end_period
                    )
                })
                .collect();
            (s.id.to_string(), slots)
        })
        .collect();
    let query: String = [
        ("term", term.clone().unwrap_or_default()),
        ("q", q.clone().unwrap_or_default()),
        (
            "department",
            department.map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("teacher", teacher.clone().unwrap_or_default()),
        ("day", day.map(|d| d.to_string()).unwrap_or_default()),
        (
            "open_only",
            open_only.map(|o| o.to_string()).unwrap_or_default(),
        ),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}&", crate::web::url_encode(v)))
    .collect();
    Ok(ctx.render(
        "courses/catalogue",
        "catalogue.title",
        json!({"list": list, "pages": list.pages(), "query": query, "days": days, "selected_term": selected_term, "when": when,
               "departments": service::departments(&state.db).await?, "terms": service::all_terms(&state.db).await?,
               "f": {"term": term, "q": q, "department": department, "teacher": teacher, "day": day, "open_only": open_only.unwrap_or(false)},
               "can_register": user.can(Permission::RegisterSelf) && user.student_id.is_some()}),
    ))
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api_terms, api_sections]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![catalogue]
}
