//! One backup run: its status, who or which schedule started it, and where it stopped.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backup_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `running`, `done`, `failed` or `interrupted`.
    pub status: super::job_status::JobStatus,
    /// `manual` (the button), `schedule` or `command` (`srm backup`).
    pub trigger: String,
    pub started_by: Option<i64>,
    pub started_at: DateTimeWithTimeZone,
    pub finished_at: Option<DateTimeWithTimeZone>,
    pub holder: Option<String>,
    pub file: Option<String>,
    pub error: Option<String>,
    pub interrupted_at: Option<DateTimeWithTimeZone>,
    pub interrupted_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
