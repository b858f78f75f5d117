//! The pages of e-mail: each person's preferences, the unsubscribe link's confirmation (no
//! login: the token is the authority), and the administrator's outbox.

use super::categories::{Category, Mode};
use super::forms::PrefsForm;
use super::{queue, service, token};
use crate::access::{Perm, can};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::csrf::Csrf;
use crate::web::{CsrfForm, Ctx};
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::{Value, json};

#[get("/account/notifications?<saved>")]
pub async fn prefs_page(
    ctx: Ctx<'_>,
    user: &CurrentUser,
    state: &State<AppState>,
    saved: Option<bool>,
) -> AppResult<Template> {
    let view = service::prefs_view(&state.db, user.id, user.student_id.is_some()).await?;
    let modes: Vec<Value> = Mode::ALL
        .iter()
        .map(|m| json!({"code": m.code(), "label": ctx.t(&format!("mail.mode.{}", m.code()))}))
        .collect();
    let rows: Vec<Value> = view
        .prefs
        .iter()
        .map(|p| {
            json!({"code": p.category.code(), "mode": p.mode.code(),
                   "label": ctx.t(&format!("mail.category.{}", p.category.code())),
                   "hint": ctx.t(&format!("mail.category.{}_hint", p.category.code()))})
        })
        .collect();
    Ok(ctx.render(
        "mail/prefs",
        "mail.prefs.title",
        json!({"rows": rows, "modes": modes, "email": view.email,
               "saved": saved.unwrap_or(false)}),
    ))
}

#[post("/account/notifications", data = "<form>")]
pub async fn prefs_submit(
    user: &CurrentUser,
    state: &State<AppState>,
    form: Csrf<PrefsForm>,
) -> AppResult<Redirect> {
    let choices = form.choices()?;
    service::save_and_view(&state.db, user.id, user.student_id.is_some(), &choices).await?;
    Ok(Redirect::to("/account/notifications?saved=true"))
}

fn category_label(ctx: &Ctx<'_>, c: Category) -> String {
    ctx.t(&format!("mail.category.{}", c.code()))
}

/// The confirmation page of an unsubscribe link, with its one button.
#[get("/unsubscribe/<code>")]
pub async fn unsubscribe_page(
    ctx: Ctx<'_>,
    state: &State<AppState>,
    code: &str,
) -> AppResult<Template> {
    let (_, category) = token::check(&state.mail.key, code).ok_or(AppError::NotFound)?;
    Ok(ctx.render(
        "mail/unsubscribe",
        "mail.unsubscribe.title",
        json!({"code": code, "category": category_label(&ctx, category), "done": false}),
    ))
}

/// One-click unsubscribe (RFC 8058): the mail client's POST, or the page's button. No login
/// and no CSRF token: the signed token names the person and the category.
#[post("/unsubscribe/<code>")]
pub async fn unsubscribe_post(
    ctx: Ctx<'_>,
    state: &State<AppState>,
    code: &str,
) -> AppResult<Template> {
    let (user_id, category) = token::check(&state.mail.key, code).ok_or(AppError::NotFound)?;
    service::unsubscribe(&state.db, user_id, category).await?;
    Ok(ctx.render(
        "mail/unsubscribe",
        "mail.unsubscribe.title",
        json!({"code": code, "category": category_label(&ctx, category), "done": true}),
    ))
}

#[get("/admin/outbox?<flash>")]
pub async fn outbox_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    flash: Option<&str>,
) -> AppResult<Template> {
    let view = service::outbox_view(&state.db, state.mail.enabled()).await?;
    let flash = flash.and_then(|f| ctx.known("mail.outbox.flash", Some(f)));
    Ok(ctx.render(
        "mail/outbox",
        "mail.outbox.title",
        json!({"view": view, "flash_text": flash}),
    ))
}

#[post("/admin/outbox/<id>/retry", data = "<_form>")]
pub async fn outbox_retry(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<CsrfForm<'_>>,
) -> AppResult<Redirect> {
    queue::retry(&state.db, who.id, id).await?;
    Ok(Redirect::to("/admin/outbox?flash=retried"))
}

#[post("/admin/outbox/<id>/discard", data = "<_form>")]
pub async fn outbox_discard(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<CsrfForm<'_>>,
) -> AppResult<Redirect> {
    queue::discard(&state.db, who.id, id).await?;
    Ok(Redirect::to("/admin/outbox?flash=discarded"))
}
