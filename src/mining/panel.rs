//! This module's part of a student's 360° page (`panels.mining` in
//! `templates/mining/profile_panel.html.tera`).

use super::service;
use crate::access::{Module, Permission};
use crate::error::AppResult;
use crate::web::Ctx;
use serde_json::Value;

/// The panel's context; `Value::Null` when the module is off, the viewer may not see it or the
/// student was not scored.
pub async fn profile_panel(
    ctx: &Ctx<'_>,
    db: &sea_orm::DatabaseConnection,
    student_id: i64,
) -> AppResult<Value> {
    let Some(user) = ctx.user else {
        return Ok(Value::Null);
    };
    if !ctx.modules.contains(&Module::Mining) {
        return Ok(Value::Null);
    }
    let own = user.student_id == Some(student_id);
    let staff = user.can(Permission::ViewMining) || user.can(Permission::RunMining);
    if !own && !staff {
        return Ok(Value::Null);
    }
    let Some(panel) = service::profile_panel(db, student_id, own, ctx.lang).await? else {
        return Ok(Value::Null);
    };
    let level_label = panel
        .level
        .as_ref()
        .map(|l| ctx.t(&format!("mining.level.{l}")));
    let mut v = serde_json::json!(panel);
    v["level_label"] = serde_json::json!(level_label);
    Ok(v)
}
