//! Announcement pages.

use super::dto::NewAnnouncement;
use super::forms::AnnForm;
use super::service::{self as announcements, SCOPES};
use crate::access::{ModuleOn, Permission, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::interaction::util::department_options;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

async fn page(
    ctx: &Ctx<'_>,
    state: &AppState,
    user: &CurrentUser,
    form: Value,
    error: Option<String>,
) -> AppResult<Template> {
    let zh = ctx.lang == Lang::Zh;
    let manage = user.can(Permission::ManageAnnouncements);
    let list = if manage {
        announcements::all(&state.db).await?
    } else {
        announcements::visible(&state.db, user, 100).await?
    };
    Ok(ctx.render(
        "interaction/announcements",
        "interaction.announcements.title",
        json!({"items": list.iter().map(|a| announcements::row(a, zh)).collect::<Vec<_>>(),
               "can_manage": manage, "form": form, "error": error,
               "scopes": SCOPES.iter().map(|s| json!({"code": s, "label": ctx.t(&format!("interaction.announcements.scope.{s}"))})).collect::<Vec<_>>(),
               "departments": department_options(&state.db, zh).await?}),
    ))
}

#[get("/announcements", rank = 2)]
pub async fn announcements_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Template> {
    page(&ctx, state, user, json!({"scope": ""}), None).await
}

#[post("/announcements", data = "<form>", rank = 2)]
pub async fn announcements_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    form: Csrf<AnnForm>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let n = NewAnnouncement {
        scope: form.scope.clone(),
        department_id: form.department_id,
        section_id: form.section_id,
        title_zh: form.title_zh.clone(),
        title_en: form.title_en.clone(),
        body: form.body.clone(),
        publish_at: Some(form.publish_at.clone()),
    };
    match announcements::create(&state.db, user, &n).await {
        Ok(_) => Ok(Ok(Redirect::to("/announcements"))),
        Err(AppError::Unprocessable { message, .. }) => {
            let values = json!({"scope": form.scope, "title_zh": form.title_zh, "title_en": form.title_en,
                                "body": form.body, "publish_at": form.publish_at, "section_id": form.section_id});
            let p = page(&ctx, state, user, values, Some(message)).await?;
            Ok(Err((Status::UnprocessableEntity, p)))
        }
        Err(e) => Err(e),
    }
}
