//! Case pages: open, list, show, handle, rate, and the administrator's report.

use super::dto::{Action, NewCase, Step};
use super::forms::{ActionForm, NewCaseForm};
use super::service::{self, CATEGORIES, ListFilter, STATUSES};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::charts::bar_chart;
use crate::entity::cases::CaseStatus;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::interaction::util::{department_names, department_options, fmt, user_names};
use crate::paging::PageReq;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

fn category_label(lang: Lang, c: &str) -> String {
    lang.t(&format!("interaction.case.category.{c}"))
}

fn status_label(lang: Lang, s: CaseStatus) -> String {
    lang.t(&format!("interaction.case.status.{}", s.as_str()))
}

fn options(lang: Lang) -> Value {
    json!({
        "categories": CATEGORIES.iter().map(|c| json!({"code": c, "label": category_label(lang, c)})).collect::<Vec<_>>(),
        "abouts": service::ABOUTS.iter().map(|c| json!({"code": c, "label": lang.t(&format!("interaction.case.about.{c}"))})).collect::<Vec<_>>(),
        "statuses": STATUSES.iter().map(|c| json!({"code": c, "label": status_label(lang, *c)})).collect::<Vec<_>>(),
    })
}

/// The list's filter as the start of a query string (`status=open&view=mine&`), for the pager.
fn place_query(f: &ListFilter) -> String {
    let mut out = String::new();
    for (name, value) in [("status", &f.status), ("view", &f.view)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            out.push_str(name);
            out.push('=');
            out.push_str(&crate::web::url_encode(v));
            out.push('&');
        }
    }
    out
}

async fn list_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    user: &CurrentUser,
    f: ListFilter,
    page: Option<u64>,
    form: Value,
    error: Option<String>,
) -> AppResult<Template> {
    let list = service::list_page(&state.db, user, &f, PageReq::new(page, None)).await?;
    let zh = ctx.lang == Lang::Zh;
    let depts = crate::interaction::util::department_names(&state.db, zh).await?;
    let items: Vec<Value> = list
        .items
        .iter()
        .map(|r| {
            json!({"id": r.case.id, "subject": r.case.subject,
                   "queue": crate::interaction::util::queue_label(ctx.lang, &r.case.queue, &depts),
                   "category": category_label(ctx.lang, &r.case.category),
                   "status": r.case.status, "status_label": status_label(ctx.lang, r.case.status),
                   "created_at": fmt(&r.case.created_at), "due_at": fmt(&r.case.due_at), "overdue": r.overdue})
        })
        .collect();
    let my_courses = match user.student_id {
        Some(sid) => service::student_courses(&state.db, sid, zh).await?,
        None => Vec::new(),
    };
    let mut data = json!({
        "items": items, "f": {"status": f.status, "view": f.view},
        "list": {"page": list.page, "total": list.total}, "pages": list.pages(),
        "query": place_query(&f),
        "is_student": user.student_id.is_some(),
        "is_handler": user.can(crate::access::Permission::HandleCases),
        "departments": department_options(&state.db, zh).await?,
        "form": form, "error": error, "courses": my_courses,
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut data, options(ctx.lang)) {
        a.extend(b);
    }
    Ok(ctx.render("interaction/cases", "interaction.cases.title", data))
}

#[get("/cases?<status>&<view>&<page>")]
pub async fn cases_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Perm<'_, can::UseMessages>,
    state: &State<AppState>,
    status: Option<String>,
    view: Option<String>,
    page: Option<u64>,
) -> AppResult<Template> {
    let form =
        json!({"category": "", "about": "", "department_id": null, "subject": "", "body": ""});
    let f = ListFilter { status, view };
    list_view(&ctx, state, &who, f, page, form, None).await
}

#[post("/cases", data = "<form>")]
pub async fn cases_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    who: Perm<'_, can::UseMessages>,
    state: &State<AppState>,
    form: Csrf<NewCaseForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let input = NewCase {
        category: form.category.clone(),
        subject: form.subject.clone(),
        body: form.body.clone(),
        about: Some(form.about.clone()),
        department_id: form.department_id,
        course_id: form.course_id,
    };
    match service::open(&state.db, &who, &input).await {
        Ok(c) => Ok(Ok(Redirect::to(format!("/cases/{}", c.id)))),
        Err(AppError::Unprocessable { message, .. }) => {
            let values = json!({"category": form.category, "subject": form.subject, "body": form.body, "about": form.about, "department_id": form.department_id});
            let page = list_view(
                &ctx,
                state,
                &who,
                ListFilter::default(),
                None,
                values,
                Some(message),
            )
            .await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e),
    }
}

