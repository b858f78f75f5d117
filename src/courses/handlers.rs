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
use std::collections::HashMap;

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

/// What the catalogue page says after an add: a status or a refusal code, each looked up in
/// the translations (never text from the address).
#[derive(rocket::FromForm, Default)]
pub struct CatalogueNotice {
    flash: Option<String>,
    refused: Option<String>,
}

#[get("/courses?<term>&<q>&<department>&<teacher>&<day>&<open_only>&<page>&<notice..>")]
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
    notice: CatalogueNotice,
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
                    crate::registration::rules::meeting_label(
                        ctx.lang,
                        m.weekday,
                        m.start_period,
                        m.end_period,
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
    // NOTE: an empty `open_only=` reads as true (a ticked checkbox), so a filter that is not
    // set is left out rather than sent empty.
    .filter(|(_, v)| !v.is_empty() && *v != "false")
    .map(|(k, v)| format!("{k}={}&", crate::web::url_encode(v)))
    .collect();
    let can_register = user.can(Permission::RegisterSelf) && user.student_id.is_some();
    let marks = match user.student_id.filter(|_| can_register) {
        Some(sid) => {
            let courses: Vec<i64> = list.items.iter().map(|s| s.course_id).collect();
            Some(service::student_marks(&state.db, sid, selected.id, &courses).await?)
        }
        None => None,
    };
    let rows: HashMap<String, Value> = list
        .items
        .iter()
        .map(|s| {
            let (mark, prereqs) = match &marks {
                Some(m) => {
                    let mark = if let Some(st) = m.sections.get(&s.id) {
                        Some(st.as_str())
                    } else if m.passed_courses.contains(&s.course_id) {
                        Some("passed")
                    } else if m.held_courses.contains(&s.course_id) {
                        Some("other_section")
                    } else {
                        None
                    };
                    (
                        mark,
                        m.prereqs.get(&s.course_id).cloned().unwrap_or_default(),
                    )
                }
                None => (None, Vec::new()),
            };
            let met = prereqs.iter().all(|p| p.met);
            (
                s.id.to_string(),
                json!({
                    "mark": mark,
                    "mark_label": mark.map(|m| ctx.t(&format!("catalogue.mark.{m}"))),
                    "prereqs": prereqs,
                    "prereqs_met": met,
                    "offer": can_register && mark.is_none(),
                }),
            )
        })
        .collect();
    let message = notice
        .flash
        .as_deref()
        .filter(|f| matches!(*f, "enrolled" | "waitlisted"))
        .map(|f| (true, ctx.t(&format!("registration.flash.{f}"))))
        .or_else(|| {
            notice.refused.as_deref().map(|code| {
                let key = format!("registration.err.{code}");
                let text = ctx.t(&key);
                (
                    false,
                    if text == key {
                        ctx.t("catalogue.refused")
                    } else {
                        text
                    },
                )
            })
        });
    Ok(ctx.render(
        "courses/catalogue",
        "catalogue.title",
        json!({"list": list, "pages": list.pages(), "query": query, "days": days, "selected_term": selected_term, "when": when,
               "departments": service::departments(&state.db).await?, "terms": service::all_terms(&state.db).await?,
               "f": {"term": term, "q": q, "department": department, "teacher": teacher, "day": day, "open_only": open_only.unwrap_or(false)},
               "rows": rows, "back": query.trim_end_matches('&'),
               "notice": message.as_ref().filter(|m| m.0).map(|m| &m.1),
               "refusal": message.as_ref().filter(|m| !m.0).map(|m| &m.1),
               "can_register": can_register}),
    ))
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api_terms, api_sections]
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![catalogue]
}
