//! Staff with `courses.manage` create and edit terms, courses and sections (with their meeting
//! times): every write is validated, done in one transaction and audited; and the records as
//! their edit forms show them.

use super::dto::{CourseBody, SectionBody, TermBody};
use crate::audit::Entry;
use crate::entity::{course_prerequisites, courses, section_meetings, sections, terms, users};
use crate::error::{AppError, AppResult};
use crate::state::Fresh;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// This instance's copy of the terms, forgotten when a term changes.
pub type TermCache = Fresh<Arc<Vec<terms::Model>>>;

fn bad(code: &'static str, message: &str) -> AppError {
    AppError::unprocessable(code, message.to_string())
}

fn text(value: &str, field: &'static str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::unprocessable(
            "invalid_field",
            format!("{field} must be 1-{max} characters"),
        )
        .arg("field", field)
        .arg("max", max));
    }
    Ok(v.to_string())
}

fn term_model(b: &TermBody) -> AppResult<terms::ActiveModel> {
    if b.ends_on <= b.starts_on {
        return Err(bad("invalid_dates", "the term must end after it starts").arg("why", "term"));
    }
    if b.registration_closes_at <= b.registration_opens_at {
        return Err(
            bad("invalid_dates", "registration must close after it opens")
                .arg("why", "registration"),
        );
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

/// Creates a term (`id` None) or replaces one; at most one term is current.
pub async fn save_term(
    db: &DatabaseConnection,
    cache: &TermCache,
    actor: i64,
    id: Option<i64>,
    body: &TermBody,
) -> AppResult<terms::Model> {
    let mut am = term_model(body)?;
    let txn = crate::db::write_txn(db).await?;
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
    cache.forget();
    Ok(saved)
}

/// Creates a course (`id` None) or replaces one, with its prerequisites when given.
pub async fn save_course(
    db: &DatabaseConnection,
    actor: i64,
    id: Option<i64>,
    b: &CourseBody,
) -> AppResult<courses::Model> {
    if !(0.0..=30.0).contains(&b.credits) {
        return Err(bad("invalid_credits", "credits must be between 0 and 30"));
    }
    crate::entity::departments::Entity::find_by_id(b.department_id)
        .one(db)
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
    let txn = crate::db::write_txn(db).await?;
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
                )
                .arg("why", "min_score")
                .arg("course", &code));
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
                    .arg("course", &code)
                })?;
            if pre.id == saved.id || !seen.insert(pre.id) {
                return Err(bad(
                    "invalid_prerequisite",
                    &format!("{code} is listed twice or is the course itself"),
                )
                .arg("why", "twice")
                .arg("course", &code));
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

/// Creates a section (`id` None) or replaces one with its meeting times; its capacity never
/// drops below the students in it.
pub async fn save_section(
    db: &DatabaseConnection,
    actor: i64,
    id: Option<i64>,
    b: &SectionBody,
) -> AppResult<sections::Model> {
    let txn = crate::db::write_txn(db).await?;
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

/// Up to 200 courses whose code or title contains `q`, by code (the office's list).
pub async fn course_list(db: &impl ConnectionTrait, q: &str) -> AppResult<Vec<courses::Model>> {
    let mut query = courses::Entity::find().order_by_asc(courses::Column::Code);
    if !q.trim().is_empty() {
        let like = format!("%{}%", q.trim());
        query = query.filter(
            Condition::any()
                .add(courses::Column::Code.like(like.to_uppercase()))
                .add(courses::Column::TitleZh.like(like.clone()))
                .add(courses::Column::TitleEn.like(like)),
        );
    }
    Ok(query.limit(200).all(db).await?)
}

pub async fn term(db: &impl ConnectionTrait, id: i64) -> AppResult<terms::Model> {
    terms::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// A course with its prerequisites written as the form takes them (`CODE min_score`).
pub async fn course_with_prerequisites(
    db: &impl ConnectionTrait,
    id: i64,
) -> AppResult<(courses::Model, Vec<String>)> {
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
    let lines = prereqs
        .iter()
        .filter_map(|p| {
            codes
                .get(&p.prerequisite_id)
                .map(|c| format!("{c} {}", p.min_score))
        })
        .collect();
    Ok((c, lines))
}

/// A section as its edit form shows it: the course by code, the teacher by user name and the
/// meetings written as the form takes them (`weekday periods weeks`).
pub struct SectionDraft {
    pub section: sections::Model,
    pub course_code: String,
    pub teacher_username: String,
    pub meetings: Vec<String>,
}

pub async fn section_draft(db: &impl ConnectionTrait, id: i64) -> AppResult<SectionDraft> {
    let s = sections::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let course_code = courses::Entity::find_by_id(s.course_id)
        .one(db)
        .await?
        .map(|c| c.code)
        .unwrap_or_default();
    let teacher_username = match s.teacher_id {
        Some(t) => users::Entity::find_by_id(t)
            .one(db)
            .await?
            .map(|u| u.username)
            .unwrap_or_default(),
        None => String::new(),
    };
    let meetings = section_meetings::Entity::find()
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
    Ok(SectionDraft {
        section: s,
        course_code,
        teacher_username,
        meetings,
    })
}

/// What a section form names by text: the course's id by its code, the teacher's account id
/// by user name (`Err` with the name when there is no such account).
pub struct SectionRefs {
    pub course_id: Option<i64>,
    pub teacher_id: Result<Option<i64>, String>,
}

pub async fn section_refs(
    db: &impl ConnectionTrait,
    course_code: &str,
    teacher: &str,
) -> AppResult<SectionRefs> {
    let course_id = courses::Entity::find()
        .filter(courses::Column::Code.eq(course_code.trim().to_uppercase()))
        .one(db)
        .await?
        .map(|c| c.id);
    let teacher_id = match teacher.trim() {
        "" => Ok(None),
        name => match users::Entity::find()
            .filter(users::Column::Username.eq(name))
            .one(db)
            .await?
        {
            Some(u) => Ok(Some(u.id)),
            None => Err(name.to_string()),
        },
    };
    Ok(SectionRefs {
        course_id,
        teacher_id,
    })
}
