//! The dashboard page.

use super::service;
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::Ctx;
use rocket::{State, get};
use rocket_dyn_templates::Template;
use serde_json::json;

#[get("/dashboard?<flash>")]
pub async fn dashboard(
    ctx: Ctx<'_>,
    user: &CurrentUser,
    state: &State<AppState>,
    flash: Option<&str>,
) -> AppResult<Template> {
    let board = service::dashboard(&state.db, user, ctx.lang, &ctx.modules).await?;
    let role = board.role.code();
    let flash = ctx.known("flash", flash);
    Ok(ctx.render(
        "dashboard",
        "dashboard.title",
        json!({"role": role, "role_label": ctx.t(&format!("role.{role}")), "data": board.data,
               "announcements": board.announcements, "flash": flash}),
    ))
}
