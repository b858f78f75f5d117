//! Changes to published grades: the teacher asks with a reason, someone with
//! `grades.approve` (not the requester) approves or rejects, and every change is kept in the
//! grade's history (who, when, old → new, why, who approved).

use super::service::{PUBLISHED, Section, is_teacher_of, load_section, parse_score};
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{courses, grade_changes, grade_history, grades, sections, students};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
pub struct ChangeIn {
    pub new_score: Option<serde_json::Value>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
pub struct DecisionIn {
    pub note: Option<String>,
}

/// A grade with its section, for access checks.
pub async fn grade_with_section(
    db: &impl ConnectionTrait,
    grade_id: i64,
) -> AppResult<(grades::Model, Section)> {
    let g = grades::Entity::find_by_id(grade_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let s = sections::Entity::find_by_id(g.section_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((g, load_section(db, s).await?))
}

async fn deny(db: &impl ConnectionTrait, user: &CurrentUser, action: &str, id: i64) -> AppError {
    if let Err(e) = Entry::new(Some(user.id), action, "grade")
        .id(id)
        .denied()
        .write(db)
        .await
    {
        return e;
    }
    AppError::Forbidden
}

/// The section's teacher asks to change a published grade.
pub async fn request(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    grade_id: i64,
    input: &ChangeIn,
) -> AppResult<grade_changes::Model> {
    let txn = write_txn(db).await?;
    let (g, section) = grade_with_section(&txn, grade_id).await?;
    if !is_teacher_of(user, &section.model) {
        let e = deny(&txn, user, "grades.change.request", grade_id).await;
        txn.commit().await?;
        return Err(e);
    }
    if g.status != PUBLISHED {
        return Err(AppError::conflict(
            "not_published",
            "this grade is a draft: change it in the grade entry instead",
        ));
    }
    let mut problems = Vec::new();
    let new_score = match input.new_score.as_ref() {
        None | Some(serde_json::Value::Null) => {
            problems.push("new_score: required".to_string());
            0.0
        }
        Some(v) => parse_score(v).unwrap_or_else(|r| {
            problems.push(format!("new_score: {r}"));
            0.0
        }),
    };
    let reason = input.reason.clone().unwrap_or_default().trim().to_string();
    if reason.chars().count() < 5 || reason.chars().count() > 1000 {
        problems.push("reason: say why, in 5 to 1000 characters".to_string());
    }
    if problems.is_empty() && (new_score - g.score).abs() < 1e-9 {
        problems.push("new_score: the same as the current score".to_string());
    }
    if !problems.is_empty() {
        return Err(AppError::unprocessable(
            "invalid_change",
            problems.join("; "),
        ));
    }
    let pending = grade_changes::Entity::find()
        .filter(grade_changes::Column::GradeId.eq(g.id))
        .filter(grade_changes::Column::Status.eq(PENDING))
        .one(&txn)
        .await?;
    if pending.is_some() {
        return Err(AppError::conflict(
            "change_pending",
            "a change request for this grade is already waiting for approval",
        ));
    }
    let now = Utc::now().fixed_offset();
    let change = grade_changes::ActiveModel {
        grade_id: Set(g.id),
        old_score: Set(g.score),
        new_score: Set(new_score),
        reason: Set(reason.clone()),
        requested_by: Set(user.id),
        requested_at: Set(now),
        status: Set(PENDING.into()),
        decided_by: Set(None),
        decided_at: Set(None),
        decision_note: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(user.id), "grades.change.request", "grade")
        .id(g.id)
        .student(g.student_id)
        .detail(json!({"change_id": change.id, "reason": reason}))
        .change(json!({"score": g.score}), json!({"score": new_score}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(change)
}

/// Approves or rejects a pending change (one transaction: the grade, its history, the request
/// and the audit entry). The requester cannot decide their own request.
pub async fn decide(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    change_id: i64,
    approve: bool,
    input: &DecisionIn,
) -> AppResult<grade_changes::Model> {
    if !user.can(Permission::ApproveGradeChanges) {
        return Err(AppError::Forbidden);
    }
    let txn = write_txn(db).await?;
    let c = grade_changes::Entity::find_by_id(change_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if c.status != PENDING {
        return Err(AppError::conflict(
            "already_decided",
            "this request has already been decided",
        ));
    }
    if c.requested_by == user.id {
        return Err(AppError::conflict(
            "own_request",
            "a change request must be decided by someone other than its requester",
        ));
    }
    let (g, section) = grade_with_section(&txn, c.grade_id).await?;
    let note = input
        .note
        .clone()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let now = Utc::now().fixed_offset();
    // NOTE: the status condition makes a concurrent second decision a no-op we can detect.
    let res = grade_changes::Entity::update_many()
        .col_expr(
            grade_changes::Column::Status,
            sea_orm::sea_query::Expr::value(if approve { APPROVED } else { REJECTED }),
        )
        .col_expr(
            grade_changes::Column::DecidedBy,
            sea_orm::sea_query::Expr::value(user.id),
        )
        .col_expr(
            grade_changes::Column::DecidedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            grade_changes::Column::DecisionNote,
            sea_orm::sea_query::Expr::value(note.clone()),
        )
        .filter(grade_changes::Column::Id.eq(c.id))
        .filter(grade_changes::Column::Status.eq(PENDING))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::conflict(
            "already_decided",
            "this request has already been decided",
        ));
    }
    if approve {
        let (letter, points) = section.scale.band(c.new_score);
        grades::ActiveModel {
            id: Set(g.id),
            score: Set(c.new_score),
            letter: Set(letter),
            points: Set(points),
            updated_at: Set(now),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        grade_history::ActiveModel {
            grade_id: Set(g.id),
            at: Set(now),
            actor_id: Set(Some(c.requested_by)),
            old_score: Set(Some(g.score)),
            new_score: Set(c.new_score),
            reason: Set(c.reason.clone()),
            approved_by: Set(Some(user.id)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    Entry::new(
        Some(user.id),
        if approve {
            "grades.change.approve"
        } else {
            "grades.change.reject"
        },
        "grade",
    )
    .id(g.id)
    .student(g.student_id)
    .detail(json!({"change_id": c.id, "note": note}))
    .change(
        json!({"score": g.score}),
        json!({"score": if approve { c.new_score } else { g.score }}),
    )
    .write(&txn)
    .await?;
    super::notify::decided(
        &txn,
        &section,
        c.requested_by,
        g.student_id,
        approve,
        (approve && g.status == super::service::PUBLISHED).then_some(c.new_score),
    )
    .await?;
    let out = grade_changes::Entity::find_by_id(c.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(out)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryRow {
    pub at: String,
    pub actor: Option<String>,
    pub old_score: Option<f64>,
    pub new_score: f64,
    pub reason: String,
    pub approved_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeRow {
    pub id: i64,
    pub grade_id: i64,
    pub course_code: String,
    pub section_no: String,
    pub student_no: String,
    pub student_name: String,
    pub old_score: f64,
    pub new_score: f64,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

async fn names(db: &impl ConnectionTrait, ids: Vec<i64>) -> AppResult<HashMap<i64, String>> {
    crate::auth::service::display_names(db, ids).await
}

/// Who may read a grade's history: the section's teacher, staff with `grades.view_all`, and
/// the student themself once the grade is published. Refusals are audited.
pub async fn history(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    grade_id: i64,
) -> AppResult<(Vec<HistoryRow>, Vec<ChangeRow>)> {
    let (g, section) = grade_with_section(db, grade_id).await?;
    let own = user.student_id == Some(g.student_id) && g.status == PUBLISHED;
    if !(own || is_teacher_of(user, &section.model) || user.can(Permission::ViewAllGrades)) {
        return Err(deny(db, user, "grades.history.read", grade_id).await);
    }
    let rows = grade_history::Entity::find()
        .filter(grade_history::Column::GradeId.eq(g.id))
        .order_by_asc(grade_history::Column::At)
        .order_by_asc(grade_history::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.actor_id, r.approved_by])
        .flatten()
        .collect();
    let who = names(db, ids).await?;
    let hist = rows
        .into_iter()
        .map(|r| HistoryRow {
            at: r.at.to_rfc3339(),
            actor: r.actor_id.and_then(|i| who.get(&i).cloned()),
            old_score: r.old_score,
            new_score: r.new_score,
            reason: r.reason,
            approved_by: r.approved_by.and_then(|i| who.get(&i).cloned()),
        })
        .collect();
    let changes = change_rows(db, Some(g.id), None).await?;
    Ok((hist, changes))
}

/// Change requests, filtered by grade and/or status, newest first.
pub async fn change_rows(
    db: &impl ConnectionTrait,
    grade_id: Option<i64>,
    status: Option<&str>,
) -> AppResult<Vec<ChangeRow>> {
    let mut q = grade_changes::Entity::find().order_by_desc(grade_changes::Column::RequestedAt);
    if let Some(g) = grade_id {
        q = q.filter(grade_changes::Column::GradeId.eq(g));
    }
    if let Some(s) = status {
        q = q.filter(grade_changes::Column::Status.eq(s));
    }
    let list = q.limit(500).all(db).await?;
    let grade_ids: Vec<i64> = list.iter().map(|c| c.grade_id).collect();
    type Ctx = (i64, String, String, String, String);
    let ctx: HashMap<i64, Ctx> = grades::Entity::find()
        .select_only()
        .column(grades::Column::Id)
        .column(courses::Column::Code)
        .column(sections::Column::SectionNo)
        .column(students::Column::StudentNo)
        .column(students::Column::NameZh)
        .inner_join(sections::Entity)
        .join(
            sea_orm::JoinType::InnerJoin,
            sections::Relation::Courses.def(),
        )
        .join(
            sea_orm::JoinType::InnerJoin,
            grades::Relation::Students.def(),
        )
        .filter(grades::Column::Id.is_in(grade_ids))
        .into_tuple::<Ctx>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.0, r))
        .collect();
    let ids: Vec<i64> = list
        .iter()
        .flat_map(|c| [Some(c.requested_by), c.decided_by])
        .flatten()
        .collect();
    let who = names(db, ids).await?;
    Ok(list
        .into_iter()
        .map(|c| {
            let (_, course, no, sno, sname) = ctx.get(&c.grade_id).cloned().unwrap_or_default();
            ChangeRow {
                id: c.id,
                grade_id: c.grade_id,
                course_code: course,
                section_no: no,
                student_no: sno,
                student_name: sname,
                old_score: c.old_score,
                new_score: c.new_score,
                reason: c.reason,
                requested_by: who.get(&c.requested_by).cloned().unwrap_or_default(),
                requested_at: c.requested_at.to_rfc3339(),
                status: c.status,
                decided_by: c.decided_by.and_then(|i| who.get(&i).cloned()),
                decided_at: c.decided_at.map(|d| d.to_rfc3339()),
                decision_note: c.decision_note,
            }
        })
        .collect())
}
