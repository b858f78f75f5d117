//! The catalogue office's pages: terms, courses (with prerequisites) and sections (with their
//! meeting times), listed and edited in forms that come back with the message next to the field.
//! They save through the same functions as the API in `manage.rs`.

use super::manage::{
    CourseBody, MeetingBody, PrereqBody, SectionBody, TermBody, save_course, save_section,
    save_term,
};
use super::service;
use crate::access::{ModuleOn, Perm, can, on};
use crate::entity::{course_prerequisites, courses, section_meetings, sections, terms, users};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, Utc};
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{FromForm, State, get, post};
use rocket_dyn_templates::Template;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A form page's answer: back to the list, or the form again (422) with its messages.
type FormResult = AppResult<Result<Redirect, (Status, Template)>>;

/// Field name → message, for the fields that could not be read.
type Errors = BTreeMap<&'static str, String>;

/// The local time zone forms are read in unless the form says otherwise (China Standard Time).
const DEFAULT_OFFSET: &str = "+08:00";

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
    let mut course_query = courses::Entity::find().order_by_asc(courses::Column::Code);
    if !q_text.trim().is_empty() {
        let like = format!("%{}%", q_text.trim());
        course_query = course_query.filter(
            Condition::any()
                .add(courses::Column::Code.like(like.to_uppercase()))
                .add(courses::Column::TitleZh.like(like.clone()))
                .add(courses::Column::TitleEn.like(like)),
        );
    }
    let course_list = course_query.limit(200).all(db).await?;
    let sections = match &selected {
        Some(t) => {
            let f = service::SectionFilter {
                course: None,
                q: q.clone().filter(|s| !s.trim().is_empty()),
                department_id: None,
                teacher: None,
                weekday: None,
                open_only: false,
            };
            service::list_sections(db, t, &f, crate::paging::PageReq::new(Some(1), Some(200)))
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
            let problem = Some(e.public_message());
            let page = render_form(ctx, kind, id, fields, &Errors::new(), problem);
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e),
    }
}

fn parse_num<T: std::str::FromStr + Default>(
    errors: &mut Errors,
    name: &'static str,
    v: &str,
) -> T {
    match v.trim().parse() {
        Ok(n) => n,
        Err(_) => {
            errors.insert(name, format!("not a number: {v}"));
            T::default()
        }
    }
}

fn parse_date(errors: &mut Errors, name: &'static str, v: &str) -> NaiveDate {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").unwrap_or_else(|_| {
        errors.insert(name, "a date as YYYY-MM-DD".into());
        NaiveDate::default()
    })
}

fn parse_time(
    errors: &mut Errors,
    name: &'static str,
    v: &str,
    offset: FixedOffset,
) -> DateTime<FixedOffset> {
    let v = v.trim();
    NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|t| t.and_local_timezone(offset).single())
        .unwrap_or_else(|| {
            errors.insert(name, "a date and time as YYYY-MM-DDTHH:MM".into());
            DateTime::default()
        })
}

fn local(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

// ---------------------------------------------------------------- terms

#[derive(FromForm, Default)]
pub struct TermForm<'a> {
    #[field(default = "")]
    code: &'a str,
    #[field(default = "")]
    name_zh: &'a str,
    #[field(default = "")]
    name_en: &'a str,
    #[field(default = "")]
    seq: &'a str,
    #[field(default = "")]
    starts_on: &'a str,
    #[field(default = "")]
    ends_on: &'a str,
    #[field(default = "")]
    registration_opens_at: &'a str,
    #[field(default = "")]
    registration_closes_at: &'a str,
    #[field(default = "")]
    add_drop_deadline: &'a str,
    #[field(default = DEFAULT_OFFSET)]
    utc_offset: &'a str,
    #[field(default = "")]
    credit_limit: &'a str,
    #[field(default = false)]
    is_current: bool,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

impl TermForm<'_> {
    fn body(&self) -> Result<TermBody, Errors> {
        let mut e = Errors::new();
        let offset: FixedOffset = self.utc_offset.trim().parse().unwrap_or_else(|_| {
            e.insert("utc_offset", "an offset such as +08:00".into());
            Utc.fix()
        });
        let body = TermBody {
            code: self.code.to_string(),
            name_zh: self.name_zh.to_string(),
            name_en: self.name_en.to_string(),
            seq: parse_num(&mut e, "seq", self.seq),
            starts_on: parse_date(&mut e, "starts_on", self.starts_on),
            ends_on: parse_date(&mut e, "ends_on", self.ends_on),
            registration_opens_at: parse_time(
                &mut e,
                "registration_opens_at",
                self.registration_opens_at,
                offset,
            ),
            registration_closes_at: parse_time(
                &mut e,
                "registration_closes_at",
                self.registration_closes_at,
                offset,
            ),
            add_drop_deadline: parse_time(
                &mut e,
                "add_drop_deadline",
                self.add_drop_deadline,
                offset,
            ),
            credit_limit: parse_num(&mut e, "credit_limit", self.credit_limit),
            is_current: self.is_current,
        };
        if e.is_empty() { Ok(body) } else { Err(e) }
    }

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
            let t = terms::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound)?;
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
                csrf: "",
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
    form: Form<TermForm<'_>>,
) -> FormResult {
    who.check_csrf(form.csrf)?;
    let actor = who.id;
    submit(
        &ctx,
        "term",
        id,
        form.fields(),
        form.body(),
        |b| async move { save_term(state, actor, id, &b).await },
    )
    .await
}

