//! The grades API under `/api/v1`: thin handlers over the services.

use super::changes::{self, ChangeIn, DecisionIn};
use super::dto::{
    Assessments, ChangeOut, ChangeQueue, ChangeQueueQuery, GradeHistory, GradesBody, Published,
    RowsRefused, SaveAnswer, ScaleBody, ScaleList, Scores, ScoresAnswer, ScoresBody, ScoresSaved,
    StatisticsQuery,
};
use super::service::{self, Labels, Need, SaveReport};
use super::stats::{self, Scope};
use super::{assess, csv_import, scale, transcript};
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::i18n::Lang;
use crate::state::AppState;
use rocket::data::{Data, ToByteUnit};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post, put};

type Db = State<AppState>;

/// A save's answer: 200 with the counts, or 422 with every refused row.
fn report(r: SaveReport) -> (Status, Json<SaveAnswer>) {
    if r.errors.is_empty() {
        (Status::Ok, Json(SaveAnswer::Saved(r)))
    } else {
        let refused = RowsRefused::new(r.errors);
        (
            Status::UnprocessableEntity,
            Json(SaveAnswer::Refused(refused)),
        )
    }
}

/// A section's students with their final scores, letters and status (its teacher; staff with
/// grades.view_all). The read is audited.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    responses(
        (status = 200, description = "The grade sheet", body = service::SectionGrades),
        (status = 403, description = "Not this section's teacher, or the module is off", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
    )
)]
#[get("/sections/<id>/grades")]
pub async fn api_section_grades(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<service::SectionGrades>> {
    Ok(Json(service::section_grades(&state.db, user, id).await?))
}

/// Save a section's grades as drafts, all or nothing; every refused row is listed (its
/// teacher only).
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    request_body = GradesBody,
    responses(
        (status = 200, description = "Saved", body = SaveReport),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 422, description = "Rows refused (nothing saved), or a body of the wrong shape", body = RowsRefused),
    )
)]
#[put("/sections/<id>/grades", format = "json", data = "<body>")]
pub async fn api_save_grades(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
    body: Json<GradesBody>,
) -> AppResult<(Status, Json<SaveAnswer>)> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let rows = body.into_inner().rows();
    let labels = Labels::api(lang);
    let r = service::save_grades(&state.db, &who, &s, &rows, Vec::new(), "api", &labels).await?;
    Ok(report(r))
}

/// Upload a section's grades as CSV (student_no, score); bad rows reported by line and
/// column, nothing saved if any.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    request_body(content = String, content_type = "text/csv", description = "A header with student_no and score columns"),
    responses(
        (status = 200, description = "Saved", body = SaveReport),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 422, description = "Rows refused (nothing saved), or an unreadable file", body = RowsRefused),
    )
)]
#[post("/sections/<id>/grades/import", data = "<data>")]
pub async fn api_import_grades(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
    data: Data<'_>,
) -> AppResult<(Status, Json<SaveAnswer>)> {
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

/// Publish a section's draft grades so students see them; refused (422 missing_grades,
/// naming the students) while any student has no grade.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    responses(
        (status = 200, description = "Published", body = Published),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 422, description = "A student has no grade, or nothing to publish", body = ErrorBody),
    )
)]
#[post("/sections/<id>/grades/publish")]
pub async fn api_publish(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
) -> AppResult<Json<Published>> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let (published, summary) = service::publish(&state.db, &who, &s, lang).await?;
    Ok(Json(Published {
        section_id: id,
        published,
        summary,
    }))
}

/// What publishing would do: students, grades entered, drafts, students missing a grade,
/// failing students and the distribution by letter.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    responses(
        (status = 200, description = "The summary", body = service::PublishSummary),
        (status = 404, description = "No such section", body = ErrorBody),
    )
)]
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

/// Give every student without a grade the score computed from the assessments, as a draft;
/// refused while the weights do not total 100 or a student lacks an assessment.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    responses(
        (status = 200, description = "Filled", body = SaveReport),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 422, description = "Weights or assessments incomplete, or rows refused", body = RowsRefused),
    )
)]
#[post("/sections/<id>/grades/fill-from-computed")]
pub async fn api_fill_from_computed(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
) -> AppResult<(Status, Json<SaveAnswer>)> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    Ok(report(
        service::fill_from_computed(&state.db, &who, &s, &Labels::api(lang)).await?,
    ))
}

/// A section's assessments with weights and due dates, and the weight total.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    responses(
        (status = 200, description = "The assessments", body = Assessments),
        (status = 404, description = "No such section", body = ErrorBody),
    )
)]
#[get("/sections/<id>/assessments")]
pub async fn api_assessments(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<Assessments>> {
    service::section_access(&state.db, user, id, Need::View).await?;
    let items = assess::list(&state.db, id).await?;
    let weight_total: f64 = items.iter().map(|a| a.weight).sum();
    Ok(Json(Assessments {
        items,
        weight_total,
    }))
}

/// Add an assessment (name, weight, due_at, max_score) to a section.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    request_body = assess::AssessmentIn,
    responses(
        (status = 201, description = "Added", body = assess::AssessmentView),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
        (status = 422, description = "A field is missing or out of range", body = ErrorBody),
    )
)]
#[post("/sections/<id>/assessments", format = "json", data = "<body>")]
pub async fn api_create_assessment(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    body: Json<assess::AssessmentIn>,
) -> AppResult<(Status, Json<assess::AssessmentView>)> {
    let s = service::section_access(&state.db, &who, id, Need::Enter).await?;
    let a = assess::save(&state.db, &who, &s, None, &body).await?;
    Ok((Status::Created, Json(a)))
}

