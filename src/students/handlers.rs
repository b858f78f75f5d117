//! Student records over the JSON API: list and search, one record, its history, add, edit,
//! deactivate, export and bulk import.

use super::forms::FieldError;
use super::identifiers::shown_to;
use super::query::{Scope, StudentFilter, StudentRow};
use super::{export, import, query, service};
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::paging::Page;
use crate::state::AppState;
use rocket::data::{Data, ToByteUnit};
use rocket::http::{Header, Status};
use rocket::serde::json::Json;
use rocket::{Responder, State, get, patch, post, put};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The largest CSV the API accepts.
pub const IMPORT_LIMIT_MIB: u64 = 64;

/// Checks the caller may list students at all; a refusal is audited.
pub async fn list_scope(
    db: &impl sea_orm::ConnectionTrait,
    user: &CurrentUser,
) -> AppResult<Scope> {
    match Scope::of(user) {
        Ok(s) => Ok(s),
        Err(e) => {
            Entry::new(Some(user.id), "students.list", "student")
                .denied()
                .write(db)
                .await?;
            Err(e)
        }
    }
}

/// Writes the audit row of a staff read of a list or export.
pub async fn audit_list(
    db: &impl sea_orm::ConnectionTrait,
    user: &CurrentUser,
    action: &str,
    filter: &StudentFilter,
    rows: usize,
) -> AppResult<()> {
    Entry::new(Some(user.id), action, "student")
        .detail(json!({"filter": filter, "rows": rows}))
        .write(db)
        .await
}

#[get("/students?<f..>")]
pub async fn api_students(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    f: StudentFilter,
) -> AppResult<Json<Page<StudentRow>>> {
    let scope = list_scope(&state.db, user).await?;
    let page = query::list(&state.db, scope, &f).await?;
    audit_list(&state.db, user, "students.list", &f, page.items.len()).await?;
    Ok(Json(page))
}