// ---------------------------------------------------------------- courses

#[derive(FromForm, Default)]
pub struct CourseForm<'a> {
    #[field(default = "")]
    code: &'a str,
    #[field(default = "")]
    department: &'a str,
    #[field(default = "")]
    title_zh: &'a str,
    #[field(default = "")]
    title_en: &'a str,
    #[field(default = "")]
    credits: &'a str,
    #[field(default = "")]
    description: &'a str,
    #[field(default = "")]
    prerequisites: &'a str,
    #[field(default = false)]
    is_active: bool,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

/// Prerequisites written one per line as `CODE [minimum score]`, e.g. `CS101 60`.
fn parse_prerequisites(errors: &mut Errors, text: &str) -> Vec<PrereqBody> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut parts = line.split([' ', '\t', ',']).filter(|p| !p.is_empty());
        let Some(code) = parts.next() else { continue };
        let min_score = match parts.next() {
            None => 60.0,
            Some(s) => match s.parse::<f64>() {
                Ok(v) => v,
                Err(_) => {
                    errors.insert(
                        "prerequisites",
                        format!(
                            "line {}: write CODE and a minimum score, e.g. CS101 60",
                            n + 1
                        ),
                    );
                    continue;
                }
            },
        };
        out.push(PrereqBody {
            code: code.to_string(),
            min_score,
        });
    }
    out
}

impl CourseForm<'_> {
    fn body(&self) -> Result<CourseBody, Errors> {
        let mut e = Errors::new();
        let body = CourseBody {
            code: self.code.to_string(),
            department_id: parse_num(&mut e, "department", self.department),
            title_zh: self.title_zh.to_string(),
            title_en: self.title_en.to_string(),
            credits: parse_num(&mut e, "credits", self.credits),
            description: self.description.to_string(),
            is_active: self.is_active,
            prerequisites: Some(parse_prerequisites(&mut e, self.prerequisites)),
        };
        if e.is_empty() { Ok(body) } else { Err(e) }
    }
}

async fn course_fields(
    ctx: &Ctx<'_>,
    db: &DatabaseConnection,
    f: &CourseForm<'_>,
) -> AppResult<Vec<Field>> {
    let mut department = field("department", "select", f.department);
    department.options = service::departments(db)
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
            let c = courses::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound)?;
            let prereqs = course_prerequisites::Entity::find()
                .filter(course_prerequisites::Column::CourseId.eq(id))
                .all(db)
                .await?;
            let codes: BTreeMap<i64, String> = courses::Entity::find()
                .filter(courses::Column::Id.is_in(prereqs.iter().map(|p| p.prerequisite_id)))
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, c.code))
                .collect();
            let prereq_text: Vec<String> = prereqs
                .iter()
                .filter_map(|p| {
                    codes
                        .get(&p.prerequisite_id)
                        .map(|c| format!("{c} {}", p.min_score))
                })
                .collect();
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
                csrf: "",
            };
            course_fields(&ctx, db, &form).await?
        }
        None => {
            let form = CourseForm {
                is_active: true,
                ..Default::default()
            };
            course_fields(&ctx, db, &form).await?
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
    form: Form<CourseForm<'_>>,
) -> FormResult {
    who.check_csrf(form.csrf)?;
    let fields = course_fields(&ctx, &state.db, &form).await?;
    let actor = who.id;
    submit(&ctx, "course", id, fields, form.body(), |b| async move {
        save_course(state, actor, id, &b).await
    })
    .await
}

// ---------------------------------------------------------------- sections

#[derive(FromForm, Default)]
pub struct SectionForm<'a> {
    #[field(default = "")]
    term: &'a str,
    #[field(default = "")]
    course: &'a str,
    #[field(default = "")]
    section_no: &'a str,
    #[field(default = "")]
    teacher: &'a str,
    #[field(default = "")]
    capacity: &'a str,
    #[field(default = "")]
    waitlist_capacity: &'a str,
    #[field(default = "")]
    room: &'a str,
    #[field(default = "")]
    meetings: &'a str,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

