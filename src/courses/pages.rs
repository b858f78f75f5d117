//! The catalogue office's pages: terms, courses (with prerequisites) and sections (with their
//! meeting times), listed and edited in forms that come back with the message next to the field.
//! They save through the same functions as the API (`edit.rs`). And the catalogue students
//! browse and register from.

use super::edit::{self, save_course, save_section, save_term};
use super::forms::{
    CatalogueQuery, CourseForm, DEFAULT_OFFSET, Errors, SectionForm, TermForm, local,
};
use super::service::{self, SectionFilter};
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::paging::PageReq;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};
use std::collections::HashMap;

/// A form page's answer: back to the list, or the form again (422) with its messages.
type FormResult = AppResult<Result<Redirect, (Status, Template)>>;

/// The sections of a term, filtered, with what the student holds, has passed and may add.
#[get("/courses?<query..>")]
pub async fn catalogue(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    user: &CurrentUser,
    state: &State<AppState>,
    query: CatalogueQuery,
) -> AppResult<Template> {
    let CatalogueQuery {
        term,
        q,
        department,
        teacher,
        day,
        open_only,
        page,
        flash,
        refused,
    } = query;
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
                    super::timetable::meeting_label(
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
    let message = flash
        .as_deref()
        .filter(|f| matches!(*f, "enrolled" | "waitlisted"))
        .map(|f| (true, ctx.t(&format!("registration.flash.{f}"))))
        .or_else(|| {
            refused.as_deref().map(|code| {
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

#[get("/courses/manage?<term>&<q>&<saved>")]
pub async fn manage_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    term: Option<String>,
    q: Option<String>,
    saved: Option<&str>,
) -> AppResult<Template> {
    let db = &state.db;
    let all_terms = service::all_terms(db).await?;
    let selected = service::resolve_term(db, term.as_deref()).await?;
    let q_text = q.clone().unwrap_or_default();
    let course_list = edit::course_list(db, &q_text).await?;
    let sections = match &selected {
        Some(t) => {
            let f = SectionFilter {
                course: None,
                q: q.clone().filter(|s| !s.trim().is_empty()),
                department_id: None,
                teacher: None,
                weekday: None,
                open_only: false,
            };
            service::list_sections(db, t, &f, PageReq::new(Some(1), Some(200)))
                .await?
                .items
        }
        None => Vec::new(),
    };
    Ok(ctx.render(
        "courses/manage",
        "manage.title",
        json!({"terms": all_terms, "selected_term": selected.map(|t| t.id), "courses": course_list,
               "sections": sections, "q": q_text,
               "saved": ctx.known("manage.saved", saved)}),
    ))
}

// ---------------------------------------------------------------- the one form template

/// One input of a form page.
struct Field {
    name: &'static str,
    kind: &'static str,
    value: String,
    options: Vec<(String, String)>,
}

fn field(name: &'static str, kind: &'static str, value: impl ToString) -> Field {
    Field {
        name,
        kind,
        value: value.to_string(),
        options: Vec::new(),
    }
}

/// The form page of one kind of record (`term`, `course`, `section`), new or being edited.
fn render_form(
    ctx: &Ctx<'_>,
    kind: &str,
    id: Option<i64>,
    fields: Vec<Field>,
    errors: &Errors,
    problem: Option<String>,
) -> Template {
    let fields: Vec<Value> = fields
        .into_iter()
        .map(|f| {
            let options: Vec<Value> = f
                .options
                .iter()
                .map(|(v, l)| json!({"value": v, "label": l}))
                .collect();
            json!({"name": f.name, "kind": f.kind, "value": f.value, "options": options,
                   "label": ctx.t(&format!("manage.field.{}", f.name)),
                   "hint": hint(ctx, f.name),
                   "error": errors.get(f.name)})
        })
        .collect();
    let action = match id {
        Some(id) => format!("/courses/manage/{kind}?id={id}"),
        None => format!("/courses/manage/{kind}"),
    };
    ctx.render(
        "courses/manage_form",
        &format!("manage.{kind}"),
        json!({"action": action, "fields": fields, "problem": problem,
               "has_errors": !errors.is_empty() || problem.is_some()}),
    )
}

fn hint(ctx: &Ctx<'_>, name: &str) -> Option<String> {
    let key = format!("manage.hint.{name}");
    let text = ctx.t(&key);
    (text != key).then_some(text)
}

/// The answer to a form post: the list on success; the form again with the field messages, or
/// with the refusal of the save itself (a duplicate code, capacity below the students in it).
async fn submit<B, T, Fut>(
    ctx: &Ctx<'_>,
    kind: &'static str,
    id: Option<i64>,
    fields: Vec<Field>,
    parsed: Result<B, Errors>,
    save: impl FnOnce(B) -> Fut,
) -> FormResult
where
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let body = match parsed {
        Ok(body) => body,
        Err(errors) => {
            let page = render_form(ctx, kind, id, fields, &errors, None);
            return Ok(Err((Status::UnprocessableEntity, page)));
        }
    };
    match save(body).await {
        Ok(_) => Ok(Ok(Redirect::to(format!("/courses/manage?saved={kind}")))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let problem = Some(ctx.lang.error(&e));
            let page = render_form(ctx, kind, id, fields, &Errors::new(), problem);
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- terms

impl TermForm<'_> {
    fn fields(&self) -> Vec<Field> {
        vec![
            field("code", "text", self.code),
            field("name_zh", "text", self.name_zh),
            field("name_en", "text", self.name_en),
            field("seq", "number", self.seq),
            field("starts_on", "date", self.starts_on),
            field("ends_on", "date", self.ends_on),
            field(
                "registration_opens_at",
                "datetime-local",
                self.registration_opens_at,
            ),
            field(
                "registration_closes_at",
                "datetime-local",
                self.registration_closes_at,
            ),
            field(
                "add_drop_deadline",
                "datetime-local",
                self.add_drop_deadline,
            ),
            field("utc_offset", "text", self.utc_offset),
            field("credit_limit", "number", self.credit_limit),
            field("is_current", "checkbox", self.is_current),
        ]
    }
}

#[get("/courses/manage/term?<id>")]
pub async fn term_form(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: Option<i64>,
) -> AppResult<Template> {
    let fields = match id {
        Some(id) => {
            let t = edit::term(&state.db, id).await?;
            let text = [
                t.seq.to_string(),
                t.starts_on.to_string(),
                t.ends_on.to_string(),
                local(&t.registration_opens_at),
                local(&t.registration_closes_at),
                local(&t.add_drop_deadline),
                t.registration_opens_at.offset().to_string(),
                t.credit_limit.to_string(),
            ];
            TermForm {
                code: &t.code,
                name_zh: &t.name_zh,
                name_en: &t.name_en,
                seq: &text[0],
                starts_on: &text[1],
                ends_on: &text[2],
                registration_opens_at: &text[3],
                registration_closes_at: &text[4],
                add_drop_deadline: &text[5],
                utc_offset: &text[6],
                credit_limit: &text[7],
                is_current: t.is_current,
            }
            .fields()
        }
        None => TermForm {
            utc_offset: DEFAULT_OFFSET,
            credit_limit: "30",
            ..Default::default()
        }
        .fields(),
    };
    Ok(render_form(&ctx, "term", id, fields, &Errors::new(), None))
}

#[post("/courses/manage/term?<id>", data = "<form>")]
pub async fn term_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: Option<i64>,
    form: Csrf<TermForm<'_>>,
) -> FormResult {
    let actor = who.id;
    submit(
        &ctx,
        "term",
        id,
        form.fields(),
        form.body(),
        |b| async move { save_term(&state.db, &state.terms, actor, id, &b).await },
    )
    .await
}

// ---------------------------------------------------------------- courses

async fn course_fields(
    ctx: &Ctx<'_>,
    state: &AppState,
    f: &CourseForm<'_>,
) -> AppResult<Vec<Field>> {
    let mut department = field("department", "select", f.department);
    department.options = service::departments(&state.db)
        .await?
        .into_iter()
        .map(|d| {
            let name = if ctx.lang == crate::i18n::Lang::Zh {
                d.name_zh
            } else {
                d.name_en
            };
            (d.id.to_string(), name)
        })
        .collect();
    Ok(vec![
        field("code", "text", f.code),
        department,
        field("title_zh", "text", f.title_zh),
        field("title_en", "text", f.title_en),
        field("credits", "number", f.credits),
        field("description", "textarea", f.description),
        field("prerequisites", "textarea", f.prerequisites),
        field("is_active", "checkbox", f.is_active),
    ])
}

#[get("/courses/manage/course?<id>")]
pub async fn course_form(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: Option<i64>,
) -> AppResult<Template> {
    let db = &state.db;
    let fields = match id {
        Some(id) => {
            let (c, prereq_text) = edit::course_with_prerequisites(db, id).await?;
            let (department, credits, prereq_text) = (
                c.department_id.to_string(),
                c.credits.to_string(),
                prereq_text.join("\n"),
            );
            let form = CourseForm {
                code: &c.code,
                department: &department,
                title_zh: &c.title_zh,
                title_en: &c.title_en,
                credits: &credits,
                description: &c.description,
                prerequisites: &prereq_text,
                is_active: c.is_active,
            };
            course_fields(&ctx, state, &form).await?
        }
        None => {
            let form = CourseForm {
                is_active: true,
                ..Default::default()
            };
            course_fields(&ctx, state, &form).await?
        }
    };
    Ok(render_form(
        &ctx,
        "course",
        id,
        fields,
        &Errors::new(),
        None,
    ))
}

#[post("/courses/manage/course?<id>", data = "<form>")]
pub async fn course_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: Option<i64>,
    form: Csrf<CourseForm<'_>>,
) -> FormResult {
    let fields = course_fields(&ctx, state, &form).await?;
    let actor = who.id;
    submit(&ctx, "course", id, fields, form.body(), |b| async move {
        save_course(&state.db, actor, id, &b).await
    })
    .await
}

// ---------------------------------------------------------------- sections

async fn section_fields(
    ctx: &Ctx<'_>,
    state: &AppState,
    f: &SectionForm<'_>,
) -> AppResult<Vec<Field>> {
    let mut term = field("term", "select", f.term);
    term.options = service::all_terms(&state.db)
        .await?
        .into_iter()
        .map(|t| {
            let name = if ctx.lang == crate::i18n::Lang::Zh {
                t.name_zh
            } else {
                t.name_en
            };
            (t.id.to_string(), name)
        })
        .collect();
    Ok(vec![
        term,
        field("course", "text", f.course),
        field("section_no", "text", f.section_no),
        field("teacher", "text", f.teacher),
        field("capacity", "number", f.capacity),
        field("waitlist_capacity", "number", f.waitlist_capacity),
        field("room", "text", f.room),
        field("meetings", "textarea", f.meetings),
    ])
}

#[get("/courses/manage/section?<id>&<term>")]
pub async fn section_form(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    _who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: Option<i64>,
    term: Option<i64>,
) -> AppResult<Template> {
    let db = &state.db;
    let fields = match id {
        Some(id) => {
            let edit::SectionDraft {
                section: s,
                course_code: course,
                teacher_username: teacher,
                meetings,
            } = edit::section_draft(db, id).await?;
            let (term, capacity, waitlist, meetings) = (
                s.term_id.to_string(),
                s.capacity.to_string(),
                s.waitlist_capacity.to_string(),
                meetings.join("\n"),
            );
            let form = SectionForm {
                term: &term,
                course: &course,
                section_no: &s.section_no,
                teacher: &teacher,
                capacity: &capacity,
                waitlist_capacity: &waitlist,
                room: &s.room,
                meetings: &meetings,
            };
            section_fields(&ctx, state, &form).await?
        }
        None => {
            let term = match term {
                Some(t) => t.to_string(),
                None => service::current_term(db)
                    .await?
                    .map(|t| t.id.to_string())
                    .unwrap_or_default(),
            };
            let form = SectionForm {
                term: &term,
                capacity: "40",
                waitlist_capacity: "10",
                ..Default::default()
            };
            section_fields(&ctx, state, &form).await?
        }
    };
    Ok(render_form(
        &ctx,
        "section",
        id,
        fields,
        &Errors::new(),
        None,
    ))
}

#[post("/courses/manage/section?<id>", data = "<form>")]
pub async fn section_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: Option<i64>,
    form: Csrf<SectionForm<'_>>,
) -> FormResult {
    let fields = section_fields(&ctx, state, &form).await?;
    let parsed = form.body(edit::section_refs(&state.db, form.course, form.teacher).await?);
    let actor = who.id;
    submit(&ctx, "section", id, fields, parsed, |b| async move {
        save_section(&state.db, actor, id, &b).await
    })
    .await
}