#[get("/students/<id>")]
pub async fn api_student(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<service::StudentView>> {
    service::authorize_read(&state.db, user, id, "students").await?;
    let view = service::view(&state.db, id).await?;
    Ok(Json(shown_to(&state.db, user, view).await?))
}

#[get("/students/<id>/history")]
pub async fn api_student_history(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<Vec<service::HistoryRow>>> {
    service::authorize_read(&state.db, user, id, "students").await?;
    Ok(Json(service::history(&state.db, id).await?))
}

/// A JSON object of field → value as the text the forms take; unknown fields are refused.
fn body_values(body: &Map<String, Value>) -> AppResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (k, v) in body {
        if super::forms::field_index(k).is_none() {
            return Err(AppError::unprocessable(
                "unknown_field",
                format!("unknown field '{k}'"),
            ));
        }
        let text = match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(AppError::unprocessable(
                    "invalid",
                    format!("field '{k}' must be text or a number"),
                ));
            }
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

fn refused(errors: &[FieldError]) -> AppError {
    let code = errors
        .iter()
        .find(|e| e.code == "taken" || e.code == "duplicate_national_id")
        .map_or("invalid_record", |e| e.code);
    if code == "invalid_record" {
        AppError::unprocessable(code, service::describe(errors))
    } else {
        AppError::conflict(code, service::describe(errors))
    }
}

#[post("/students", format = "json", data = "<body>")]
pub async fn api_student_create(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    body: Json<Map<String, Value>>,
) -> AppResult<(Status, Json<service::StudentView>)> {
    let values = body_values(&body)?;
    match service::create(&state.db, who.id, &values).await? {
        Ok(id) => {
            let view = service::view(&state.db, id).await?;
            Ok((
                Status::Created,
                Json(shown_to(&state.db, &who, view).await?),
            ))
        }
        Err(errors) => Err(refused(&errors)),
    }
}

#[patch("/students/<id>", format = "json", data = "<body>")]
pub async fn api_student_update(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
    body: Json<Map<String, Value>>,
) -> AppResult<Json<service::StudentView>> {
    let values = body_values(&body)?;
    match service::update(&state.db, who.id, id, &values, None).await? {
        Ok(_) => {
            let view = service::view(&state.db, id).await?;
            Ok(Json(shown_to(&state.db, &who, view).await?))
        }
        Err(errors) => Err(refused(&errors)),
    }
}

#[post("/students/<id>/deactivate")]
pub async fn api_student_deactivate(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<service::StudentView>> {
    service::deactivate(&state.db, who.id, id).await?;
    let view = service::view(&state.db, id).await?;
    Ok(Json(shown_to(&state.db, &who, view).await?))
}

/// A CSV download.
#[derive(Responder)]
#[response(content_type = "text/csv; charset=utf-8")]
pub struct CsvFile {
    pub body: Vec<u8>,
    pub disposition: Header<'static>,
}

impl CsvFile {
    pub fn new(body: Vec<u8>, name: &str) -> CsvFile {
        CsvFile {
            body,
            disposition: Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ),
        }
    }
}

#[get("/students/export.csv?<f..>")]
pub async fn api_students_export_csv(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    f: StudentFilter,
) -> AppResult<CsvFile> {
    let scope = list_scope(&state.db, user).await?;
    let full = user.can(Permission::ViewFullIdentifiers);
    let (body, revealed) = export::csv(&state.db, scope, &f, full).await?;
    audit_list(&state.db, user, "students.export", &f, body.len()).await?;
    super::identifiers::audit_bulk_reveal(&state.db, user, revealed).await?;
    Ok(CsvFile::new(body, "students.csv"))
}

#[get("/students/export.json?<f..>")]
pub async fn api_students_export_json(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    f: StudentFilter,
) -> AppResult<Json<Vec<Value>>> {
    let scope = list_scope(&state.db, user).await?;
    let full = user.can(Permission::ViewFullIdentifiers);
    let (rows, revealed) = export::json(&state.db, scope, &f, full).await?;
    audit_list(&state.db, user, "students.export", &f, rows.len()).await?;
    super::identifiers::audit_bulk_reveal(&state.db, user, revealed).await?;
    Ok(Json(rows))
}

/// Reads a request body up to the import limit.
pub async fn read_body(data: Data<'_>) -> AppResult<Vec<u8>> {
    let bytes = data
        .open(IMPORT_LIMIT_MIB.mebibytes())
        .into_bytes()
        .await
        .map_err(|e| AppError::bad_request("unreadable_body", e.to_string()))?;
    if !bytes.is_complete() {
        return Err(AppError::unprocessable(
            "too_large",
            format!("the file is larger than {IMPORT_LIMIT_MIB} MiB; use `srm import students`"),
        ));
    }
    Ok(bytes.into_inner())
}

#[post("/students/import?<dry_run>&<encoding>", data = "<data>")]
pub async fn api_students_import(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    dry_run: Option<bool>,
    encoding: Option<&str>,
    data: Data<'_>,
) -> AppResult<Json<import::ImportReport>> {
    let choice = import::encoding_choice(encoding.unwrap_or_default())?;
    let bytes = read_body(data).await?;
    let opts = import::Options {
        dry_run: dry_run.unwrap_or(false),
        actor: Some(who.id),
    };
    Ok(Json(
        import::run_as(&state.db, &state.jobs, bytes, opts, choice, |_, _| {}).await?,
    ))
}

/// Resumes an interrupted import from its last committed batch; the report covers the rows
/// stored by this call. 409 `not_interrupted` for any other import.
#[post("/students/import/jobs/<id>/resume")]
pub async fn api_import_resume(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<import::ImportReport>> {
    Ok(Json(
        import::resume(&state.db, &state.jobs, Some(who.id), id).await?,
    ))
}

/// Cancels a running import (202 `cancelling`, or 200 `cancelled` when nobody held it).
#[post("/students/import/jobs/<id>/cancel")]
pub async fn api_import_cancel(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<(Status, Json<serde_json::Value>)> {
    let status = import::cancel(&state.db, who.id, id).await?;
    let code = if status == "cancelling" {
        Status::Accepted
    } else {
        Status::Ok
    };
    Ok((code, Json(serde_json::json!({"id": id, "status": status}))))
}

#[get("/me/record")]
pub async fn api_my_record(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    let view = service::view(&state.db, id).await?;
    let editable = service::self_editable_fields(&state.db).await?;
    Ok(Json(json!({"record": view, "editable_fields": editable})))
}

#[patch("/me/record", format = "json", data = "<body>")]
pub async fn api_my_record_update(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditOwnProfile>,
    state: &State<AppState>,
    body: Json<Map<String, Value>>,
) -> AppResult<Json<service::StudentView>> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    let values = body_values(&body)?;
    let allowed = service::self_editable_fields(&state.db).await?;
    match service::update(&state.db, who.id, id, &values, Some(&allowed)).await? {
        Ok(_) => Ok(Json(service::view(&state.db, id).await?)),
        Err(errors) if errors.iter().any(|e| e.code == "not_editable") => Err(AppError::Forbidden),
        Err(errors) => Err(refused(&errors)),
    }
}

/// Whether a user may see a student list at all (menu and dashboards use it too).
pub fn may_list(user: &CurrentUser) -> bool {
    user.can(Permission::ViewAnyStudent) || user.can(Permission::ViewScopedStudents)
}

#[derive(serde::Deserialize)]
pub struct SettingsBody {
    self_editable: Vec<String>,
}

/// Which fields students may edit on their own record, and which could be allowed.
#[get("/students/settings")]
pub async fn api_student_settings(
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    Ok(Json(json!({
        "self_editable": service::self_editable_fields(&state.db).await?,
        "choices": super::forms::SELF_EDITABLE,
    })))
}

#[put("/students/settings", format = "json", data = "<body>")]
pub async fn api_student_settings_update(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    body: Json<SettingsBody>,
) -> AppResult<Json<Value>> {
    if let Some(bad) = body
        .self_editable
        .iter()
        .find(|f| !super::forms::SELF_EDITABLE.contains(&f.as_str()))
    {
        return Err(AppError::unprocessable(
            "invalid_field",
            format!(
                "{bad} cannot be edited by students; choose from {}",
                super::forms::SELF_EDITABLE.join(", ")
            ),
        ));
    }
    let chosen = service::set_self_editable_fields(&state.db, who.id, &body.self_editable).await?;
    Ok(Json(
        json!({"self_editable": chosen, "choices": super::forms::SELF_EDITABLE}),
    ))
}

/// The letters as JSON (with the report) or as the CSV.
#[derive(Responder)]
pub enum LettersOut {
    Json(Json<Value>),
    Csv(CsvFile),
}

async fn letters_out(
    state: &AppState,
    actor: i64,
    csv: bool,
    mail: bool,
    letters: &[super::accounts::Letter],
    mut body: Value,
) -> AppResult<LettersOut> {
    let mailed = if mail {
        Some(super::accounts::queue_letters(&state.db, Some(actor), letters).await?)
    } else {
        None
    };
    if csv {
        return Ok(LettersOut::Csv(CsvFile::new(
            super::accounts::letters_csv(letters)?,
            "activation-codes.csv",
        )));
    }
    body["letters"] = json!(letters);
    body["mailed"] = json!(mailed);
    Ok(LettersOut::Json(Json(body)))
}

/// Login accounts for every current student without one, each with a one-time activation code
/// that is answered this once (`?format=csv` for the CSV; `?mail=true` to queue e-mails).
#[post("/students/accounts?<format>&<mail>")]
pub async fn api_student_accounts(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    format: Option<&str>,
    mail: Option<bool>,
) -> AppResult<LettersOut> {
    let report =
        super::accounts::create_missing(&state.db, Some(who.id), state.config.activation_code_days)
            .await?;
    let body = json!({"created": report.created, "name_taken": report.name_taken});
    letters_out(
        state,
        who.id,
        format == Some("csv"),
        mail.unwrap_or(false),
        &report.letters,
        body,
    )
    .await
}

/// New activation codes for accounts still waiting for activation: one student's, or (without
/// an id) every such account's. Earlier codes stop working.
#[post("/students/activation-codes?<student>&<format>&<mail>")]
pub async fn api_reissue_codes(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    student: Option<i64>,
    format: Option<&str>,
    mail: Option<bool>,
) -> AppResult<LettersOut> {
    let only = student.map(|s| vec![s]);
    let letters = super::accounts::reissue(
        &state.db,
        Some(who.id),
        only.as_deref(),
        state.config.activation_code_days,
    )
    .await?;
    if student.is_some() && letters.is_empty() {
        return Err(AppError::unprocessable(
            "not_pending",
            "this student has no account waiting for activation",
        ));
    }
    letters_out(
        state,
        who.id,
        format == Some("csv"),
        mail.unwrap_or(false),
        &letters,
        json!({}),
    )
    .await
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![
        api_students,
        api_student,
        api_student_history,
        api_student_create,
        api_student_update,
        api_student_deactivate,
        api_students_export_csv,
        api_students_export_json,
        api_students_import,
        api_import_resume,
        api_import_cancel,
        api_my_record,
        api_my_record_update,
        super::merge::api_student_merge,
        api_student_settings,
        api_student_settings_update,
        api_student_accounts,
        api_reissue_codes
    ]
}
