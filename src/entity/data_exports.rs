//! One "download my data" archive a student asked for, and the state of its build.

use super::job_status::JobStatus;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "data_exports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub student_id: i64,
    /// The account that asked (the student's own).
    pub requested_by: i64,
    pub status: JobStatus,
    pub requested_at: DateTimeWithTimeZone,
    pub finished_at: Option<DateTimeWithTimeZone>,
    /// After this the archive is deleted and a request builds a fresh one.
    pub expires_at: Option<DateTimeWithTimeZone>,
    /// The zip archive, until it expires.
    pub archive: Option<Vec<u8>>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    #[sea_orm(belongs_to, from = "student_id", to = "id", on_delete = "Cascade")]
    pub student: BelongsTo<super::students::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
