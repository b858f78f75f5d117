//! The grades API under `/api/v1`: thin handlers over the services.

use super::changes::{self, ChangeIn, DecisionIn};
use super::service::{self, EntryIn, Labels, Need, RowError, SaveReport};
use super::stats::{self, Scope};
use super::{assess, csv_import, scale, transcript};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;
use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post, put};
use serde_json::{Value, json};

type Db = State<AppState>;

/// A grade set refused row by row: 422 with every problem listed.
fn rows_refused(errors: Vec<RowError>) -> (Status, Json<Value>) {
    (
        Status::UnprocessableEntity,
        Json(json!({"error": {
            "code": "invalid_rows",
            "message": format!("{} row(s) refused; nothing was saved", errors.len()),
            "rows": errors,
        }})),
    )
}

fn report(r: SaveReport) -> (Status, Json<Value>) {
    if r.errors.is_empty() {
        (Status::Ok, Json(json!(r)))
    } else {
        rows_refused(r.errors)
    }
}

/// The rows of a JSON body: `{"grades": [...]}` or a bare list.
fn entries(body: &Value, key: &str) -> AppResult<Vec<EntryIn>> {
    let list = body.get(key).unwrap_or(body);
    let items = list.as_array().ok_or_else(|| {
        AppError::unprocessable("invalid_body", format!("expected {{\"{key}\": [...]}}"))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut e: EntryIn = serde_json::from_value(v.clone()).map_err(|e| {
                AppError::unprocessable("invalid_body", format!("row {}: {e}", i + 1))
            })?;
            e.line = i + 1;
            Ok(e)
        })
        .collect()
}

#[get("/sections/<id>/grades")]
pub async fn api_section_grades(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<service::SectionGrades>> {
    Ok(Json(service::section_grades(&state.db, user, id).await?))
}

#[put("/sections/<id>/grades", data = "<body>")]
pub async fn api_save_grades(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
    body: Json<Value>,
) -> AppResult<(Status, Json<Value>)> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let rows = entries(&body, "grades")?;
    Ok(report(
        service::save_grades(
            &state.db,
            &who,
            &s,
            &rows,
            Vec::new(),
            "api",
            &Labels::api(lang),
        )
        .await?,
    ))
}

#[post("/sections/<id>/grades/import", data = "<data>")]
pub async fn api_import_grades(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
    data: Data<'_>,
) -> AppResult<(Status, Json<Value>)> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let bytes = data
        .open(64.mebibytes())
        .into_bytes()
        .await
        .map_err(|e| AppError::bad_request("unreadable_body", e.to_string()))?;
    if !bytes.is_complete() {
        return Err(AppError::unprocessable(
            "too_large",
            "the file is larger than 64 MiB",
        ));
    }
    let fallback = Labels::api(lang);
    match csv_import::import(&state.db, &who, &s, bytes.into_inner(), fallback).await? {
        Ok(r) => Ok(report(r)),
        Err(m) => Err(AppError::unprocessable("unreadable_csv", m)),
    }
}

#[post("/sections/<id>/grades/publish")]
pub async fn api_publish(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
) -> AppResult<Json<Value>> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let (n, summary) = service::publish(&state.db, &who, &s, lang).await?;
    Ok(Json(
        json!({"section_id": id, "published": n, "summary": summary}),
    ))
}

#[get("/sections/<id>/grades/summary")]
pub async fn api_publish_summary(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
    lang: Lang,
) -> AppResult<Json<service::PublishSummary>> {
    let s = service::section_access(&state.db, user, id, Need::View).await?;
    Ok(Json(service::publish_summary(&state.db, &s, lang).await?))
}

#[post("/sections/<id>/grades/fill-from-computed")]
pub async fn api_fill_from_computed(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
) -> AppResult<(Status, Json<Value>)> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    Ok(report(
        service::fill_from_computed(&state.db, &who, &s, &Labels::api(lang)).await?,
    ))
}

#[get("/sections/<id>/assessments")]
pub async fn api_assessments(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<Value>> {
    service::section_access(&state.db, user, id, Need::View).await?;
    let items = assess::list(&state.db, id).await?;
    let total: f64 = items.iter().map(|a| a.weight).sum();
    Ok(Json(json!({"items": items, "weight_total": total})))
}

#[post("/sections/<id>/assessments", data = "<body>")]
pub async fn api_create_assessment(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    body: Json<Value>,
) -> AppResult<(Status, Json<assess::AssessmentView>)> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let input: assess::AssessmentIn = serde_json::from_value(body.into_inner())
        .map_err(|e| AppError::unprocessable("invalid_body", e.to_string()))?;
    let a = assess::save(&state.db, &who, &s, None, &input).await?;
    Ok((Status::Created, Json(a)))
}

#[put("/assessments/<id>", data = "<body>")]
pub async fn api_update_assessment(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    body: Json<Value>,
) -> AppResult<Json<assess::AssessmentView>> {
    let (_, s) = service::assessment_section(&state.db, &who, id, Need::Enter).await?;
    let input: assess::AssessmentIn = serde_json::from_value(body.into_inner())
        .map_err(|e| AppError::unprocessable("invalid_body", e.to_string()))?;
    Ok(Json(
        assess::save(&state.db, &who, &s, Some(id), &input).await?,
    ))
}

