//! Background jobs that survive crashes and several instances. Every running job holds a lease
//! in the database ([`Lease`]) that its worker renews with a heartbeat ([`Heartbeat`]); a job
//! whose holder stopped renewing past the lease is marked `interrupted` by [`sweep`] and no
//! longer blocks a new one. An administrator's cancel is a flag on the lease that the worker
//! reads between steps. Periods of repeating schedules are claimed once ([`claim_period`]).

mod lease;
mod sweep;

pub use lease::{CancelOutcome, Heartbeat, Lease, Stop, claim_period, request_cancel};
pub use sweep::{interrupt_own, sweep};

use std::sync::OnceLock;
use std::time::Duration;

/// The lease kind of a mining run (its id is the run's id).
pub const MINING_RUN: &str = "mining_run";
/// The lease kind of a student import (its id is the import job's id).
pub const IMPORT: &str = "import";
/// The lease kind of a backup run (its id is the `backup_runs` row's id).
pub const BACKUP: &str = "backup";
/// The lease kind of building a student's "download my data" archive (its id is the
/// `data_exports` row's id).
pub const DATA_EXPORT: &str = "data_export";
/// The lease kind of the one scheduler across all instances (id 0).
pub const SCHEDULER: &str = "scheduler";

/// Who this instance is and how long its leases last.
#[derive(Debug, Clone)]
pub struct Jobs {
    /// `host:pid:tag`, shown on an interrupted job as where it stopped.
    pub holder: String,
    /// A lease not renewed for this long is expired (`SRM_JOB_LEASE_SECONDS`).
    pub ttl: Duration,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            holder: instance_id(),
            ttl: Duration::from_secs(60),
        }
    }
}

impl Jobs {
    pub fn from_config(config: &crate::config::AppConfig) -> Jobs {
        Jobs {
            holder: instance_id(),
            ttl: Duration::from_secs(config.job_lease_seconds.max(1)),
        }
    }
}

/// This process's name in leases: the host, the process id and a random tag (so that a
/// restarted process that got the same pid is still someone else).
pub fn instance_id() -> String {
    // NOTE: the identity of the process, not configuration: the same for every app it builds.
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        let tag = uuid::Uuid::new_v4().simple().to_string();
        format!("{host}:{}:{}", std::process::id(), &tag[..6])
    })
    .clone()
}
