//! The registrar's history import: upload the CSV files (or name a folder of them on the
//! server, for histories too large to upload), then follow the job's progress and its report.
//! The import runs as a background job (`import_jobs` with a lease) and survives a restart as
//! "interrupted"; starting it again continues where it stopped.

use super::service::{self, FILES, HistoryReport, Options};
use crate::access::{ModuleOn, Perm, can, on};
use crate::entity::job_status::JobStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::csrf::Csrf;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::Status;
use rocket::request::Request;
use rocket::response::Redirect;
use rocket::{State, get, post};
use rocket_dyn_templates::Template;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;

/// The largest upload of history files (larger histories: a folder on the server).
const UPLOAD_LIMIT_MIB: u64 = 1024;
/// Where an uploaded zip of the files is kept until it is unpacked.
const ZIP: &str = "upload.zip";
/// The largest text field of the form.
const FIELD_LIMIT: usize = 64 * 1024;

/// The uploaded files, each written to disk as it arrives (never held whole in memory), and
/// the form's text fields.
pub struct HistoryUpload {
    pub dir: PathBuf,
    pub files: Vec<String>,
    pub unknown: Vec<String>,
    pub fields: HashMap<String, String>,
}

impl HistoryUpload {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |v| v.trim())
    }
}

/// Where uploads and server-side folders of history files live.
fn imports_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("imports")
}

fn bad_upload<'r>(
    req: &Request<'_>,
    status: Status,
    message: String,
) -> data::Outcome<'r, HistoryUpload, AppError> {
    let error = AppError::bad_request("bad_upload", message);
    let _ = error.leave_note(req);
    data::Outcome::Error((status, error))
}

#[rocket::async_trait]
impl<'r> FromData<'r> for HistoryUpload {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        use tokio::io::AsyncWriteExt;
        let Some(state) = req.rocket().state::<AppState>() else {
            return bad_upload(req, Status::InternalServerError, "no state".into());
        };
        let boundary = req
            .content_type()
            .filter(|ct| ct.is_form_data())
            .and_then(|ct| ct.param("boundary"));
        let Some(boundary) = boundary else {
            return bad_upload(req, Status::BadRequest, "not a multipart form".into());
        };
        let limit = UPLOAD_LIMIT_MIB * 1024 * 1024;
        let constraints = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(limit)
                .per_field(limit),
        );
        let stream = data.open((limit + 1).bytes());
        let mut parts =
            multer::Multipart::with_reader_with_constraints(stream, boundary, constraints);
        let dir = imports_dir(state).join(format!("upload-{}", uuid::Uuid::new_v4().simple()));
        let mut upload = HistoryUpload {
            dir: dir.clone(),
            files: Vec::new(),
            unknown: Vec::new(),
            fields: HashMap::new(),
        };
        let fail = |e: &dyn std::fmt::Display| {
            let _ = std::fs::remove_dir_all(&dir);
            (Status::BadRequest, e.to_string())
        };
        let mut checked = false;
        loop {
            let mut field = match parts.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    let (s, m) = fail(&e);
                    return bad_upload(req, s, m);
                }
            };
            let name = field.name().unwrap_or_default().to_string();
            if field.file_name().is_some() && !checked {
                // NOTE: the token comes before the files (the form puts it first), so a forged
                // post is refused before a byte of it is written to disk.
                let sent = upload
                    .fields
                    .get(crate::web::csrf::FIELD)
                    .cloned()
                    .unwrap_or_default();
                match crate::web::csrf::token_matches(req, &sent).await {
                    Ok(true) => checked = true,
                    Ok(false) => return crate::web::csrf::refuse(req, AppError::Csrf),
                    Err(e) => return crate::web::csrf::refuse(req, e),
                }
            }
            if let Some(file) = field.file_name().map(str::to_string) {
                let base = file
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                if base.is_empty() {
                    continue;
                }
                // NOTE: a zip of the files is kept as it came and unpacked off the async
                // workers once the form is read (`import_submit`).
                let known = if base.ends_with(".zip") {
                    ZIP
                } else {
                    let Some(known) = FILES.iter().find(|f| **f == base) else {
                        upload.unknown.push(base);
                        continue;
                    };
                    *known
                };
                if let Err(e) = tokio::fs::create_dir_all(&dir).await {
                    let (s, m) = fail(&e);
                    return bad_upload(req, s, m);
                }
                let mut out = match tokio::fs::File::create(dir.join(known)).await {
                    Ok(f) => f,
                    Err(e) => {
                        let (s, m) = fail(&e);
                        return bad_upload(req, s, m);
                    }
                };
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if let Err(e) = out.write_all(&chunk).await {
                                let (s, m) = fail(&e);
                                return bad_upload(req, s, m);
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let (s, m) = fail(&e);
                            return bad_upload(req, s, m);
                        }
                    }
                }
                if let Err(e) = out.flush().await {
                    let (s, m) = fail(&e);
                    return bad_upload(req, s, m);
                }
                upload.files.push(known.to_string());
            } else {
                match field.bytes().await {
                    Ok(b) if b.len() <= FIELD_LIMIT => {
                        upload
                            .fields
                            .insert(name, String::from_utf8_lossy(&b).into_owned());
                    }
                    Ok(_) => {
                        let (s, m) = fail(&"field too large");
                        return bad_upload(req, s, m);
                    }
                    Err(e) => {
                        let (s, m) = fail(&e);
                        return bad_upload(req, s, m);
                    }
                }
            }
        }
        let sent = upload
            .fields
            .get(crate::web::csrf::FIELD)
            .cloned()
            .unwrap_or_default();
        match crate::web::csrf::token_matches(req, &sent).await {
            Ok(true) => data::Outcome::Success(upload),
            Ok(false) => {
                let _ = std::fs::remove_dir_all(&dir);
                crate::web::csrf::refuse(req, AppError::Csrf)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                crate::web::csrf::refuse(req, e)
            }
        }
    }
}

