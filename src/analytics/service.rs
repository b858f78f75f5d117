//! What the pages and the API ask of the analyses, scope checks and audit included.

use super::dto::{CellAnswer, StudentLifecycle, ValueMatrixAnswer};
use super::scope::Reach;
use super::settings::{self, CELLS, ValueSettings};
use super::{analysis, portfolio, retention, satisfaction, store, stored, transitions, value};
use crate::auth::CurrentUser;
use crate::db::Writable;
use crate::error::{AppError, AppResult};
use crate::interaction::care::service::{self as care, Referred};
use sea_orm::ConnectionTrait;

/// The matrix in the caller's scope (`Forbidden` for students).
pub async fn matrix(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
) -> AppResult<(ValueMatrixAnswer, ValueSettings)> {
    let reach = Reach::of(user)?;
    let s = settings::get(db).await?;
    // NOTE: from the analysis store's facts, live until they were first written.
    let m = match stored::matrix(db, reach).await? {
        Some(m) => m,
        None => value::matrix(db, reach).await?,
    };
    let cells = CELLS
        .iter()
        .map(|code| {
            let t = s.cell(code);
            CellAnswer {
                count: m
                    .counts
                    .iter()
                    .find(|(c, _)| c == code)
                    .map_or(0, |(_, n)| *n),
                high_standing: matches!(*code, "develop" | "engage"),
                high_relationship: matches!(*code, "develop" | "support"),
                code: t.code,
                name_zh: t.name_zh,
                name_en: t.name_en,
                strategy_zh: t.strategy_zh,
                strategy_en: t.strategy_en,
            }
        })
        .collect();
    Ok((
        ValueMatrixAnswer {
            term: m.term,
            previous_term: m.previous,
            standing_at: s.standing_at,
            relationship_at: s.relationship_at,
            total: m.total,
            cells,
            movement: m.flows,
        },
        s,
    ))
}

/// Hands the students of a cell (in the caller's scope, latest computed term) to care, with
/// the cell's strategy as the reason (`care.record` permission; one transaction, audited).
pub async fn hand_cell_to_care(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    cell: &str,
) -> AppResult<Referred> {
    let reach = Reach::of(user)?;
    if !CELLS.contains(&cell) {
        return Err(AppError::NotFound);
    }
    let text = settings::get(db).await?.cell(cell);
    let students = value::cell_students(db, reach, cell).await?;
    care::refer(
        db,
        user,
        &care::Referral {
            source: care::VALUE_CELL,
            code: cell,
            group_zh: &text.name_zh,
            group_en: &text.name_en,
            reason_zh: &text.strategy_zh,
            reason_en: &text.strategy_en,
        },
        &students,
    )
    .await
}

/// Whether the caller sees advisees only (the cell lists say so).
pub fn advisor_only(user: &CurrentUser) -> AppResult<bool> {
    Ok(matches!(Reach::of(user)?, Reach::Advisor(_)))
}

/// Computes the matrix for the current term now (an administrator's request).
pub async fn compute_now<C: Writable>(
    db: &C,
    user: &CurrentUser,
) -> AppResult<value::MatrixComputed> {
    value::compute_current(db, Some(user.id)).await
}

/// One student's lifecycle history, scoped and audited like their record.
pub async fn student_lifecycle(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    student_id: i64,
) -> AppResult<StudentLifecycle> {
    crate::students::service::authorize_read(db, user, student_id, "lifecycle").await?;
    let student = crate::students::service::find(db, student_id).await?;
    Ok(StudentLifecycle {
        student_id,
        stage: crate::students::lifecycle::stage_of(db, &student).await?,
        transitions: transitions::list_for(db, student_id).await?,
    })
}

/// The lifecycle report in the caller's scope.
pub async fn lifecycle_report(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
) -> AppResult<analysis::LifecycleReport> {
    store::lifecycle(db, Reach::of(user)?).await
}

/// The summary by term from the analysis store, in the caller's scope, filtered.
pub async fn summary(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    q: store::SummaryQuery,
) -> AppResult<store::Summary> {
    let q = q.check()?;
    store::summary(
        db,
        Reach::of(user)?,
        q.department.unwrap_or(0),
        q.major.unwrap_or(0),
        q.cohort.unwrap_or(0),
    )
    .await
}

/// Takes a snapshot of the analysis store now (an administrator's request; audited).
pub async fn snapshot_now(
    db: &crate::db::Db,
    user: &CurrentUser,
) -> AppResult<crate::entity::analysis_snapshots::Model> {
    store::snapshot(db, Some(user.id)).await
}

/// Cohort retention in the caller's scope (an advisor: their advisees), filtered.
pub async fn retention(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    q: retention::RetentionQuery,
) -> AppResult<retention::RetentionReport> {
    let reach = Reach::of(user)?;
    match stored::retention(db, reach, q).await? {
        Some(r) => Ok(r),
        None => retention::report(db, reach, q).await,
    }
}

/// The departments and majors the filter forms offer, by code.
pub async fn filter_choices(db: &impl ConnectionTrait) -> AppResult<FilterChoices> {
    use crate::entity::{departments, majors};
    use sea_orm::{EntityTrait, QueryOrder};
    let departments = departments::Entity::find()
        .order_by_asc(departments::Column::Code)
        .all(db)
        .await?;
    let majors = majors::Entity::find()
        .order_by_asc(majors::Column::Code)
        .all(db)
        .await?;
    Ok(FilterChoices {
        departments,
        majors,
    })
}

/// What the filter forms offer.
pub struct FilterChoices {
    pub departments: Vec<crate::entity::departments::Model>,
    pub majors: Vec<crate::entity::majors::Model>,
}

/// The course portfolio of a term (course-level, so the same for every staff member; students
/// are refused).
pub async fn portfolio(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    q: &portfolio::PortfolioQuery,
) -> AppResult<portfolio::Portfolio> {
    Reach::of(user)?;
    portfolio::report_from(db, q, stored::portfolio_stored(db).await?).await
}

/// Satisfaction per department and term (department-level, so the same for every staff
/// member; students are refused).
pub async fn satisfaction(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
) -> AppResult<satisfaction::SatisfactionReport> {
    Reach::of(user)?;
    match stored::satisfaction(db).await? {
        Some(r) => Ok(r),
        None => satisfaction::report(db).await,
    }
}
