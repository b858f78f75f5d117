//! The status of a background job (a mining run; an import), stored as text so the values in
//! existing databases stay the same.

use super::stored_status;
use sea_orm::entity::prelude::*;

stored_status! {
    pub enum JobStatus {
        /// Created, its worker not started yet.
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
        Cancelled = "cancelled",
        /// Its instance stopped (shut down, or its lease ran out) before it finished.
        Interrupted = "interrupted",
    }
}

impl JobStatus {
    /// The statuses of a job that is not finished: it blocks another of its kind.
    pub const LIVE: [JobStatus; 2] = [JobStatus::Queued, JobStatus::Running];

    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}
