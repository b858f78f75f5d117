//! A section's roster: its enrolled and waitlisted students, for its teacher and for staff who
//! may see every student. Every read is audited.

use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::courses::service::SectionRow;
use crate::entity::{enrolments, sections, students};
use crate::error::{AppError, AppResult};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::json;

/// One student of a section's roster.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RosterRow {
    pub registration_id: i64,
    pub student_id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub status: crate::entity::enrolments::EnrolmentStatus,
    pub waitlist_position: Option<u64>,
}

/// The enrolled and waitlisted students of a section, for its teacher and for staff who may
/// see every student. The read is audited.
pub async fn roster(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    section_id: i64,
) -> AppResult<Vec<RosterRow>> {
    let section = sections::Entity::find_by_id(section_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let allowed = user.can(Permission::ViewAnyStudent)
        || user.can(Permission::ManageCourses)
        || (section.teacher_id == Some(user.id) && user.can(Permission::ViewScopedStudents));
    if !allowed {
        Entry::new(Some(user.id), "sections.roster.read", "section")
            .id(section_id)
            .denied()
            .write(db)
            .await?;
        return Err(AppError::Forbidden);
    }
    let rows = enrolments::Entity::find()
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(
            enrolments::Column::Status
                .is_in([super::service::ENROLLED, super::service::WAITLISTED]),
        )
        .order_by_asc(enrolments::Column::Status)
        .order_by_asc(enrolments::Column::WaitlistPosition)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.student_id).collect();
    let people: std::collections::HashMap<i64, students::Model> = students::Entity::find()
        .filter(students::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    let mut rank = 0u64;
    for r in rows {
        let Some(s) = people.get(&r.student_id) else {
            continue;
        };
        let waitlist_position = if r.status == super::service::WAITLISTED {
            rank += 1;
            Some(rank)
        } else {
            None
        };
        out.push(RosterRow {
            registration_id: r.id,
            student_id: s.id,
            student_no: s.student_no.clone(),
            name_zh: s.name_zh.clone(),
            name_en: s.name_en.clone(),
            status: r.status,
            waitlist_position,
        });
    }
    Entry::new(Some(user.id), "sections.roster.read", "section")
        .id(section_id)
        .detail(json!({"students": out.len()}))
        .write(db)
        .await?;
    Ok(out)
}

/// The roster with the section as the catalogue shows it, for the roster page.
pub async fn roster_with_section(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    section_id: i64,
) -> AppResult<(Vec<RosterRow>, SectionRow)> {
    let rows = roster(db, user, section_id).await?;
    let section = crate::courses::service::section_row(db, section_id).await?;
    Ok((rows, section))
}
