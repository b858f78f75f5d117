//! "Download my data": a student asks, a background job builds the archive (holding a lease, so
//! a crashed build is taken over by the next request on any instance), and the archive waits in
//! the database until it expires. Every request and download is in the audit log.

use super::archive::{self, PartSummary};
use crate::audit::Entry;
use crate::entity::data_exports;
use crate::entity::job_status::JobStatus;
use crate::entity::students;
use crate::error::{AppError, AppResult};
use crate::jobs::{DATA_EXPORT, Heartbeat, Jobs, Lease};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// How long a finished archive can be downloaded.
pub const KEEP_DAYS: i64 = 7;

/// Where the caller's latest archive stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportStatus {
    pub id: i64,
    pub status: JobStatus,
    pub requested_at: DateTime<FixedOffset>,
    pub finished_at: Option<DateTime<FixedOffset>>,
    /// Until when the finished archive can be downloaded.
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub size_bytes: Option<i64>,
    /// The archive's SHA-256, to check a download.
    pub sha256: Option<String>,
}

/// The columns of a row without its archive (which can be large).
type Head = (
    i64,
    JobStatus,
    DateTime<FixedOffset>,
    Option<DateTime<FixedOffset>>,
    Option<DateTime<FixedOffset>>,
    Option<i64>,
    Option<String>,
);

