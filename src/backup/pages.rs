//! The administrator's backups page: the last backup (size, whether it verified), the backups
//! kept, a download (audited) and "back up now", which runs in the background.

use super::schedule;
use crate::access::{Perm, can, client_ip};
use crate::audit::Entry;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use rocket::form::Form;
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
    let dir = super::backup_dir(&state.config);
    let last = schedule::last_status(&state.db).await?;
    let list_dir = dir.clone();
    let files = rocket::tokio::task::spawn_blocking(move || schedule::list(&list_dir))
        .await
        .map_err(AppError::internal)?;
    let flash = match flash {
        Some("started") => Some(ctx.t("backup.flash_started")),
        _ => None,
    };
    let c = &state.config;
    let schedule_text = ctx
        .t("backup.schedule_on")
        .replace("{hours}", &c.backup_interval_hours.to_string())
        .replace("{keep}", &c.backup_keep.to_string());
    let files: Vec<_> = files
        .iter()
        .map(|f| json!({"name": f.name, "size": human_size(f.bytes)}))
        .collect();
    Ok(ctx.render(
        "admin/backups",
        "backup.title",
        json!({
            "dir": dir.display().to_string(),
            "scheduled": c.backup_dir.is_some() && c.backup_interval_hours > 0,
            "schedule_text": schedule_text,
            "last_size": last.as_ref().map(|l| human_size(l.bytes)),
            "last": last,
            "files": files,
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

#[derive(rocket::FromForm)]
pub struct NowForm<'a> {
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

/// Starts a backup in the background; the page shows its outcome once it is done.
#[post("/admin/backups", data = "<form>")]
pub async fn backup_now(
    who: Perm<'_, can::ManageModules>,
    state: &State<AppState>,
    form: Form<NowForm<'_>>,
) -> AppResult<Redirect> {
    who.check_csrf(form.csrf)?;
    Entry::new(Some(who.id), "backups.start", "backup")
        .write(&state.db)
        .await?;
    let (db, config) = (state.db.clone(), state.config.clone());
    rocket::tokio::spawn(async move {
        if let Err(e) = schedule::run(&db, &config, "manual").await {
            tracing::warn!("backup started from the page failed: {e}");
        }
    });
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
    if !schedule::is_backup_name(name) {
        return Err(AppError::NotFound);
    }
    let path = super::backup_dir(&state.config).join(name);
    let file = NamedFile::open(&path)
        .await
        .map_err(|_| AppError::NotFound)?;
    Entry::new(Some(who.id), "backups.download", "backup")
        .id(name)
        .ip(ip.0)
        .write(&state.db)
        .await?;
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

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![backups_page, backup_now, download]
}
