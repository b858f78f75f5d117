//! Student records over the JSON API: list and search, one record, its history, add, edit,
//! deactivate, merge, export and bulk import, and the accounts of students.

use super::dto::{
    AccountsCreated, CodesReissued, CsvFile, ExportRow, ImportCancelled, MergeBody, MyRecord,
    SelfEditSettings, SettingsBody, StudentFields,
};
use super::forms::FieldError;
use super::identifiers::shown_to;
use super::import::IMPORT_LIMIT_MIB;
use super::merge::{self, MergeReport};
use super::query::{StudentFilter, StudentRow};
use super::service::{audit_list, list_scope};
use super::{export, import, query, service};
use crate::access::{ModuleOn, Perm, Permission, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::paging::{Page, PageQuery};
use crate::state::AppState;
use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{Responder, State, get, patch, post, put};

/// Find students within the caller's scope (a national id matches only for staff who may see it).
#[utoipa::path(
    params(StudentFilter),
    responses(
        (status = 200, description = "One page of students", body = Page<StudentRow>),
        (status = 400, description = "Unknown stage or risk level", body = ErrorBody),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
    )
)]
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

/// One student's record (within the caller's scope).
#[utoipa::path(
    params(("id" = i64, Path, description = "The student id")),
    responses(
        (status = 200, description = "The record", body = service::StudentView),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such student, or the module is switched off", body = ErrorBody),
    )
)]
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

/// A student's change history (who, when, field, old → new).
#[utoipa::path(
    params(("id" = i64, Path, description = "The student id")),
    responses(
        (status = 200, description = "Newest first", body = Vec<service::HistoryRow>),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such student, or the module is switched off", body = ErrorBody),
    )
)]
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

/// Add a student record.
#[utoipa::path(
    request_body = StudentFields,
    responses(
        (status = 201, description = "The new record", body = service::StudentView),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 409, description = "The student number or national id is taken", body = ErrorBody),
        (status = 422, description = "An unknown field or an invalid value", body = ErrorBody),
    )
)]
#[post("/students", format = "json", data = "<body>")]
pub async fn api_student_create(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    body: Json<StudentFields>,
) -> AppResult<(Status, Json<service::StudentView>)> {
    let values = body.values()?;
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

/// Change fields of a student record (only the fields sent).
#[utoipa::path(
    params(("id" = i64, Path, description = "The student id")),
    request_body = StudentFields,
    responses(
        (status = 200, description = "The record after the change", body = service::StudentView),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such student, or the module is switched off", body = ErrorBody),
        (status = 409, description = "The student number or national id is taken", body = ErrorBody),
        (status = 422, description = "An unknown field or an invalid value", body = ErrorBody),
    )
)]
#[patch("/students/<id>", format = "json", data = "<body>")]
pub async fn api_student_update(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
    body: Json<StudentFields>,
) -> AppResult<Json<service::StudentView>> {
    let values = body.values()?;
    match service::update(&state.db, who.id, id, &values, None).await? {
        Ok(_) => {
            let view = service::view(&state.db, id).await?;
            Ok(Json(shown_to(&state.db, &who, view).await?))
        }
        Err(errors) => Err(refused(&errors)),
    }
}

/// Deactivate a student (status withdrawn; no hard delete).
#[utoipa::path(
    params(("id" = i64, Path, description = "The student id")),
    responses(
        (status = 200, description = "The record after the change", body = service::StudentView),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such student, or the module is switched off", body = ErrorBody),
    )
)]
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

/// The filtered list as CSV (UTF-8 with BOM; the import's columns). National ids are masked
/// unless the caller may see them.
#[utoipa::path(
    params(StudentFilter),
    responses(
        (status = 200, description = "The CSV file", body = String, content_type = "text/csv"),
        (status = 400, description = "Unknown stage or risk level", body = ErrorBody),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
    )
)]
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

