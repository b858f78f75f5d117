//! The "download my data" page: the latest archive's state, a button to prepare a fresh one,
//! and the download.

use super::api::ZipFile;
use super::service::{self, Fetched};
use crate::access::{ModuleOn, Perm, can, on};
use crate::entity::job_status::JobStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::json;

type Student<'r> = Perm<'r, can::ViewOwnRecord>;

/// Where the student's archive stands.
#[get("/me/data")]
pub async fn my_data_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Student<'_>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let student = who.student_id.ok_or(AppError::NotFound)?;
    let latest = service::latest(&state.db, student).await?;
    let view = latest.map(|s| {
        let live = JobStatus::LIVE.contains(&s.status);
        let ready = s.status == JobStatus::Done
            && s.expires_at
                .is_some_and(|e| e > chrono::Utc::now().fixed_offset());
        json!({
            "live": live,
            "ready": ready,
            "failed": s.status == JobStatus::Failed || s.status == JobStatus::Interrupted,
            "expired": s.status == JobStatus::Done && !ready,
            "requested_at": ctx.lang.when(&s.requested_at.to_rfc3339()),
            "finished_at": s.finished_at.map(|t| ctx.lang.when(&t.to_rfc3339())),
            "expires_at": s.expires_at.map(|t| ctx.lang.when(&t.to_rfc3339())),
            "size_kb": s.size_bytes.map(|b| (b + 1023) / 1024),
            "sha256": s.sha256,
        })
    });
    let running = view.as_ref().is_some_and(|v| v["live"] == json!(true));
    Ok(ctx.render(
        "privacy/my_data",
        "privacy.title",
        json!({"export": view, "running": running, "keep_days": service::KEEP_DAYS.to_string()}),
    ))
}

/// Prepares a fresh archive.
#[post("/me/data", data = "<_form>")]
pub async fn my_data_submit(
    _on: ModuleOn<on::Students>,
    who: Student<'_>,
    state: &State<AppState>,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    let student = who.student_id.ok_or(AppError::NotFound)?;
    service::request(&state.db, &state.jobs, who.id, student, true).await?;
    Ok(Redirect::to("/me/data"))
}

/// The finished archive; back to the page while there is none.
#[get("/me/data/download")]
pub async fn my_data_download(
    _on: ModuleOn<on::Students>,
    who: Student<'_>,
    state: &State<AppState>,
) -> AppResult<Result<ZipFile, Redirect>> {
    let student = who.student_id.ok_or(AppError::NotFound)?;
    Ok(
        match service::fetch(&state.db, &state.jobs, who.id, student).await? {
            Fetched::Ready(body, name) => Ok(ZipFile::new(body, &name)),
            Fetched::Pending(_) => Err(Redirect::to("/me/data")),
        },
    )
}
