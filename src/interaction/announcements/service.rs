//! Announcements: university-wide, for a department, or for a section, each with a publish
//! date; shown on the dashboards of the people they concern once published.

pub use super::dto::NewAnnouncement;
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{announcements, departments, enrolments, sections, students, users};
use crate::error::{AppError, AppResult};
use crate::interaction::util::{fmt, now, text};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

pub const SCOPES: [&str; 3] = ["university", "department", "section"];

fn parse_when(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .ok()
                .map(|d| d.and_utc().fixed_offset())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().fixed_offset())
        })
}

pub async fn create(
    db: &DatabaseConnection,
    user: &CurrentUser,
    n: &NewAnnouncement,
) -> AppResult<announcements::Model> {
    if !user.can(Permission::ManageAnnouncements) {
        return Err(AppError::Forbidden);
    }
    let scope = n.scope.trim();
    if !SCOPES.contains(&scope) {
        return Err(AppError::unprocessable(
            "invalid_scope",
            "scope must be university, department or section",
        ));
    }
    let (dept, section) = match scope {
        "department" => {
            let d = n.department_id.ok_or_else(|| {
                AppError::unprocessable("invalid_department", "choose a department")
            })?;
            if departments::Entity::find_by_id(d).one(db).await?.is_none() {
                return Err(AppError::unprocessable(
                    "invalid_department",
                    "no such department",
                ));
            }
            (Some(d), None)
        }
        "section" => {
            let s = n
                .section_id
                .ok_or_else(|| AppError::unprocessable("invalid_section", "choose a section"))?;
            if sections::Entity::find_by_id(s).one(db).await?.is_none() {
                return Err(AppError::unprocessable(
                    "invalid_section",
                    "no such section",
                ));
            }
            (None, Some(s))
        }
        _ => (None, None),
    };
    let title_zh = text("title_zh", &n.title_zh, 200)?;
    let title_en = match n.title_en.trim() {
        "" => title_zh.clone(),
        t => text("title_en", t, 200)?,
    };
    let body = text("body", &n.body, 5000)?;
    let publish_at = match n.publish_at.as_deref().map(str::trim) {
        None | Some("") => now(),
        Some(s) => parse_when(s).ok_or_else(|| {
            AppError::unprocessable("invalid_publish_at", "publish_at must be a date and time")
        })?,
    };
    let txn = write_txn(db).await?;
    let a = announcements::ActiveModel {
        scope: Set(scope.to_string()),
        department_id: Set(dept),
        section_id: Set(section),
        title_zh: Set(title_zh),
        title_en: Set(title_en),
        body: Set(body),
        publish_at: Set(publish_at),
        author_id: Set(Some(user.id)),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(user.id), "announcements.create", "announcement")
        .id(a.id)
        .detail(json!({"scope": scope, "department_id": dept, "section_id": section}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(a)
}

/// The published announcements that concern `user`: university-wide ones, their department's,
/// and those of sections they are enrolled in or teach. Newest first.
pub async fn visible(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    limit: u64,
) -> AppResult<Vec<announcements::Model>> {
    let mut dept = None;
    let mut section_ids: Vec<i64> = sections::Entity::find()
        .filter(sections::Column::TeacherId.eq(user.id))
        .select_only()
        .column(sections::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if let Some(sid) = user.student_id {
        dept = students::Entity::find_by_id(sid)
            .one(db)
            .await?
            .map(|s| s.department_id);
        section_ids.extend(
            enrolments::Entity::find()
                .filter(enrolments::Column::StudentId.eq(sid))
                .filter(enrolments::Column::Status.eq("enrolled"))
                .select_only()
                .column(enrolments::Column::SectionId)
                .into_tuple::<i64>()
                .all(db)
                .await?,
        );
    } else {
        dept = users::Entity::find_by_id(user.id)
            .one(db)
            .await?
            .and_then(|u| u.department_id)
            .or(dept);
    }
    let mut any = Condition::any().add(announcements::Column::Scope.eq("university"));
    if let Some(d) = dept {
        any = any.add(
            Condition::all()
                .add(announcements::Column::Scope.eq("department"))
                .add(announcements::Column::DepartmentId.eq(d)),
        );
    }
    if !section_ids.is_empty() {
        any = any.add(
            Condition::all()
                .add(announcements::Column::Scope.eq("section"))
                .add(announcements::Column::SectionId.is_in(section_ids)),
        );
    }
    Ok(announcements::Entity::find()
        .filter(any)
        .filter(announcements::Column::PublishAt.lte(now()))
        .order_by_desc(announcements::Column::PublishAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Every announcement, scheduled ones included (for those who manage them).
pub async fn all(db: &impl ConnectionTrait) -> AppResult<Vec<announcements::Model>> {
    Ok(announcements::Entity::find()
        .order_by_desc(announcements::Column::PublishAt)
        .limit(200)
        .all(db)
        .await?)
}

/// For pages: the title in the page's language and the dates formatted.
pub fn row(a: &announcements::Model, zh: bool) -> serde_json::Value {
    json!({"id": a.id, "scope": a.scope, "title": if zh { &a.title_zh } else { &a.title_en },
           "title_zh": a.title_zh, "title_en": a.title_en, "body": a.body,
           "publish_at": fmt(&a.publish_at), "scheduled": a.publish_at > now()})
}