/// The filtered list as JSON objects with the CSV's fields, plus the id.
#[utoipa::path(
    params(StudentFilter),
    responses(
        (status = 200, description = "The students", body = Vec<ExportRow>),
        (status = 400, description = "Unknown stage or risk level", body = ErrorBody),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
    )
)]
#[get("/students/export.json?<f..>")]
pub async fn api_students_export_json(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    f: StudentFilter,
) -> AppResult<Json<Vec<ExportRow>>> {
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

/// Import students from a CSV file (the export's columns; Chinese headers too); `dry_run`
/// checks without writing, `encoding` names the file's encoding (`auto` by default).
#[utoipa::path(
    params(
        ("dry_run" = Option<bool>, Query, description = "Check the file without writing"),
        ("encoding" = Option<String>, Query, description = "auto (default), utf-8, gb18030, ..."),
    ),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses(
        (status = 200, description = "What the import did", body = import::ImportReport),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 409, description = "Another import is running", body = ErrorBody),
        (status = 422, description = "Not a usable file, too large, or an unknown encoding", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    params(("id" = i64, Path, description = "The import job id")),
    responses(
        (status = 200, description = "What this call stored", body = import::ImportReport),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such import, or the module is switched off", body = ErrorBody),
        (status = 409, description = "The import was not interrupted", body = ErrorBody),
    )
)]
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
/// Cancel a running import.
#[utoipa::path(
    params(("id" = i64, Path, description = "The import job id")),
    responses(
        (status = 200, description = "Cancelled at once", body = ImportCancelled),
        (status = 202, description = "Cancelling after the current batch", body = ImportCancelled),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such student, or the module is switched off", body = ErrorBody),
        (status = 409, description = "The import is not running", body = ErrorBody),
    )
)]
#[post("/students/import/jobs/<id>/cancel")]
pub async fn api_import_cancel(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    id: i64,
) -> AppResult<(Status, Json<ImportCancelled>)> {
    let status = import::cancel(&state.db, who.id, id).await?;
    let code = if status == "cancelling" {
        Status::Accepted
    } else {
        Status::Ok
    };
    let status = status.to_string();
    Ok((code, Json(ImportCancelled { id, status })))
}

/// The caller's own student record and the fields they may edit.
#[utoipa::path(
    responses(
        (status = 200, description = "The record", body = MyRecord),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "The caller has no student record", body = ErrorBody),
    )
)]
#[get("/me/record")]
pub async fn api_my_record(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
) -> AppResult<Json<MyRecord>> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    Ok(Json(MyRecord {
        record: service::view(&state.db, id).await?,
        editable_fields: service::self_editable_fields(&state.db).await?,
    }))
}

/// Who has read the caller's record: the staff reads from the audit log, newest first.
#[utoipa::path(
    params(PageQuery),
    responses(
        (status = 200, description = "One page of reads", body = Page<super::reads::RecordRead>),
        (status = 404, description = "The caller has no student record", body = ErrorBody),
    )
)]
#[get("/me/record/reads?<q..>")]
pub async fn api_my_record_reads(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ViewOwnRecord>,
    state: &State<AppState>,
    q: PageQuery,
) -> AppResult<Json<Page<super::reads::RecordRead>>> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    Ok(Json(
        super::reads::record_reads(&state.db, id, q.req()).await?,
    ))
}

/// Change the fields of the caller's own record that students may edit.
#[utoipa::path(
    request_body = StudentFields,
    responses(
        (status = 200, description = "The record after the change", body = service::StudentView),
        (status = 403, description = "Not allowed, or a field students may not edit", body = ErrorBody),
        (status = 404, description = "The caller has no student record", body = ErrorBody),
        (status = 409, description = "The value is taken", body = ErrorBody),
        (status = 422, description = "An unknown field or an invalid value", body = ErrorBody),
    )
)]
#[patch("/me/record", format = "json", data = "<body>")]
pub async fn api_my_record_update(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditOwnProfile>,
    state: &State<AppState>,
    body: Json<StudentFields>,
) -> AppResult<Json<service::StudentView>> {
    let id = who.student_id.ok_or(AppError::NotFound)?;
    let values = body.values()?;
    let allowed = service::self_editable_fields(&state.db).await?;
    match service::update(&state.db, who.id, id, &values, Some(&allowed)).await? {
        Ok(_) => Ok(Json(service::view(&state.db, id).await?)),
        Err(errors) if errors.iter().any(|e| e.code == "not_editable") => Err(AppError::Forbidden),
        Err(errors) => Err(refused(&errors)),
    }
}

/// Which fields students may edit on their own record, and which could be allowed.
/// Which fields students may edit on their own record.
#[utoipa::path(
    responses(
        (status = 200, description = "The settings", body = SelfEditSettings),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
    )
)]
#[get("/students/settings")]
pub async fn api_student_settings(
    _on: ModuleOn<on::Students>,
    _who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
) -> AppResult<Json<SelfEditSettings>> {
    Ok(Json(SelfEditSettings::new(
        service::self_editable_fields(&state.db).await?,
    )))
}