fn form_page(ctx: &Ctx<'_>, jobs: serde_json::Value, error: Option<String>) -> Template {
    ctx.render(
        "history/import",
        "history.title",
        json!({"files": FILES, "jobs": jobs, "error": error}),
    )
}

async fn recent(ctx: &Ctx<'_>, state: &AppState) -> AppResult<serde_json::Value> {
    let jobs = service::recent_jobs(&state.db).await?;
    Ok(json!(
        jobs.iter()
            .map(
                |j| json!({"id": j.id, "status": ctx.known("import.state", Some(j.status.as_str())),
                "started_at": j.started_at})
            )
            .collect::<Vec<_>>()
    ))
}

/// The form: the files to upload, or a folder on the server; and the recent imports.
#[get("/import/history")]
pub async fn import_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
) -> AppResult<Template> {
    Ok(form_page(&ctx, recent(&ctx, state).await?, None))
}

/// Starts the import as a background job and shows its progress.
#[post("/import/history", data = "<form>")]
pub async fn import_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    form: Result<HistoryUpload, AppError>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    let form = match form {
        Ok(form) => form,
        Err(e @ AppError::Csrf) => return Err(e),
        Err(_) => {
            return Err(AppError::unprocessable(
                "invalid_form",
                "choose the CSV files",
            ));
        }
    };
    let refuse = |key: &str| -> AppResult<Result<Redirect, (Status, Template)>> {
        Ok(Err((
            Status::UnprocessableEntity,
            form_page(&ctx, json!([]), Some(ctx.lang.t(key))),
        )))
    };
    let mut form = form;
    if let Some(at) = form.files.iter().position(|f| f == ZIP) {
        form.files.remove(at);
        let (zip, dir) = (form.dir.join(ZIP), form.dir.clone());
        let unpacked = tokio::task::spawn_blocking(move || super::read::unzip(&zip, &dir, &FILES))
            .await
            .map_err(|e| AppError::internal(format!("unzipping stopped: {e}")))?;
        match unpacked {
            Ok((files, unknown)) => {
                for f in files {
                    if !form.files.contains(&f) {
                        form.files.push(f);
                    }
                }
                form.unknown.extend(unknown);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&form.dir);
                return Ok(Err((
                    Status::UnprocessableEntity,
                    form_page(&ctx, json!([]), Some(ctx.lang.error(&e))),
                )));
            }
        }
        if form.files.is_empty() && form.unknown.is_empty() {
            let _ = std::fs::remove_dir_all(&form.dir);
            return refuse("history.error.no_files");
        }
    }
    if !form.unknown.is_empty() {
        let _ = std::fs::remove_dir_all(&form.dir);
        return refuse("history.error.unknown_file");
    }
    let folder = form.field("folder").to_string();
    let (dir, uploaded) = if form.files.is_empty() {
        let safe = !folder.is_empty()
            && folder
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let dir = imports_dir(state).join(&folder);
        if !safe || !dir.is_dir() {
            return refuse("history.error.no_files");
        }
        (dir, false)
    } else {
        (form.dir.clone(), true)
    };
    let id = service::start_job(&state.db, &state.jobs, Some(who.id), &dir).await?;
    let opts = Options {
        dry_run: matches!(form.field("dry_run"), "true" | "on"),
        actor: Some(who.id),
        rejected_dir: Some(service::rejected_dir(&imports_dir(state), id)),
    };
    spawn(state, id, dir, opts, uploaded);
    Ok(Ok(Redirect::to(format!("/import/history/{id}"))))
}