#[get("/assessments/<id>/scores")]
pub async fn api_assessment_scores(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<Value>> {
    service::assessment_section(&state.db, user, id, Need::View).await?;
    Ok(Json(json!({"items": assess::scores(&state.db, id).await?})))
}

#[put("/assessments/<id>/scores", data = "<body>")]
pub async fn api_save_assessment_scores(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
    body: Json<Value>,
) -> AppResult<(Status, Json<Value>)> {
    let (_, s) = service::assessment_section(&state.db, &who, id, Need::Enter).await?;
    let rows = entries(&body, "scores")?;
    Ok(
        match assess::save_scores(&state.db, &who, &s, id, &rows, &Labels::api(lang)).await? {
            Ok(n) => (Status::Ok, Json(json!({"saved": n}))),
            Err(errors) => rows_refused(errors),
        },
    )
}

#[post("/grades/<id>/change-requests", data = "<body>")]
pub async fn api_request_change(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    body: Json<Value>,
) -> AppResult<(Status, Json<Value>)> {
    let input: ChangeIn = serde_json::from_value(body.into_inner())
        .map_err(|e| AppError::unprocessable("invalid_body", e.to_string()))?;
    let c = changes::request(&state.db, &who, id, &input).await?;
    Ok((Status::Created, Json(json!(c))))
}

#[get("/grade-changes?<status>")]
pub async fn api_change_queue(
    _on: ModuleOn<on::Grades>,
    _who: Perm<'_, can::ApproveGradeChanges>,
    state: &Db,
    status: Option<&str>,
) -> AppResult<Json<Value>> {
    let status = status.unwrap_or(changes::PENDING);
    let items = changes::change_rows(&state.db, None, Some(status)).await?;
    Ok(Json(
        json!({"items": items, "total": items.len(), "page": 1, "per_page": 500}),
    ))
}

async fn decide(
    state: &Db,
    who: &CurrentUser,
    id: i64,
    approve: bool,
    body: Option<Json<Value>>,
) -> AppResult<Json<Value>> {
    let input: DecisionIn = match body {
        Some(b) => serde_json::from_value(b.into_inner())
            .map_err(|e| AppError::unprocessable("invalid_body", e.to_string()))?,
        None => DecisionIn::default(),
    };
    Ok(Json(json!(
        changes::decide(&state.db, who, id, approve, &input).await?
    )))
}

#[post("/grade-changes/<id>/approve", data = "<body>")]
pub async fn api_approve_change(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ApproveGradeChanges>,
    state: &Db,
    id: i64,
    body: Option<Json<Value>>,
) -> AppResult<Json<Value>> {
    decide(state, &who, id, true, body).await
}

#[post("/grade-changes/<id>/reject", data = "<body>")]
pub async fn api_reject_change(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ApproveGradeChanges>,
    state: &Db,
    id: i64,
    body: Option<Json<Value>>,
) -> AppResult<Json<Value>> {
    decide(state, &who, id, false, body).await
}

#[get("/grades/<id>/history")]
pub async fn api_grade_history(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<Value>> {
    let (history, requests) = changes::history(&state.db, user, id).await?;
    Ok(Json(
        json!({"grade_id": id, "history": history, "change_requests": requests}),
    ))
}

#[get("/students/<id>/transcript")]
pub async fn api_transcript(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<transcript::Transcript>> {
    crate::students::service::authorize_read(&state.db, user, id, "grades.transcript").await?;
    Ok(Json(transcript::transcript(&state.db, id).await?))
}

#[get("/sections/<id>/statistics")]
pub async fn api_section_statistics(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<stats::Stats>> {
    let (_, st) = service::section_statistics(&state.db, user, id).await?;
    Ok(Json(st))
}

#[get("/statistics?<course>&<term>&<department>")]
pub async fn api_statistics(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    course: Option<i64>,
    term: Option<i64>,
    department: Option<i64>,
) -> AppResult<Json<stats::Overview>> {
    let scope = Scope {
        section: None,
        course,
        term,
        department,
    };
    Ok(Json(stats::overview(&state.db, user, scope).await?))
}

#[get("/grading-scales")]
pub async fn api_scales(
    _on: ModuleOn<on::Grades>,
    _user: &CurrentUser,
    state: &Db,
) -> AppResult<Json<Value>> {
    Ok(Json(json!({"items": scale::all(&state.db).await?})))
}

#[post("/grading-scales", data = "<body>")]
pub async fn api_create_scale(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ManageCourses>,
    state: &Db,
    body: Json<Value>,
) -> AppResult<(Status, Json<scale::Scale>)> {
    let make_default = body
        .get("is_default")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let s: scale::Scale = serde_json::from_value(body.into_inner())
        .map_err(|e| AppError::unprocessable("invalid_scale", e.to_string()))?;
    let saved = scale::create(&state.db, who.id, &s, make_default).await?;
    Ok((Status::Created, Json(saved)))
}