fn status_of(h: Head) -> ExportStatus {
    ExportStatus {
        id: h.0,
        status: h.1,
        requested_at: h.2,
        finished_at: h.3,
        expires_at: h.4,
        size_bytes: h.5,
        sha256: h.6,
    }
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// The student's latest archive request, if any.
pub async fn latest(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Option<ExportStatus>> {
    Ok(data_exports::Entity::find()
        .filter(data_exports::Column::StudentId.eq(student_id))
        .select_only()
        .column(data_exports::Column::Id)
        .column(data_exports::Column::Status)
        .column(data_exports::Column::RequestedAt)
        .column(data_exports::Column::FinishedAt)
        .column(data_exports::Column::ExpiresAt)
        .column(data_exports::Column::SizeBytes)
        .column(data_exports::Column::Sha256)
        .order_by_desc(data_exports::Column::Id)
        .into_tuple::<Head>()
        .one(db)
        .await?
        .map(status_of))
}

/// Whether `s` is a finished archive that can still be downloaded.
fn ready(s: &ExportStatus) -> bool {
    s.status == JobStatus::Done && s.expires_at.is_some_and(|e| e > now())
}

/// What a request for the archive gets.
pub enum Fetched {
    /// The finished archive and its file name.
    Ready(Vec<u8>, String),
    /// Being built: ask again.
    Pending(ExportStatus),
}

/// The caller's archive when one is ready; otherwise the build of one is started (or taken over
/// from an instance that stopped) and its status answered.
pub async fn fetch(
    db: &DatabaseConnection,
    jobs: &Jobs,
    user_id: i64,
    student_id: i64,
) -> AppResult<Fetched> {
    if let Some(s) = latest(db, student_id).await?
        && ready(&s)
    {
        return download(db, user_id, student_id, s.id).await;
    }
    Ok(Fetched::Pending(
        request(db, jobs, user_id, student_id, false).await?,
    ))
}

/// Starts building a fresh archive, unless one is being built (then that one goes on, taken
/// over when its instance stopped) or, with `fresh` false, one is ready.
pub async fn request(
    db: &DatabaseConnection,
    jobs: &Jobs,
    user_id: i64,
    student_id: i64,
    fresh: bool,
) -> AppResult<ExportStatus> {
    expire(db).await?;
    if let Some(s) = latest(db, student_id).await? {
        if JobStatus::LIVE.contains(&s.status) {
            // A lease held by a live builder refuses; one whose holder stopped is taken over.
            if let Some(lease) = take(db, jobs, s.id).await? {
                spawn(db.clone(), lease, user_id, student_id);
            }
            return Ok(s);
        }
        if !fresh && ready(&s) {
            return Ok(s);
        }
    }
    let row = data_exports::ActiveModel {
        student_id: Set(student_id),
        requested_by: Set(user_id),
        status: Set(JobStatus::Queued),
        requested_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Entry::new(Some(user_id), "privacy.export.request", "data_export")
        .id(row.id)
        .student(student_id)
        .write(db)
        .await?;
    if let Some(lease) = take(db, jobs, row.id).await? {
        spawn(db.clone(), lease, user_id, student_id);
    }
    Ok(status_of((
        row.id,
        row.status,
        row.requested_at,
        None,
        None,
        None,
        None,
    )))
}

/// The lease of building export `id`, under a holder name of its own (so that a second request
/// to this same instance does not start a second build).
async fn take(db: &impl ConnectionTrait, jobs: &Jobs, id: i64) -> AppResult<Option<Lease>> {
    let holder = format!("{}:{}", jobs.holder, uuid::Uuid::new_v4().simple());
    Lease::acquire(db, DATA_EXPORT, id, &holder, jobs.ttl).await
}

fn spawn(db: DatabaseConnection, lease: Lease, user_id: i64, student_id: i64) {
    tokio::spawn(async move {
        let id = lease.job_id;
        let heartbeat = Heartbeat::start(db.clone(), lease.clone());
        let outcome = build(&db, id, user_id, student_id).await;
        drop(heartbeat);
        if let Err(e) = &outcome {
            tracing::error!(export = id, error = %e, "data export failed");
            let failed = data_exports::Entity::update_many()
                .col_expr(data_exports::Column::Status, Expr::value(JobStatus::Failed))
                .col_expr(data_exports::Column::Error, Expr::value(e.to_string()))
                .col_expr(data_exports::Column::FinishedAt, Expr::value(now()))
                .filter(data_exports::Column::Id.eq(id))
                .exec(&db)
                .await;
            if let Err(e) = failed {
                tracing::error!(export = id, error = %e, "could not mark the data export failed");
            }
        }
        if let Err(e) = lease.release(&db).await {
            tracing::warn!(export = id, error = %e, "could not release the data export's lease");
        }
    });
}

/// Collects the student's data, zips it off the request threads and stores the archive.
pub async fn build(
    db: &DatabaseConnection,
    id: i64,
    user_id: i64,
    student_id: i64,
) -> AppResult<()> {
    data_exports::Entity::update_many()
        .col_expr(
            data_exports::Column::Status,
            Expr::value(JobStatus::Running),
        )
        .filter(data_exports::Column::Id.eq(id))
        .exec(db)
        .await?;
    let student = students::Entity::find_by_id(student_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    // NOTE: one read transaction, so the parts agree with each other.
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    let parts = archive::collect(&txn, student_id, student.user_id.or(Some(user_id))).await?;
    txn.commit().await?;
    let at = now();
    let manifest = json!({
        "format": "srm-my-data",
        "version": 1,
        "student_no": student.student_no,
        "generated_at": at.to_rfc3339(),
        "parts": parts.iter().map(|p| PartSummary { name: p.name.clone(), rows: p.rows.len() }).collect::<Vec<_>>(),
    });
    let bytes = tokio::task::spawn_blocking(move || archive::pack(&parts, &manifest))
        .await
        .map_err(AppError::internal)??;
    let sha = crate::auth::token::hex_encode(&Sha256::digest(&bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let txn = crate::db::write_txn(db).await?;
    // An older archive of the same student is no longer offered: only the newest is kept.
    data_exports::Entity::update_many()
        .col_expr(data_exports::Column::Archive, Expr::value(None::<Vec<u8>>))
        .filter(data_exports::Column::StudentId.eq(student_id))
        .filter(data_exports::Column::Id.lt(id))
        .exec(&txn)
        .await?;
    data_exports::Entity::update_many()
        .col_expr(data_exports::Column::Status, Expr::value(JobStatus::Done))
        .col_expr(data_exports::Column::Archive, Expr::value(Some(bytes)))
        .col_expr(data_exports::Column::SizeBytes, Expr::value(size))
        .col_expr(data_exports::Column::Sha256, Expr::value(sha))
        .col_expr(data_exports::Column::FinishedAt, Expr::value(at))
        .col_expr(
            data_exports::Column::ExpiresAt,
            Expr::value(at + Duration::days(KEEP_DAYS)),
        )
        .filter(data_exports::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The finished archive `id` of the student, for their download (audited).
async fn download(
    db: &impl ConnectionTrait,
    user_id: i64,
    student_id: i64,
    id: i64,
) -> AppResult<Fetched> {
    let row = data_exports::Entity::find_by_id(id)
        .filter(data_exports::Column::StudentId.eq(student_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let bytes = row.archive.ok_or(AppError::NotFound)?;
    Entry::new(Some(user_id), "privacy.export.download", "data_export")
        .id(id)
        .student(student_id)
        .write(db)
        .await?;
    let day = row.finished_at.unwrap_or(row.requested_at).format("%Y%m%d");
    Ok(Fetched::Ready(bytes, format!("my-data-{day}.zip")))
}

/// Deletes every archive past its time (the row stays as a record of the request).
pub async fn expire(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(data_exports::Entity::update_many()
        .col_expr(data_exports::Column::Archive, Expr::value(None::<Vec<u8>>))
        .filter(data_exports::Column::ExpiresAt.lt(now()))
        .filter(data_exports::Column::Archive.is_not_null())
        .exec(db)
        .await?
        .rows_affected)
}