async fn show_view(
    ctx: &Ctx<'_>,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    error: Option<String>,
) -> AppResult<Template> {
    let v = service::view(&state.db, user, id).await?;
    let names = user_names(&state.db, v.events.iter().filter_map(|e| e.author_id)).await?;
    let events: Vec<Value> = v
        .events
        .iter()
        .map(|e| {
            json!({"kind": e.kind, "kind_label": ctx.t(&format!("interaction.case.event.{}", e.kind)),
                   "body": e.body, "status_label": status_label(ctx.lang, e.status), "at": fmt(&e.at),
                   "author": e.author_id.and_then(|a| names.get(&a).cloned()).unwrap_or_default()})
        })
        .collect();
    let c = &v.case;
    let depts = crate::interaction::util::department_names(&state.db, ctx.lang == Lang::Zh).await?;
    Ok(ctx.render(
        "interaction/case",
        "interaction.case.title",
        json!({
            "case": {"id": c.id, "subject": c.subject, "body": c.body,
                     "queue": crate::interaction::util::queue_label(ctx.lang, &c.queue, &depts),
                     "category": category_label(ctx.lang, &c.category),
                     "about": ctx.t(&format!("interaction.case.about.{}", c.topic)),
                     "status": c.status, "status_label": status_label(ctx.lang, c.status),
                     "created_at": fmt(&c.created_at), "due_at": fmt(&c.due_at),
                     "closed": c.status == CaseStatus::Closed},
            "overdue": v.overdue, "hours_to_first_answer": v.hours_to_first_answer,
            "hours_to_close": v.hours_to_close, "events": events, "rating": v.rating,
            "can_handle": v.can_handle, "can_rate": v.can_rate,
            "scale": crate::interaction::util::scale(ctx.lang),
            "is_owner": user.student_id == Some(c.student_id),
            "error": error,
        }),
    ))
}

#[get("/cases/<id>", rank = 2)]
pub async fn case_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    show_view(&ctx, state, user, id, None).await
}

#[post("/cases/<id>", data = "<form>")]
pub async fn case_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
    form: Csrf<ActionForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let Some(step) = Step::parse(&form.action) else {
        let e = AppError::unprocessable(
            "invalid_action",
            "action must be take, reply, reassign, close or rate",
        );
        let page = show_view(&ctx, state, user, id, Some(e.to_string())).await?;
        return Ok(Err((e.status(), page)));
    };
    let a = Action {
        action: step,
        body: form.body.clone(),
        queue: form.queue.clone(),
        assigned_to: None,
        rating: form.rating,
        comment: form.comment.clone(),
    };
    match service::act(&state.db, user, id, &a).await {
        Ok(_) => Ok(Ok(Redirect::to(format!("/cases/{id}")))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let status = e.status();
            let page = show_view(&ctx, state, user, id, Some(e.to_string())).await?;
            Ok(Err((status, page)))
        }
        Err(e) => Err(e),
    }
}

#[get("/cases/report")]
pub async fn report_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    _who: Perm<'_, can::HandleCases>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let rows = service::report(&state.db).await?;
    let zh = ctx.lang == Lang::Zh;
    let depts = department_names(&state.db, zh).await?;
    let none = ctx.t("interaction.cases.no_department");
    let dept_label = |d: Option<i64>| {
        d.and_then(|d| depts.get(&d).cloned())
            .unwrap_or_else(|| none.clone())
    };
    let bars: Vec<(String, f64)> = rows
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.month, dept_label(r.department_id)),
                r.opened as f64,
            )
        })
        .collect();
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let topics: Vec<String> = r
                .top_topics
                .iter()
                .map(|(t, n)| {
                    let (cat, about) = t.split_once('/').unwrap_or((t.as_str(), "other"));
                    format!(
                        "{} · {} ({n})",
                        category_label(ctx.lang, cat),
                        ctx.t(&format!("interaction.case.about.{about}"))
                    )
                })
                .collect();
            json!({"department": dept_label(r.department_id), "month": r.month, "opened": r.opened,
                   "closed": r.closed, "overdue": r.overdue,
                   "first": r.mean_hours_to_first_answer, "close": r.mean_hours_to_close,
                   "rating": r.mean_rating, "topics": topics.join("; ")})
        })
        .collect();
    let feedback: Vec<Value> = crate::interaction::feedback::service::by_department(&state.db)
        .await?
        .into_iter()
        .map(|(d, sections, answers, mean)| {
            json!({"department": dept_label(Some(d)), "sections": sections, "answers": answers, "mean": mean})
        })
        .collect();
    let fb_bars: Vec<(String, f64)> = feedback
        .iter()
        .map(|f| {
            (
                f["department"].as_str().unwrap_or_default().to_string(),
                f["mean"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    Ok(ctx.render(
        "interaction/case_report",
        "interaction.cases.report",
        json!({"items": items, "chart": bar_chart(&bars, ""), "feedback": feedback,
               "feedback_chart": bar_chart(&fb_bars, "")}),
    ))
}
