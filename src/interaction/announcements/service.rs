//! Announcements: university-wide, for a department, or for a section, each with a publish
//! date; shown on the dashboards of the people they concern once published.

pub use super::dto::NewAnnouncement;
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{announcements, departments, enrolments, sections, students, users};
use crate::error::{AppError, AppResult};
use crate::interaction::messages::notify::{Notice, notify_users_with};
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
        notified_at: Set(None),
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

/// The accounts an announcement concerns (its author left out).
async fn readers(db: &impl ConnectionTrait, a: &announcements::Model) -> AppResult<Vec<i64>> {
    let mut ids: Vec<i64> = match (a.scope.as_str(), a.department_id, a.section_id) {
        ("department", Some(d), _) => {
            let mut ids: Vec<i64> = students::Entity::find()
                .select_only()
                .column(students::Column::UserId)
                .filter(students::Column::DepartmentId.eq(d))
                .filter(students::Column::UserId.is_not_null())
                .into_tuple::<Option<i64>>()
                .all(db)
                .await?
                .into_iter()
                .flatten()
                .collect();
            ids.extend(
                users::Entity::find()
                    .select_only()
                    .column(users::Column::Id)
                    .filter(users::Column::DepartmentId.eq(d))
                    .filter(users::Column::IsActive.eq(true))
                    .into_tuple::<i64>()
                    .all(db)
                    .await?,
            );
            ids
        }
        ("section", _, Some(s)) => {
            let enrolled: Vec<i64> = enrolments::Entity::find()
                .select_only()
                .column(enrolments::Column::StudentId)
                .filter(enrolments::Column::SectionId.eq(s))
                .filter(enrolments::Column::Status.eq("enrolled"))
                .into_tuple()
                .all(db)
                .await?;
            let mut ids: Vec<i64> = students::Entity::find()
                .select_only()
                .column(students::Column::UserId)
                .filter(students::Column::Id.is_in(enrolled))
                .into_tuple::<Option<i64>>()
                .all(db)
                .await?
                .into_iter()
                .flatten()
                .collect();
            ids.extend(
                sections::Entity::find_by_id(s)
                    .one(db)
                    .await?
                    .and_then(|x| x.teacher_id),
            );
            ids
        }
        _ => {
            users::Entity::find()
                .select_only()
                .column(users::Column::Id)
                .filter(users::Column::IsActive.eq(true))
                .into_tuple()
                .all(db)
                .await?
        }
    };
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|id| Some(*id) != a.author_id);
    Ok(ids)
}

/// Notifies the readers of every announcement published by `at` and not yet announced: each
/// in one transaction that first marks it notified (only one instance wins that), so nobody
/// is told twice. Answers how many people were notified.
pub async fn notify_published(db: &crate::db::Db, at: DateTime<FixedOffset>) -> AppResult<usize> {
    let due: Vec<announcements::Model> = announcements::Entity::find()
        .filter(announcements::Column::NotifiedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter(|a| a.publish_at <= at)
        .collect();
    let mut told = 0;
    for a in due {
        let txn = write_txn(db).await?;
        let won = announcements::Entity::update_many()
            .col_expr(
                announcements::Column::NotifiedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .filter(announcements::Column::Id.eq(a.id))
            .filter(announcements::Column::NotifiedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !won {
            txn.rollback().await?;
            continue;
        }
        let letter = crate::mail::Letter::new("announcement")
            .arg("title_zh", &a.title_zh)
            .arg("title_en", &a.title_en)
            .quote(&a.body)
            .link("/announcements");
        // NOTE: 500 readers at a time, each batch in a few statements: an announcement to
        // every student holds the writer (the whole transaction) for a few statements per 500
        // readers instead of seven or more per reader, with its notices in memory bounded by
        // the batch.
        for batch in readers(&txn, &a).await?.chunks(500) {
            let notices = batch
                .iter()
                .map(|uid| Notice {
                    user_id: *uid,
                    title: a.title_en.clone(),
                    body: a.body.clone(),
                    link: "/announcements".to_string(),
                    letter: letter.clone(),
                })
                .collect();
            notify_users_with(&txn, "announcement", notices).await?;
            told += batch.len();
        }
        txn.commit().await?;
    }
    Ok(told)
}