/// Runs job `id` in the background.
fn spawn(state: &AppState, id: i64, dir: PathBuf, opts: Options, uploaded: bool) {
    let handle = service::spawn(
        state.db.clone(),
        state.jobs.clone(),
        dir.clone(),
        opts,
        Some(id),
        Box::new(|_| {}),
    );
    tokio::spawn(async move {
        let result = handle.await;
        if let Ok(Err(e)) = &result {
            tracing::warn!(job = id, error = %e, "the history import stopped");
        }
        // NOTE: an uploaded folder is kept only while the import may still be resumed.
        if uploaded && matches!(result, Ok(Ok(_))) {
            let _ = tokio::fs::remove_dir_all(&dir).await;
        }
    });
}

/// Asks a running import to stop after its current batch.
#[post("/import/history/<id>/cancel", data = "<_form>")]
pub async fn job_cancel(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    service::cancel(&state.db, who.id, id).await?;
    Ok(Redirect::to(format!("/import/history/{id}")))
}

/// Continues an import that stopped: a new job on the same files skips what is stored.
#[post("/import/history/<id>/resume", data = "<_form>")]
pub async fn job_resume(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
    _form: Csrf<crate::web::CsrfForm<'_>>,
) -> AppResult<Redirect> {
    let (new, dir) = service::restart(&state.db, &state.jobs, who.id, id).await?;
    let opts = Options {
        dry_run: false,
        actor: Some(who.id),
        rejected_dir: Some(service::rejected_dir(&imports_dir(state), new)),
    };
    let uploaded = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("upload-"));
    spawn(state, new, dir, opts, uploaded);
    Ok(Redirect::to(format!("/import/history/{new}")))
}

/// One import: its progress while it runs, then its report per file and the refused rows.
#[get("/import/history/<id>")]
pub async fn job_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Template> {
    let job = service::job(&state.db, id).await?;
    let mut report: Option<HistoryReport> = serde_json::from_str(&job.report).ok();
    // NOTE: a skipped file's reason and a failed job's message are said in the reader's
    // language; reports stored before they kept their code stay in English.
    for f in report.iter_mut().flat_map(|r| r.files.iter_mut()) {
        if let Some(said) = &f.skipped_said {
            f.skipped = Some(said.say(ctx.lang));
        }
    }
    let stored = serde_json::from_str::<serde_json::Value>(&job.report).ok();
    let error = stored.as_ref().and_then(|v| {
        serde_json::from_value::<service::Said>(v["error_said"].clone())
            .ok()
            .map(|said| said.say(ctx.lang))
            .or_else(|| v["error"].as_str().map(str::to_string))
    });
    let refused: Vec<serde_json::Value> = report
        .iter()
        .flat_map(|r| &r.rejected_rows)
        .map(|r| {
            let why = ctx.lang.t(&format!("history.reason.{}", r.code));
            json!({"file": r.file, "line": r.line, "why": why, "value": r.value})
        })
        .collect();
    let percent = (job.rows_done.max(0) * 100)
        .checked_div(job.rows_total)
        .unwrap_or(100)
        .min(100);
    Ok(ctx.render(
        "history/job",
        "history.title",
        json!({"job": job, "report": report, "percent": percent, "error": error, "refused": refused,
               "status_label": ctx.known("import.state", Some(job.status.as_str())),
               "running": job.status == JobStatus::Running,
               "stopped": !report.as_ref().is_some_and(|r| r.dry_run)
                   && matches!(job.status, JobStatus::Interrupted | JobStatus::Failed | JobStatus::Cancelled)}),
    ))
}

/// One file's refused rows of an import, as CSV with line and reason, to fix and import again.
#[get("/import/history/<id>/rejected/<file>")]
pub async fn job_rejected(
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
    file: &str,
) -> AppResult<crate::students::CsvFile> {
    service::job(&state.db, id).await?;
    let body = service::rejected_file(&imports_dir(state), id, file)?;
    Ok(crate::students::CsvFile::new(
        body,
        &format!("history-{id}-{}", file.replace(".csv", ".rejected.csv")),
    ))
}
