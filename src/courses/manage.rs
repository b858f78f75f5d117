//! Staff with `courses.manage` create and edit terms, courses and sections (with their meeting
//! times). Every write is validated, done in one transaction and audited.

use crate::access::{ModuleOn, Perm, can, on};
use crate::audit::Entry;
use crate::entity::{course_prerequisites, courses, section_meetings, sections, terms, users};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, post, put};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use serde_json::json;

fn bad(code: &'static str, message: &str) -> AppError {
    AppError::unprocessable(code, message.to_string())
}

fn text(value: &str, field: &'static str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::unprocessable(
            "invalid_field",
            format!("{field} must be 1-{max} characters"),
        ));
    }
    Ok(v.to_string())
}

#[derive(Deserialize)]
pub struct TermBody {
    pub(super) code: String,
    pub(super) name_zh: String,
    pub(super) name_en: String,
    pub(super) seq: i64,
    pub(super) starts_on: NaiveDate,
    pub(super) ends_on: NaiveDate,
    pub(super) registration_opens_at: DateTime<FixedOffset>,
    pub(super) registration_closes_at: DateTime<FixedOffset>,
    pub(super) add_drop_deadline: DateTime<FixedOffset>,
    pub(super) credit_limit: f64,
    #[serde(default)]
    pub(super) is_current: bool,
}

fn term_model(b: &TermBody) -> AppResult<terms::ActiveModel> {
    if b.ends_on <= b.starts_on {
        return Err(bad("invalid_dates", "the term must end after it starts"));
    }
    if b.registration_closes_at <= b.registration_opens_at {
        return Err(bad(
            "invalid_dates",
            "registration must close after it opens",
        ));
    }
    if !(0.0..=100.0).contains(&b.credit_limit) {
        return Err(bad(
            "invalid_credit_limit",
            "the credit limit must be between 0 and 100",
        ));
    }
    Ok(terms::ActiveModel {
        code: Set(text(&b.code, "code", 40)?),
        name_zh: Set(text(&b.name_zh, "name_zh", 100)?),
        name_en: Set(text(&b.name_en, "name_en", 100)?),
        seq: Set(b.seq),
        starts_on: Set(b.starts_on),
        ends_on: Set(b.ends_on),
        registration_opens_at: Set(b.registration_opens_at),
        registration_closes_at: Set(b.registration_closes_at),
        add_drop_deadline: Set(b.add_drop_deadline),
        credit_limit: Set(b.credit_limit),
        is_current: Set(b.is_current),
        ..Default::default()
    })
}

fn dup(e: sea_orm::DbErr, what: &str) -> AppError {
    if crate::db::is_unique_violation(&e) {
        AppError::conflict(
            "duplicate",
            format!("another {what} already has this code or number"),
        )
    } else {
        e.into()
    }
}

pub(super) async fn save_term(
    state: &AppState,
    actor: i64,
    id: Option<i64>,
    body: &TermBody,
) -> AppResult<terms::Model> {
    let mut am = term_model(body)?;
    let txn = crate::db::write_txn(&state.db).await?;
    if body.is_current {
        // Only one term is current.
        terms::Entity::update_many()
            .col_expr(
                terms::Column::IsCurrent,
                sea_orm::sea_query::Expr::value(false),
            )
            .filter(terms::Column::IsCurrent.eq(true))
            .exec(&txn)
            .await?;
    }
    let saved = match id {
        Some(id) => {
            terms::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            am.id = Set(id);
            am.update(&txn).await.map_err(|e| dup(e, "term"))?
        }
        None => am.insert(&txn).await.map_err(|e| dup(e, "term"))?,
    };
    Entry::new(
        Some(actor),
        if id.is_some() {
            "terms.update"
        } else {
            "terms.create"
        },
        "term",
    )
    .id(saved.id)
    .detail(json!({"code": saved.code}))
    .write(&txn)
    .await?;
    txn.commit().await?;
    state.terms.forget();
    Ok(saved)
}

#[post("/terms", format = "json", data = "<body>")]
pub async fn api_term_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<TermBody>,
) -> AppResult<(Status, Json<terms::Model>)> {
    Ok((
        Status::Created,
        Json(save_term(state, who.id, None, &body).await?),
    ))
}

#[put("/terms/<id>", format = "json", data = "<body>")]
pub async fn api_term_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<TermBody>,
) -> AppResult<Json<terms::Model>> {
    Ok(Json(save_term(state, who.id, Some(id), &body).await?))
}

#[derive(Deserialize)]
pub struct CourseBody {
    pub(super) code: String,
    pub(super) department_id: i64,
    pub(super) title_zh: String,
    pub(super) title_en: String,
    pub(super) credits: f64,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default = "yes")]
    pub(super) is_active: bool,
    /// When given, replaces the course's prerequisites.
    #[serde(default)]
    pub(super) prerequisites: Option<Vec<PrereqBody>>,
}

