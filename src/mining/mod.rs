//! Mining (数据挖掘): at-risk flags with reasons, clusters and personalised teaching
//! suggestions, evaluated honestly against baselines and published results.

pub mod ml;

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

/// This module's part of a student's 360° page (`panels.mining` in
/// `templates/mining/profile_panel.html.tera`); `Value::Null` when the module is off or the
/// viewer may not see it.
pub async fn profile_panel(
    _ctx: &Ctx<'_>,
    _db: &sea_orm::DatabaseConnection,
    _student_id: i64,
) -> AppResult<Value> {
    Ok(Value::Null)
}