/// Choose which fields students may edit on their own record.
#[utoipa::path(
    request_body = SettingsBody,
    responses(
        (status = 200, description = "The settings after the change", body = SelfEditSettings),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 422, description = "A field students cannot edit", body = ErrorBody),
    )
)]
#[put("/students/settings", format = "json", data = "<body>")]
pub async fn api_student_settings_update(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    body: Json<SettingsBody>,
) -> AppResult<Json<SelfEditSettings>> {
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
    Ok(Json(SelfEditSettings::new(chosen)))
}

/// The letters as JSON (with the report) or as the CSV.
#[derive(Responder)]
pub enum LettersOut<T> {
    Json(Json<T>),
    Csv(CsvFile),
}

/// Queues the e-mails when asked; the CSV of the letters, or `json` given how many were mailed.
async fn letters_out<T>(
    state: &AppState,
    actor: i64,
    csv: bool,
    mail: bool,
    letters: Vec<super::accounts::Letter>,
    json: impl FnOnce(Vec<super::accounts::Letter>, Option<usize>) -> T,
) -> AppResult<LettersOut<T>> {
    let mailed = if mail {
        Some(super::accounts::queue_letters(&state.db, Some(actor), &letters).await?)
    } else {
        None
    };
    if csv {
        return Ok(LettersOut::Csv(CsvFile::new(
            super::accounts::letters_csv(&letters)?,
            "activation-codes.csv",
        )));
    }
    Ok(LettersOut::Json(Json(json(letters, mailed))))
}

/// Login accounts for every current student without one, each with a one-time activation code
/// that is answered this once (`?format=csv` for the CSV; `?mail=true` to queue e-mails).
#[utoipa::path(
    params(
        ("format" = Option<String>, Query, description = "`csv` for the letters as CSV"),
        ("mail" = Option<bool>, Query, description = "Queue an e-mail to each student with an address"),
    ),
    responses(
        (status = 200, description = "The new accounts' letters", content(
            (AccountsCreated = "application/json"),
            (String = "text/csv"),
        )),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
    )
)]
#[post("/students/accounts?<format>&<mail>")]
pub async fn api_student_accounts(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    format: Option<&str>,
    mail: Option<bool>,
) -> AppResult<LettersOut<AccountsCreated>> {
    let report =
        super::accounts::create_missing(&state.db, Some(who.id), state.config.activation_code_days)
            .await?;
    let (created, name_taken) = (report.created, report.name_taken);
    letters_out(
        state,
        who.id,
        format == Some("csv"),
        mail.unwrap_or(false),
        report.letters,
        |letters, mailed| AccountsCreated {
            created,
            name_taken,
            letters,
            mailed,
        },
    )
    .await
}

/// New activation codes for accounts still waiting for activation: one student's, or (without
/// an id) every such account's. Earlier codes stop working.
#[utoipa::path(
    params(
        ("student" = Option<i64>, Query, description = "Only this student's account"),
        ("format" = Option<String>, Query, description = "`csv` for the letters as CSV"),
        ("mail" = Option<bool>, Query, description = "Queue an e-mail to each student with an address"),
    ),
    responses(
        (status = 200, description = "The new letters", content(
            (CodesReissued = "application/json"),
            (String = "text/csv"),
        )),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 422, description = "This student has no account waiting for activation", body = ErrorBody),
    )
)]
#[post("/students/activation-codes?<student>&<format>&<mail>")]
pub async fn api_reissue_codes(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::ImportStudents>,
    state: &State<AppState>,
    student: Option<i64>,
    format: Option<&str>,
    mail: Option<bool>,
) -> AppResult<LettersOut<CodesReissued>> {
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
        letters,
        |letters, mailed| CodesReissued { letters, mailed },
    )
    .await
}

/// Merge a duplicate record into this one (its rows move over; empty fields are filled).
#[utoipa::path(
    params(("id" = i64, Path, description = "The surviving student's id")),
    request_body = MergeBody,
    responses(
        (status = 200, description = "What moved", body = MergeReport),
        (status = 403, description = "Not allowed (a refusal is audited)", body = ErrorBody),
        (status = 404, description = "No such student, or the module is switched off", body = ErrorBody),
        (status = 409, description = "Both records hold a row for the same section or assessment", body = ErrorBody),
        (status = 422, description = "The same record twice, or a malformed body", body = ErrorBody),
    )
)]
#[post("/students/<id>/merge", format = "json", data = "<body>")]
pub async fn api_student_merge(
    _on: ModuleOn<on::Students>,
    who: Perm<'_, can::EditStudents>,
    state: &State<AppState>,
    id: i64,
    body: Json<MergeBody>,
) -> AppResult<Json<MergeReport>> {
    Ok(Json(
        merge::merge(&state.db, who.id, id, body.duplicate_id).await?,
    ))
}