/// A prerequisite course by its code, and the score needed in it.
#[derive(Deserialize)]
pub struct PrereqBody {
    pub(super) code: String,
    #[serde(default = "pass_mark")]
    pub(super) min_score: f64,
}

fn pass_mark() -> f64 {
    60.0
}

fn yes() -> bool {
    true
}

pub(super) async fn save_course(
    state: &AppState,
    actor: i64,
    id: Option<i64>,
    b: &CourseBody,
) -> AppResult<courses::Model> {
    if !(0.0..=30.0).contains(&b.credits) {
        return Err(bad("invalid_credits", "credits must be between 0 and 30"));
    }
    crate::entity::departments::Entity::find_by_id(b.department_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| bad("unknown_department", "no such department"))?;
    let mut am = courses::ActiveModel {
        code: Set(text(&b.code, "code", 20)?.to_uppercase()),
        department_id: Set(b.department_id),
        title_zh: Set(text(&b.title_zh, "title_zh", 200)?),
        title_en: Set(text(&b.title_en, "title_en", 200)?),
        credits: Set(b.credits),
        description: Set(b.description.trim().to_string()),
        is_active: Set(b.is_active),
        ..Default::default()
    };
    let txn = crate::db::write_txn(&state.db).await?;
    let saved = match id {
        Some(id) => {
            courses::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            am.id = Set(id);
            am.update(&txn).await.map_err(|e| dup(e, "course"))?
        }
        None => am.insert(&txn).await.map_err(|e| dup(e, "course"))?,
    };
    let mut prereq_codes = Vec::new();
    if let Some(list) = &b.prerequisites {
        course_prerequisites::Entity::delete_many()
            .filter(course_prerequisites::Column::CourseId.eq(saved.id))
            .exec(&txn)
            .await?;
        let mut seen = std::collections::HashSet::new();
        for p in list {
            let code = p.code.trim().to_uppercase();
            if !(0.0..=100.0).contains(&p.min_score) {
                return Err(bad(
                    "invalid_prerequisite",
                    &format!("the minimum score for {code} must be between 0 and 100"),
                ));
            }
            let pre = courses::Entity::find()
                .filter(courses::Column::Code.eq(code.as_str()))
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    bad(
                        "unknown_prerequisite",
                        &format!("no course with the code {code}"),
                    )
                })?;
            if pre.id == saved.id || !seen.insert(pre.id) {
                return Err(bad(
                    "invalid_prerequisite",
                    &format!("{code} is listed twice or is the course itself"),
                ));
            }
            course_prerequisites::ActiveModel {
                course_id: Set(saved.id),
                prerequisite_id: Set(pre.id),
                min_score: Set(p.min_score),
            }
            .insert(&txn)
            .await?;
            prereq_codes.push(json!({"code": code, "min_score": p.min_score}));
        }
    }
    Entry::new(
        Some(actor),
        if id.is_some() {
            "courses.update"
        } else {
            "courses.create"
        },
        "course",
    )
    .id(saved.id)
    .detail(json!({"code": saved.code, "credits": saved.credits, "prerequisites": prereq_codes}))
    .write(&txn)
    .await?;
    txn.commit().await?;
    Ok(saved)
}

#[post("/courses", format = "json", data = "<body>")]
pub async fn api_course_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<CourseBody>,
) -> AppResult<(Status, Json<courses::Model>)> {
    Ok((
        Status::Created,
        Json(save_course(state, who.id, None, &body).await?),
    ))
}

#[put("/courses/<id>", format = "json", data = "<body>")]
pub async fn api_course_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<CourseBody>,
) -> AppResult<Json<courses::Model>> {
    Ok(Json(save_course(state, who.id, Some(id), &body).await?))
}

#[derive(Deserialize)]
pub struct MeetingBody {
    pub(super) weekday: i64,
    pub(super) start_period: i64,
    pub(super) end_period: i64,
    #[serde(default = "first_week")]
    pub(super) start_week: i64,
    #[serde(default = "last_week")]
    pub(super) end_week: i64,
}

fn first_week() -> i64 {
    1
}

fn last_week() -> i64 {
    16
}

#[derive(Deserialize)]
pub struct SectionBody {
    pub(super) term_id: i64,
    pub(super) course_id: i64,
    pub(super) section_no: String,
    pub(super) teacher_id: Option<i64>,
    pub(super) capacity: i64,
    #[serde(default)]
    pub(super) waitlist_capacity: i64,
    #[serde(default)]
    pub(super) room: String,
    #[serde(default)]
    pub(super) meetings: Vec<MeetingBody>,
}

