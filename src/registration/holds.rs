//! What registrars do around registration: place and lift holds, and grant a one-student
//! override of capacity or prerequisites (with a reason). Every write is audited in its
//! transaction.

use super::dto::OverrideBody;
use crate::audit::Entry;
use crate::entity::{holds, registration_overrides, sections, students};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use serde_json::json;

fn reason(text: &str) -> AppResult<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 500 {
        return Err(AppError::unprocessable(
            "invalid_reason",
            "give a reason of 1-500 characters",
        ));
    }
    Ok(t.to_string())
}

async fn student_exists(db: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    students::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// Places a hold that blocks the student's registration; audited in the same transaction.
pub async fn place_hold(
    db: &DatabaseConnection,
    actor: i64,
    student_id: i64,
    reason_text: &str,
) -> AppResult<holds::Model> {
    let reason = reason(reason_text)?;
    let txn = crate::db::write_txn(db).await?;
    student_exists(&txn, student_id).await?;
    let hold = holds::ActiveModel {
        student_id: Set(student_id),
        reason: Set(reason.clone()),
        placed_by: Set(Some(actor)),
        placed_at: Set(Utc::now().fixed_offset()),
        lifted_by: Set(None),
        lifted_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(actor), "registration.hold_placed", "hold")
        .id(hold.id)
        .student(student_id)
        .detail(json!({"reason": reason}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(hold)
}

/// Lifts a hold (once); audited in the same transaction.
pub async fn lift_hold(db: &DatabaseConnection, actor: i64, id: i64) -> AppResult<holds::Model> {
    let txn = crate::db::write_txn(db).await?;
    let hold = holds::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if hold.lifted_at.is_some() {
        return Err(AppError::conflict(
            "already_lifted",
            "this hold was already lifted",
        ));
    }
    let student = hold.student_id;
    let mut am: holds::ActiveModel = hold.into();
    am.lifted_at = Set(Some(Utc::now().fixed_offset()));
    am.lifted_by = Set(Some(actor));
    let hold = am.update(&txn).await?;
    Entry::new(Some(actor), "registration.hold_lifted", "hold")
        .id(id)
        .student(student)
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(hold)
}

/// Lets one student exceed a section's capacity or skip its prerequisites, with a reason.
pub async fn grant_override(
    db: &DatabaseConnection,
    actor: i64,
    student_id: i64,
    body: &OverrideBody,
) -> AppResult<registration_overrides::Model> {
    if body.kind != "capacity" && body.kind != "prerequisite" {
        return Err(AppError::unprocessable(
            "invalid_kind",
            "an override is for 'capacity' or 'prerequisite'",
        ));
    }
    let reason = reason(&body.reason)?;
    let txn = crate::db::write_txn(db).await?;
    student_exists(&txn, student_id).await?;
    sections::Entity::find_by_id(body.section_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::unprocessable("unknown_section", "no such section"))?;
    let row = registration_overrides::ActiveModel {
        student_id: Set(student_id),
        section_id: Set(body.section_id),
        kind: Set(body.kind.clone()),
        reason: Set(reason.clone()),
        granted_by: Set(Some(actor)),
        granted_at: Set(Utc::now().fixed_offset()),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(actor), "registration.override_granted", "override")
        .id(row.id)
        .student(student_id)
        .detail(json!({"section_id": body.section_id, "kind": body.kind, "reason": reason}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(row)
}

/// A student's holds, newest first (404 for an unknown student).
pub async fn holds_of(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Vec<holds::Model>> {
    student_exists(db, student_id).await?;
    Ok(holds::Entity::find()
        .filter(holds::Column::StudentId.eq(student_id))
        .order_by_desc(holds::Column::Id)
        .all(db)
        .await?)
}

/// The student a hold is on.
pub async fn hold_student(db: &impl ConnectionTrait, id: i64) -> AppResult<i64> {
    holds::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|h| h.student_id)
        .ok_or(AppError::NotFound)
}

/// An override with the section it is for, as `CODE-NO`.
#[derive(Serialize)]
pub struct OverrideRow {
    #[serde(flatten)]
    pub row: registration_overrides::Model,
    pub section: String,
}

/// Everything the registrar's page of one student shows.
pub struct StudentHolds {
    pub student: students::Model,
    pub holds: Vec<holds::Model>,
    pub overrides: Vec<OverrideRow>,
}

pub async fn student_holds(db: &impl ConnectionTrait, id: i64) -> AppResult<StudentHolds> {
    let student = students::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let holds = holds_of(db, id).await?;
    let overrides = registration_overrides::Entity::find()
        .filter(registration_overrides::Column::StudentId.eq(id))
        .order_by_desc(registration_overrides::Column::Id)
        .all(db)
        .await?;
    let mut rows = Vec::with_capacity(overrides.len());
    for o in overrides {
        let section = crate::courses::service::section_row(db, o.section_id)
            .await
            .map(|s| format!("{}-{}", s.course_code, s.section_no))
            .unwrap_or_else(|_| o.section_id.to_string());
        rows.push(OverrideRow { row: o, section });
    }
    Ok(StudentHolds {
        student,
        holds,
        overrides: rows,
    })
}

/// A section named as `CODE-NO` in the current term (or by its id).
pub async fn find_section(db: &impl ConnectionTrait, text: &str) -> AppResult<i64> {
    let text = text.trim();
    if let Ok(id) = text.parse::<i64>() {
        return Ok(id);
    }
    let unknown = || {
        AppError::unprocessable(
            "unknown_section",
            format!("no section {text} in the current term; write it as COURSE-NO, e.g. CS101-01"),
        )
    };
    let (code, no) = text.rsplit_once('-').ok_or_else(unknown)?;
    let term = crate::courses::service::current_term(db)
        .await?
        .ok_or_else(unknown)?;
    let course = crate::entity::courses::Entity::find()
        .filter(crate::entity::courses::Column::Code.eq(code.trim().to_uppercase()))
        .one(db)
        .await?
        .ok_or_else(unknown)?;
    sections::Entity::find()
        .filter(sections::Column::TermId.eq(term.id))
        .filter(sections::Column::CourseId.eq(course.id))
        .filter(sections::Column::SectionNo.eq(no.trim()))
        .one(db)
        .await?
        .map(|s| s.id)
        .ok_or_else(unknown)
}

/// Grants an override for a section named as on the page (`CODE-NO` or an id).
pub async fn grant_override_named(
    db: &DatabaseConnection,
    actor: i64,
    student_id: i64,
    section: &str,
    kind: &str,
    reason: &str,
) -> AppResult<registration_overrides::Model> {
    let body = OverrideBody {
        section_id: find_section(db, section).await?,
        kind: kind.to_string(),
        reason: reason.to_string(),
    };
    grant_override(db, actor, student_id, &body).await
}