/// Meeting times one per line as `weekday periods [weeks]`, e.g. `1 3-4 1-16` (Monday, periods
/// 3 to 4, weeks 1 to 16).
fn parse_meetings(errors: &mut Errors, text: &str) -> Vec<MeetingBody> {
    let range = |s: &str| -> Option<(i64, i64)> {
        match s.split_once('-') {
            Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => s.trim().parse().ok().map(|n| (n, n)),
        }
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.is_empty() {
            continue;
        }
        let parsed = (|| {
            let weekday: i64 = parts.first()?.parse().ok()?;
            let (start_period, end_period) = range(parts.get(1)?)?;
            let (start_week, end_week) = match parts.get(2) {
                Some(w) => range(w)?,
                None => (1, 16),
            };
            let in_range = (1..=7).contains(&weekday)
                && 1 <= start_period
                && start_period <= end_period
                && end_period <= 12
                && 1 <= start_week
                && start_week <= end_week
                && end_week <= 30;
            (parts.len() <= 3 && in_range).then_some(MeetingBody {
                weekday,
                start_period,
                end_period,
                start_week,
                end_week,
            })
        })();
        match parsed {
            Some(m) => out.push(m),
            None => {
                errors.insert(
                    "meetings",
                    format!(
                        "line {}: write weekday (1-7), periods (1-12) and weeks (1-30), e.g. 1 3-4 1-16",
                        n + 1
                    ),
                );
            }
        }
    }
    out
}

impl SectionForm<'_> {
    async fn body(&self, db: &DatabaseConnection) -> AppResult<Result<SectionBody, Errors>> {
        let mut e = Errors::new();
        let course_id = courses::Entity::find()
            .filter(courses::Column::Code.eq(self.course.trim().to_uppercase()))
            .one(db)
            .await?
            .map(|c| c.id)
            .unwrap_or_else(|| {
                e.insert(
                    "course",
                    format!("no course with the code {}", self.course.trim()),
                );
                0
            });
        let teacher_id = match self.teacher.trim() {
            "" => None,
            name => match users::Entity::find()
                .filter(users::Column::Username.eq(name))
                .one(db)
                .await?
            {
                Some(u) => Some(u.id),
                None => {
                    e.insert("teacher", format!("no account with the user name {name}"));
                    None
                }
            },
        };
        let body = SectionBody {
            term_id: parse_num(&mut e, "term", self.term),
            course_id,
            section_no: self.section_no.to_string(),
            teacher_id,
            capacity: parse_num(&mut e, "capacity", self.capacity),
            waitlist_capacity: parse_num(&mut e, "waitlist_capacity", self.waitlist_capacity),
            room: self.room.to_string(),
            meetings: parse_meetings(&mut e, self.meetings),
        };
        Ok(if e.is_empty() { Ok(body) } else { Err(e) })
    }
}

async fn section_fields(
    ctx: &Ctx<'_>,
    db: &DatabaseConnection,
    f: &SectionForm<'_>,
) -> AppResult<Vec<Field>> {
    let mut term = field("term", "select", f.term);
    term.options = service::all_terms(db)
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
            let s = sections::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound)?;
            let course = courses::Entity::find_by_id(s.course_id)
                .one(db)
                .await?
                .map(|c| c.code)
                .unwrap_or_default();
            let teacher = match s.teacher_id {
                Some(t) => users::Entity::find_by_id(t)
                    .one(db)
                    .await?
                    .map(|u| u.username)
                    .unwrap_or_default(),
                None => String::new(),
            };
            let meetings: Vec<String> = section_meetings::Entity::find()
                .filter(section_meetings::Column::SectionId.eq(id))
                .order_by_asc(section_meetings::Column::Weekday)
                .all(db)
                .await?
                .iter()
                .map(|m| {
                    format!(
                        "{} {}-{} {}-{}",
                        m.weekday, m.start_period, m.end_period, m.start_week, m.end_week
                    )
                })
                .collect();
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
                csrf: "",
            };
            section_fields(&ctx, db, &form).await?
        }
        None => {
            let term = match term {
                Some(t) => t.to_string(),
                None => service::resolve_term(db, None)
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
            section_fields(&ctx, db, &form).await?
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
    form: Form<SectionForm<'_>>,
) -> FormResult {
    who.check_csrf(form.csrf)?;
    let fields = section_fields(&ctx, &state.db, &form).await?;
    let parsed = form.body(&state.db).await?;
    let actor = who.id;
    submit(&ctx, "section", id, fields, parsed, |b| async move {
        save_section(state, actor, id, &b).await
    })
    .await
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        manage_page,
        term_form,
        term_submit,
        course_form,
        course_submit,
        section_form,
        section_submit
    ]
}