async fn validate_section(db: &impl ConnectionTrait, b: &SectionBody) -> AppResult<()> {
    if !(0..=5000).contains(&b.capacity) || !(0..=5000).contains(&b.waitlist_capacity) {
        return Err(bad(
            "invalid_capacity",
            "capacity and waitlist size must be between 0 and 5000",
        ));
    }
    for m in &b.meetings {
        if !(1..=7).contains(&m.weekday)
            || !(1..=12).contains(&m.start_period)
            || !(m.start_period..=12).contains(&m.end_period)
            || !(1..=30).contains(&m.start_week)
            || !(m.start_week..=30).contains(&m.end_week)
        {
            return Err(bad(
                "invalid_meeting",
                "a meeting needs weekday 1-7, periods 1-12 and weeks 1-30, in order",
            ));
        }
    }
    terms::Entity::find_by_id(b.term_id)
        .one(db)
        .await?
        .ok_or_else(|| bad("unknown_term", "no such term"))?;
    courses::Entity::find_by_id(b.course_id)
        .one(db)
        .await?
        .ok_or_else(|| bad("unknown_course", "no such course"))?;
    if let Some(t) = b.teacher_id {
        let teacher = users::Entity::find_by_id(t).one(db).await?;
        if !teacher.is_some_and(|u| u.kind == "teacher" || u.kind == "staff") {
            return Err(bad(
                "unknown_teacher",
                "the teacher must be a teacher's account",
            ));
        }
    }
    Ok(())
}

pub(super) async fn save_section(
    state: &AppState,
    actor: i64,
    id: Option<i64>,
    b: &SectionBody,
) -> AppResult<sections::Model> {
    let txn = crate::db::write_txn(&state.db).await?;
    validate_section(&txn, b).await?;
    let saved = match id {
        Some(id) => {
            let old = sections::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            if b.capacity + old.override_count < old.enrolled_count
                || b.waitlist_capacity < old.waitlist_count
            {
                return Err(bad(
                    "capacity_below_enrolled",
                    &format!(
                        "{} students are enrolled and {} waiting; capacity cannot go below that",
                        old.enrolled_count, old.waitlist_count
                    ),
                ));
            }
            let mut am: sections::ActiveModel = old.into();
            am.term_id = Set(b.term_id);
            am.course_id = Set(b.course_id);
            am.section_no = Set(text(&b.section_no, "section_no", 10)?);
            am.teacher_id = Set(b.teacher_id);
            am.capacity = Set(b.capacity);
            am.waitlist_capacity = Set(b.waitlist_capacity);
            am.room = Set(b.room.trim().to_string());
            am.update(&txn).await.map_err(|e| dup(e, "section"))?
        }
        None => sections::ActiveModel {
            term_id: Set(b.term_id),
            course_id: Set(b.course_id),
            section_no: Set(text(&b.section_no, "section_no", 10)?),
            teacher_id: Set(b.teacher_id),
            capacity: Set(b.capacity),
            waitlist_capacity: Set(b.waitlist_capacity),
            room: Set(b.room.trim().to_string()),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| dup(e, "section"))?,
    };
    section_meetings::Entity::delete_many()
        .filter(section_meetings::Column::SectionId.eq(saved.id))
        .exec(&txn)
        .await?;
    for m in &b.meetings {
        section_meetings::ActiveModel {
            section_id: Set(saved.id),
            weekday: Set(m.weekday),
            start_period: Set(m.start_period),
            end_period: Set(m.end_period),
            start_week: Set(m.start_week),
            end_week: Set(m.end_week),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    Entry::new(Some(actor), if id.is_some() { "sections.update" } else { "sections.create" }, "section")
        .id(saved.id)
        .detail(json!({"capacity": saved.capacity, "waitlist_capacity": saved.waitlist_capacity, "teacher_id": saved.teacher_id}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(saved)
}

#[post("/sections", format = "json", data = "<body>")]
pub async fn api_section_create(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    body: Json<SectionBody>,
) -> AppResult<(Status, Json<sections::Model>)> {
    Ok((
        Status::Created,
        Json(save_section(state, who.id, None, &body).await?),
    ))
}

#[put("/sections/<id>", format = "json", data = "<body>")]
pub async fn api_section_update(
    _on: ModuleOn<on::Courses>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    id: i64,
    body: Json<SectionBody>,
) -> AppResult<Json<sections::Model>> {
    Ok(Json(save_section(state, who.id, Some(id), &body).await?))
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![
        api_term_create,
        api_term_update,
        api_course_create,
        api_course_update,
        api_section_create,
        api_section_update
    ]
}
