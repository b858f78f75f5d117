//! The status of a background job (a mining run; an import), stored as text so the values in
//! existing databases stay the same.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created, its worker not started yet.
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "done")]
    Done,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    /// Its instance stopped (shut down, or its lease ran out) before it finished.
    #[sea_orm(string_value = "interrupted")]
    Interrupted,
}

impl JobStatus {
    /// The statuses of a job that is not finished: it blocks another of its kind.
    pub const LIVE: [JobStatus; 2] = [JobStatus::Queued, JobStatus::Running];

    /// The stored value, also the key of its label (`mining.status.<value>`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Interrupted => "interrupted",
        }
    }

    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

impl std::str::FromStr for JobStatus {
    type Err = DbErr;

    /// Parses a stored value (`done`, `running`, ...).
    fn from_str(s: &str) -> Result<Self, DbErr> {
        Self::try_from_value(&s.to_string())
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
