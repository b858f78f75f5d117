//! What interaction shows on other domains' pages: the dashboard's announcements and this
//! module's panel of a student's 360° page.

use crate::error::AppResult;
use crate::web::Ctx;
use serde_json::Value;

/// The published announcements for `user`'s dashboard (empty when the module is off).
pub async fn dashboard_announcements(
    db: &impl sea_orm::ConnectionTrait,
    user: &crate::auth::CurrentUser,
) -> AppResult<Vec<crate::entity::announcements::Model>> {
    if crate::access::require_module(db, crate::access::Module::Messages)
        .await
        .is_err()
    {
        return Ok(Vec::new());
    }
    super::announcements::service::visible(db, user, 5).await
}

/// This module's part of a student's 360° page (`panels.interaction` in
/// `templates/interaction/profile_panel.html.tera`); `Value::Null` when the module is off or the
/// viewer may not see it. Staff who may read the record (the page checked and audited that)
/// and hold a staff right see counts of conversations and cases, the case ratings (satisfaction)
/// and the care given; case subjects only with `cases.handle`.
pub async fn profile_panel(
    ctx: &Ctx<'_>,
    db: &sea_orm::DatabaseConnection,
    student_id: i64,
) -> AppResult<Value> {
    use crate::access::{Module, Permission};
    use crate::entity::{conversation_members, students};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let Some(viewer) = ctx.user else {
        return Ok(Value::Null);
    };
    let staff = [
        Permission::HandleCases,
        Permission::RecordInterventions,
        Permission::ViewAnyStudent,
        Permission::ViewScopedStudents,
    ]
    .iter()
    .any(|p| viewer.can(*p));
    if !ctx.modules.contains(&Module::Messages)
        || viewer.student_id == Some(student_id)
        || !staff
        || !crate::students::service::can_view(db, viewer, student_id).await?
    {
        return Ok(Value::Null);
    }
    let user_id = students::Entity::find_by_id(student_id)
        .one(db)
        .await?
        .and_then(|s| s.user_id);
    let conversations = match user_id {
        Some(u) => {
            conversation_members::Entity::find()
                .filter(conversation_members::Column::UserId.eq(u))
                .count(db)
                .await?
        }
        None => 0,
    };
    let (list, ratings) = super::cases::service::student_ratings(db, student_id).await?;
    let open = list
        .iter()
        .filter(|c| c.status != crate::entity::cases::CaseStatus::Closed)
        .count();
    let mean_rating = (!ratings.is_empty())
        .then(|| ratings.iter().map(|r| r.rating as f64).sum::<f64>() / ratings.len() as f64);
    let handler = viewer.can(Permission::HandleCases);
    let case_rows: Vec<Value> = if handler {
        list.iter()
            .take(10)
            .map(|c| {
                serde_json::json!({"id": c.id, "subject": c.subject,
                    "status": ctx.t(&format!("interaction.case.status.{}", c.status.as_str())),
                    "category": ctx.t(&format!("interaction.case.category.{}", c.category)),
                    "rating": ratings.iter().find(|r| r.case_id == c.id).map(|r| r.rating)})
            })
            .collect()
    } else {
        Vec::new()
    };
    let care_list = super::care::service::for_student(db, student_id).await?;
    let names = super::util::user_names(db, care_list.iter().map(|i| i.staff_id)).await?;
    let care_rows: Vec<Value> = care_list
        .iter()
        .take(20)
        .map(|i| {
            serde_json::json!({"kind": ctx.t(&format!("interaction.care.kind.{}", i.kind)),
                "happened_on": i.happened_on.to_string(),
                "follow_up_on": i.follow_up_on.map(|d| d.to_string()),
                "staff": names.get(&i.staff_id).cloned().unwrap_or_default(), "notes": i.notes})
        })
        .collect();
    Ok(serde_json::json!({
        "conversations": conversations,
        "cases": list.len(), "open_cases": open,
        "ratings": ratings.len(),
        "mean_rating": mean_rating.map(|m| (m * 10.0).round() / 10.0),
        "case_rows": case_rows,
        "care": care_rows,
    }))
}
