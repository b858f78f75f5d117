//! Interaction and care (互动沟通, 客户关怀): messages, inquiries and complaints, course
//! feedback, announcements, and the care given to students at risk.

use crate::error::AppResult;
use crate::web::Ctx;
use rocket::Route;
use serde_json::Value;

pub fn page_routes() -> Vec<Route> {
    rocket::routes![]
}

pub fn api_routes() -> Vec<Route> {
    rocket::routes![]
}

/// One-line descriptions of this module's API routes by handler name, for the API reference.
pub fn api_summary(name: &str) -> Option<&'static str> {
    let text = match name {
        _ => return None,
    };
    Some(text)
}

/// This module's part of a student's 360° page (`panels.interaction` in
/// `templates/interaction/profile_panel.html.tera`); `Value::Null` when the module is off or the
/// viewer may not see it.
pub async fn profile_panel(
    _ctx: &Ctx<'_>,
    _db: &sea_orm::DatabaseConnection,
    _student_id: i64,
) -> AppResult<Value> {
    Ok(Value::Null)
}