/// Change an assessment's name, weight, due date or maximum score.
#[utoipa::path(
    params(("id" = i64, Path, description = "The assessment")),
    request_body = assess::AssessmentIn,
    responses(
        (status = 200, description = "Changed", body = assess::AssessmentView),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such assessment", body = ErrorBody),
        (status = 422, description = "A field is out of range", body = ErrorBody),
    )
)]
#[put("/assessments/<id>", format = "json", data = "<body>")]
pub async fn api_update_assessment(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    body: Json<assess::AssessmentIn>,
) -> AppResult<Json<assess::AssessmentView>> {
    let (_, s) = service::assessment_section(&state.db, &who, id, Need::Enter).await?;
    Ok(Json(
        assess::save(&state.db, &who, &s, Some(id), &body).await?,
    ))
}

/// The scores of one assessment.
#[utoipa::path(
    params(("id" = i64, Path, description = "The assessment")),
    responses(
        (status = 200, description = "The scores", body = Scores),
        (status = 404, description = "No such assessment", body = ErrorBody),
    )
)]
#[get("/assessments/<id>/scores")]
pub async fn api_assessment_scores(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<Scores>> {
    service::assessment_section(&state.db, user, id, Need::View).await?;
    Ok(Json(Scores {
        items: assess::scores(&state.db, id).await?,
    }))
}

/// Enter the scores of one assessment, all or nothing.
#[utoipa::path(
    params(("id" = i64, Path, description = "The assessment")),
    request_body = ScoresBody,
    responses(
        (status = 200, description = "Saved", body = ScoresSaved),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such assessment", body = ErrorBody),
        (status = 422, description = "Rows refused (nothing saved)", body = RowsRefused),
    )
)]
#[put("/assessments/<id>/scores", format = "json", data = "<body>")]
pub async fn api_save_assessment_scores(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    lang: Lang,
    body: Json<ScoresBody>,
) -> AppResult<(Status, Json<ScoresAnswer>)> {
    let (_, s) = service::assessment_section(&state.db, &who, id, Need::Enter).await?;
    let rows = body.into_inner().rows();
    let labels = Labels::api(lang);
    Ok(
        match assess::save_scores(&state.db, &who, &s, id, &rows, &labels).await? {
            Ok(saved) => (Status::Ok, Json(ScoresAnswer::Saved(ScoresSaved { saved }))),
            Err(errors) => (
                Status::UnprocessableEntity,
                Json(ScoresAnswer::Refused(RowsRefused::new(errors))),
            ),
        },
    )
}

/// Ask to change a published grade, with a reason (the section's teacher).
#[utoipa::path(
    params(("id" = i64, Path, description = "The grade")),
    request_body = ChangeIn,
    responses(
        (status = 201, description = "Requested", body = ChangeOut),
        (status = 403, description = "Not this section's teacher", body = ErrorBody),
        (status = 404, description = "No such grade", body = ErrorBody),
        (status = 409, description = "A request is already pending", body = ErrorBody),
        (status = 422, description = "Not published, or a bad score or reason", body = ErrorBody),
    )
)]
#[post("/grades/<id>/change-requests", format = "json", data = "<body>")]
pub async fn api_request_change(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::EnterOwnGrades>,
    state: &Db,
    id: i64,
    body: Json<ChangeIn>,
) -> AppResult<(Status, Json<ChangeOut>)> {
    let c = changes::request(&state.db, &who, id, &body).await?;
    Ok((Status::Created, Json(c.into())))
}

/// Grade change requests by status (default pending), for approvers.
#[utoipa::path(
    params(ChangeQueueQuery),
    responses(
        (status = 200, description = "The requests", body = ChangeQueue),
        (status = 403, description = "Not an approver", body = ErrorBody),
    )
)]
#[get("/grade-changes?<query..>")]
pub async fn api_change_queue(
    _on: ModuleOn<on::Grades>,
    _who: Perm<'_, can::ApproveGradeChanges>,
    state: &Db,
    query: ChangeQueueQuery,
) -> AppResult<Json<ChangeQueue>> {
    let status = query.status.as_deref().unwrap_or(changes::PENDING);
    let items = changes::change_rows(&state.db, None, Some(status)).await?;
    Ok(Json(ChangeQueue {
        total: items.len(),
        items,
        page: 1,
        per_page: 500,
    }))
}

