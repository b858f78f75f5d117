//! The administrator's backups page: the last backup (size, whether it verified), the backups
//! kept, a download (audited) and "back up now", which runs in the background.

use super::service;
use crate::access::{Perm, can, client_ip};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::csrf::Csrf;
use crate::web::{CsrfForm, Ctx};
use rocket::fs::NamedFile;
use rocket::http::Header;
use rocket::response::Redirect;
use rocket::{Responder, State, get, post};
use rocket_dyn_templates::Template;
use serde_json::json;

#[get("/admin/backups?<flash>")]
pub async fn backups_page(
    ctx: Ctx<'_>,
    _who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    flash: Option<&str>,
) -> AppResult<Template> {
    let o = service::overview(&state.db, &state.config).await?;
    let flash = match flash {
        Some("started") => Some(ctx.t("backup.flash_started")),
        _ => None,
    };
    let c = &state.config;
    let schedule_text = ctx
        .t("backup.schedule_on")
        .replace("{hours}", &c.backup_interval_hours.to_string())
        .replace("{keep}", &c.backup_keep.to_string());
    let files: Vec<_> = o
        .files
        .iter()
        .map(|f| json!({"name": f.name, "size": human_size(f.bytes)}))
        .collect();
    let runs: Vec<_> = o
        .runs
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "status": r.status,
                "status_text": ctx.t(&format!("backup.status.{}", r.status.as_str())),
                "trigger_text": ctx.t(&format!("backup.trigger.{}", r.trigger)),
                "started_by": r
                    .started_by
                    .map(|id| ctx.t("backup.run_user").replace("{id}", &id.to_string())),
                "started_at": r.started_at.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
                "finished_at": r.finished_at.map(|t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string()),
                "holder": r.holder,
                "file": r.file,
                "error": r.error,
                "interrupted_at": r.interrupted_at.map(|t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string()),
                "interrupted_reason": r.interrupted_reason,
            })
        })
        .collect();
    Ok(ctx.render(
        "admin/backups",
        "backup.title",
        json!({
            "dir": o.dir.display().to_string(),
            "scheduled": o.scheduled,
            "schedule_text": schedule_text,
            "last_size": o.last.as_ref().map(|l| human_size(l.bytes)),
            "last": o.last,
            "files": files,
            "runs": runs,
            "flash": flash,
        }),
    ))
}

/// 1,234,567 bytes as "1.2 MB".
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit + 1 < UNITS.len() {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

/// Starts a backup in the background; the page shows its outcome once it is done.
#[post("/admin/backups", data = "<_form>")]
pub async fn backup_now(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    _form: Csrf<CsrfForm<'_>>,
) -> AppResult<Redirect> {
    service::start_now(&state.db, &state.config, who.id).await?;
    Ok(Redirect::to("/admin/backups?flash=started"))
}

#[derive(Responder)]
#[response(content_type = "binary")]
pub struct Download {
    file: NamedFile,
    disposition: Header<'static>,
}

/// One backup file, to the administrator's browser; every download is in the audit log.
#[get("/admin/backups/<name>")]
pub async fn download(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    ip: ClientAddr,
    name: &str,
) -> AppResult<Download> {
    let path = service::download(&state.db, &state.config, who.id, ip.0, name).await?;
    let file = NamedFile::open(&path)
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok(Download {
        file,
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ),
    })
}

/// The client's address, for the audit entry.
pub struct ClientAddr(Option<String>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for ClientAddr {
    type Error = std::convert::Infallible;
    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(ClientAddr(client_ip(req)))
    }
}
