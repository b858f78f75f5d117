//! The analytics API under /api/v1: the value matrix (read, compute now), the lifecycle report
//! and one student's lifecycle transitions.

use super::analysis::LifecycleReport;
use super::dto::{StudentLifecycle, ValueMatrixAnswer};
use super::portfolio::{Portfolio, PortfolioQuery};
use super::retention::{RetentionQuery, RetentionReport};
use super::satisfaction::SatisfactionReport;
use super::service;
use super::store::{Snapshot, Summary, SummaryQuery};
use super::value::MatrixComputed;
use crate::access::{ModuleOn, Perm, can, on};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::interaction::care::service::Referred;
use crate::state::AppState;
use rocket::serde::json::Json;
use rocket::{State, get, post};

/// The value matrix of the latest computed term: each cell's count (in the caller's scope: an
/// advisor counts their advisees), name and strategy, the thresholds, and the movement since
/// the term before. Staff only.
#[utoipa::path(
    responses(
        (status = 200, description = "The matrix", body = ValueMatrixAnswer),
        (status = 403, description = "Not staff, or the module is off", body = ErrorBody),
    )
)]
#[get("/analytics/value-matrix")]
pub async fn api_value_matrix(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<ValueMatrixAnswer>> {
    Ok(Json(service::matrix(&state.db, user).await?.0))
}

/// Computes the value matrix for the current term now (the schedule does it too).
#[utoipa::path(
    responses(
        (status = 200, description = "Computed", body = MatrixComputed),
        (status = 422, description = "There is no current term", body = ErrorBody),
    )
)]
#[post("/analytics/value-matrix/compute")]
pub async fn api_value_compute(
    _on: ModuleOn<on::Students>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Json<MatrixComputed>> {
    Ok(Json(service::compute_now(&state.db, &user).await?))
}

/// Lifecycle stage counts per term, the funnel new → forming → stable and the recovery of
/// declining students with and without care, in the caller's scope. Staff only.
#[utoipa::path(
    responses(
        (status = 200, description = "The report", body = LifecycleReport),
        (status = 403, description = "Not staff, or the module is off", body = ErrorBody),
    )
)]
#[get("/analytics/lifecycle")]
pub async fn api_lifecycle_report(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<LifecycleReport>> {
    Ok(Json(service::lifecycle_report(&state.db, user).await?))
}

/// One student's lifecycle transitions (from, to, when, the rule), scoped and audited like
/// their record.
#[utoipa::path(
    params(("id" = i64, Path, description = "The student record", minimum = 1)),
    responses(
        (status = 200, description = "The transitions", body = StudentLifecycle),
        (status = 404, description = "No such student", body = ErrorBody),
    )
)]
#[get("/students/<id>/lifecycle")]
pub async fn api_student_lifecycle(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    id: i64,
) -> AppResult<Json<StudentLifecycle>> {
    Ok(Json(service::student_lifecycle(&state.db, user, id).await?))
}

/// Cohort retention: per cohort and term the share still enrolled (status at the term's end
/// not withdrawn or suspended), and the leaving recorded per cohort, in the caller's scope (an
/// advisor: their advisees), optionally for one department and/or major. Staff only.
#[utoipa::path(
    params(RetentionQuery),
    responses(
        (status = 200, description = "The report", body = RetentionReport),
        (status = 403, description = "Not staff, or the module is off", body = ErrorBody),
        (status = 422, description = "A filter id is out of range", body = ErrorBody),
    )
)]
#[get("/analytics/retention?<q..>")]
pub async fn api_retention(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: RetentionQuery,
) -> AppResult<Json<RetentionReport>> {
    Ok(Json(service::retention(&state.db, user, q).await?))
}

/// The course portfolio of a term: each course's demand (registrations, waitlisted, drops)
/// against its outcomes (pass rate, grade trend against the term before, satisfaction from
/// feedback at or above the anonymity floor), sorted by a column. Staff only.
#[utoipa::path(
    params(PortfolioQuery),
    responses(
        (status = 200, description = "The portfolio", body = Portfolio),
        (status = 403, description = "Not staff, or the module is off", body = ErrorBody),
        (status = 404, description = "No such term", body = ErrorBody),
        (status = 422, description = "An unknown sort column or direction", body = ErrorBody),
    )
)]
#[get("/analytics/portfolio?<q..>")]
pub async fn api_portfolio(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: PortfolioQuery,
) -> AppResult<Json<Portfolio>> {
    Ok(Json(service::portfolio(&state.db, user, &q).await?))
}

/// Satisfaction over time: per department and term, case ratings and course feedback scores
/// with their response rates; scores below the feedback module's anonymity floor are not
/// shown. Staff only.
#[utoipa::path(
    responses(
        (status = 200, description = "The report", body = SatisfactionReport),
        (status = 403, description = "Not staff, or the module is off", body = ErrorBody),
    )
)]
#[get("/analytics/satisfaction")]
pub async fn api_satisfaction(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<SatisfactionReport>> {
    Ok(Json(service::satisfaction(&state.db, user).await?))
}

/// Hands the students of one cell (in the caller's scope, latest computed term) to care, with
/// the cell's strategy as the reason: each appears on the care page's referrals until care is
/// recorded for them. Students already handed over for the cell are not added twice.
#[utoipa::path(
    params(("cell" = crate::students::query::ValueCell, Path, description = "The cell")),
    responses(
        (status = 200, description = "Handed over", body = Referred),
        (status = 403, description = "Not allowed to record care, or a module is off", body = ErrorBody),
        (status = 404, description = "No such cell", body = ErrorBody),
        (status = 422, description = "The path names no cell of the document", body = ErrorBody),
    )
)]
#[post("/analytics/value-matrix/cells/<cell>/care")]
pub async fn api_value_cell_care(
    _on: ModuleOn<on::Students>,
    _care: ModuleOn<on::Messages>,
    user: Perm<'_, can::RecordInterventions>,
    state: &State<AppState>,
    cell: &str,
) -> AppResult<Json<Referred>> {
    Ok(Json(
        service::hand_cell_to_care(&state.db, &user, cell).await?,
    ))
}

/// The summary by term from the analysis store (enrolment, credits, grades, risk levels,
/// lifecycle stages, value cells), in the caller's scope, filtered. Staff only.
#[utoipa::path(
    params(SummaryQuery),
    responses(
        (status = 200, description = "The summary", body = Summary),
        (status = 403, description = "Not staff, or the module is off", body = ErrorBody),
        (status = 422, description = "A filter is out of range", body = ErrorBody),
    )
)]
#[get("/analytics/summary?<q..>")]
pub async fn api_summary(
    _on: ModuleOn<on::Students>,
    user: &CurrentUser,
    state: &State<AppState>,
    q: SummaryQuery,
) -> AppResult<Json<Summary>> {
    Ok(Json(service::summary(&state.db, user, q).await?))
}

/// Takes a snapshot of the analysis store now (the schedule takes one every period).
#[utoipa::path(
    responses(
        (status = 200, description = "Taken", body = Snapshot),
    )
)]
#[post("/analytics/snapshots")]
pub async fn api_snapshot(
    _on: ModuleOn<on::Students>,
    user: Perm<'_, can::RunMining>,
    state: &State<AppState>,
) -> AppResult<Json<Snapshot>> {
    let s = service::snapshot_now(&state.db, &user).await?;
    Ok(Json(Snapshot {
        id: s.id,
        taken_at: s.taken_at,
        seconds: s.seconds,
        term_rows: s.term_rows,
        group_rows: s.group_rows,
    }))
}