/// Approve a grade change request: the grade changes and its history records who, when, why
/// and who approved.
#[utoipa::path(
    params(("id" = i64, Path, description = "The change request")),
    request_body(content = Option<DecisionIn>, description = "An optional note"),
    responses(
        (status = 200, description = "Approved", body = ChangeOut),
        (status = 403, description = "Not an approver, or one's own request", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
    )
)]
#[post("/grade-changes/<id>/approve", data = "<body>")]
pub async fn api_approve_change(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ApproveGradeChanges>,
    state: &Db,
    id: i64,
    body: Option<Json<DecisionIn>>,
) -> AppResult<Json<ChangeOut>> {
    let input = body.map(Json::into_inner).unwrap_or_default();
    let c = changes::decide(&state.db, &who, id, true, &input).await?;
    Ok(Json(c.into()))
}

/// Reject a grade change request, with an optional note.
#[utoipa::path(
    params(("id" = i64, Path, description = "The change request")),
    request_body(content = Option<DecisionIn>, description = "An optional note"),
    responses(
        (status = 200, description = "Rejected", body = ChangeOut),
        (status = 403, description = "Not an approver", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
    )
)]
#[post("/grade-changes/<id>/reject", data = "<body>")]
pub async fn api_reject_change(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ApproveGradeChanges>,
    state: &Db,
    id: i64,
    body: Option<Json<DecisionIn>>,
) -> AppResult<Json<ChangeOut>> {
    let input = body.map(Json::into_inner).unwrap_or_default();
    let c = changes::decide(&state.db, &who, id, false, &input).await?;
    Ok(Json(c.into()))
}

/// A grade's history (who, when, old → new, why, approver) and its change requests.
#[utoipa::path(
    params(("id" = i64, Path, description = "The grade")),
    responses(
        (status = 200, description = "The history", body = GradeHistory),
        (status = 404, description = "No such grade", body = ErrorBody),
    )
)]
#[get("/grades/<id>/history")]
pub async fn api_grade_history(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    id: i64,
) -> AppResult<Json<GradeHistory>> {
    let (history, change_requests) = changes::history(&state.db, user, id).await?;
    Ok(Json(GradeHistory {
        grade_id: id,
        history,
        change_requests,
    }))
}

/// A student's transcript: terms with courses, term GPA and cumulative GPA (published grades
/// only).
#[utoipa::path(
    params(("id" = i64, Path, description = "The student")),
    responses(
        (status = 200, description = "The transcript", body = transcript::Transcript),
        (status = 403, description = "Not within the caller's scope", body = ErrorBody),
        (status = 404, description = "No such student", body = ErrorBody),
    )
)]
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

/// Count, mean, median, standard deviation, min, max, pass rate and histogram of a
/// section's scores.
#[utoipa::path(
    params(("id" = i64, Path, description = "The section")),
    responses(
        (status = 200, description = "The statistics", body = stats::Stats),
        (status = 404, description = "No such section", body = ErrorBody),
    )
)]
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

/// Statistics for a course, term or department, with the course's sections compared and its
/// trend across terms.
#[utoipa::path(
    params(StatisticsQuery),
    responses(
        (status = 200, description = "The statistics", body = stats::Overview),
        (status = 403, description = "Not allowed for this scope", body = ErrorBody),
    )
)]
#[get("/statistics?<query..>")]
pub async fn api_statistics(
    _on: ModuleOn<on::Grades>,
    user: &CurrentUser,
    state: &Db,
    query: StatisticsQuery,
) -> AppResult<Json<stats::Overview>> {
    let scope = Scope {
        section: None,
        course: query.course,
        term: query.term,
        department: query.department,
    };
    Ok(Json(stats::overview(&state.db, user, scope).await?))
}

/// The grading scales with their bands and pass marks.
#[utoipa::path(
    responses(
        (status = 200, description = "The scales", body = ScaleList),
        (status = 403, description = "The grades module is off", body = ErrorBody),
    )
)]
#[get("/grading-scales")]
pub async fn api_scales(
    _on: ModuleOn<on::Grades>,
    _user: &CurrentUser,
    state: &Db,
) -> AppResult<Json<ScaleList>> {
    Ok(Json(ScaleList {
        items: scale::all(&state.db).await?,
    }))
}

/// Define a grading scale (bands, pass mark), optionally as the default.
#[utoipa::path(
    request_body = ScaleBody,
    responses(
        (status = 201, description = "Defined", body = scale::Scale),
        (status = 409, description = "A scale has this name", body = ErrorBody),
        (status = 422, description = "Bands that do not cover 0-100, or a bad pass mark", body = ErrorBody),
    )
)]
#[post("/grading-scales", format = "json", data = "<body>")]
pub async fn api_create_scale(
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ManageCourses>,
    state: &Db,
    body: Json<ScaleBody>,
) -> AppResult<(Status, Json<scale::Scale>)> {
    let body = body.into_inner();
    let saved = scale::create(&state.db, who.id, &body.scale, body.is_default).await?;
    Ok((Status::Created, Json(saved)))
}
