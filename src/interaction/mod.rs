//! Interaction and care (互动沟通, 客户关怀): messages, inquiries and complaints, course
//! feedback, announcements, and the care given to students at risk.

mod announcements;
mod announcements_web;
mod care;
mod care_web;
mod cases;
mod cases_web;
pub mod feedback;
mod feedback_web;
pub mod messages;
mod messages_web;
pub mod notify;
mod settings_web;
mod util;

use crate::error::AppResult;
use crate::web::Ctx;
use rocket::Route;
use serde_json::Value;

pub use notify::unread_counts;

pub fn page_routes() -> Vec<Route> {
    rocket::routes![
        cases_web::cases_page,
        cases_web::cases_submit,
        cases_web::case_page,
        cases_web::case_submit,
        cases_web::report_page,
        messages_web::messages_page,
        messages_web::messages_submit,
        messages_web::conversation_page,
        messages_web::conversation_submit,
        messages_web::notifications_page,
        messages_web::notifications_read,
        announcements_web::announcements_page,
        announcements_web::announcements_submit,
        feedback_web::feedback_page,
        feedback_web::feedback_results_page,
        feedback_web::feedback_submit,
        care_web::care_page,
        care_web::care_submit,
        care_web::effect_page,
        settings_web::settings_page,
        settings_web::settings_submit,
    ]
}

pub fn api_routes() -> Vec<Route> {
    rocket::routes![
        cases_web::api_open_case,
        cases_web::api_list_cases,
        cases_web::api_show_case,
        cases_web::api_case_action,
        cases_web::api_case_report,
        messages_web::api_list_conversations,
        messages_web::api_start_conversation,
        messages_web::api_show_conversation,
        messages_web::api_send_message,
        messages_web::api_notifications,
        messages_web::api_notifications_read,
        messages_web::api_list_segments,
        messages_web::api_save_segment,
        announcements_web::api_list_announcements,
        announcements_web::api_create_announcement,
        feedback_web::api_feedback_results,
        feedback_web::api_feedback_submit,
        care_web::api_care_worklist,
        care_web::api_record_intervention,
        care_web::api_care_effect,
    ]
}

/// One-line descriptions of this module's API routes by handler name, for the API reference.
pub fn api_summary(name: &str) -> Option<&'static str> {
    let text = match name {
        "api_open_case" => "Open a case (inquiry, complaint, suggestion) for one's own record",
        "api_list_cases" => "Cases: a student's own, or the queues a handler works",
        "api_show_case" => "One case with its history, timings and rating",
        "api_case_action" => "Take, reply to, reassign, close or rate a case",
        "api_case_report" => "Case volumes, response times and topics per department and month",
        "api_list_conversations" => "The caller's conversations, most recent first",
        "api_start_conversation" => {
            "Write to a teacher/advisor, a student, a section, a course or a saved segment"
        }
        "api_show_conversation" => "One conversation's messages (members only); marks it read",
        "api_send_message" => "Reply in a conversation",
        "api_notifications" => "The caller's notifications",
        "api_notifications_read" => "Mark all of the caller's notifications read",
        "api_list_segments" => "The caller's saved student segments",
        "api_save_segment" => "Save a student-list filter as a segment",
        "api_list_announcements" => "Published announcements that concern the caller",
        "api_create_announcement" => "Publish a university, department or section announcement",
        "api_feedback_results" => {
            "A section's anonymous feedback totals (shown from the minimum number of answers)"
        }
        "api_feedback_submit" => "Answer a section's end-of-term feedback survey, once",
        "api_care_worklist" => "Open risk flags of the caller's students, with the care given",
        "api_record_intervention" => {
            "Record a meeting, tutoring, referral or message for a student"
        }
        "api_care_effect" => "Flagged students with care vs without: score change, sizes, means",
        _ => return None,
    };
    Some(text)
}

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
    announcements::visible(db, user, 5).await
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
    let (list, ratings) = cases::student_ratings(db, student_id).await?;
    let open = list.iter().filter(|c| c.status != "closed").count();
    let mean_rating = (!ratings.is_empty())
        .then(|| ratings.iter().map(|r| r.rating as f64).sum::<f64>() / ratings.len() as f64);
    let handler = viewer.can(Permission::HandleCases);
    let case_rows: Vec<Value> = if handler {
        list.iter()
            .take(10)
            .map(|c| {
                serde_json::json!({"id": c.id, "subject": c.subject,
                    "status": ctx.t(&format!("interaction.case.status.{}", c.status)),
                    "category": ctx.t(&format!("interaction.case.category.{}", c.category)),
                    "rating": ratings.iter().find(|r| r.case_id == c.id).map(|r| r.rating)})
            })
            .collect()
    } else {
        Vec::new()
    };
    let care_list = care::for_student(db, student_id).await?;
    let names = util::user_names(db, care_list.iter().map(|i| i.staff_id)).await?;
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
