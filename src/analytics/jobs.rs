//! The schedule: every `schedule_hours` (the matrix settings; `SRM_SCHEDULE_PERIOD_SECONDS`
//! overrides it) one instance recomputes the value matrix for the current term, checks every
//! student's lifecycle stage against their last stored one, and takes a snapshot of the
//! analysis store (`store`). The instance holding the lease of
//! this schedule does the work, each period is claimed once across instances, and both steps
//! write in transactions, so a crash leaves either nothing or the whole step; the next period
//! runs again from the data.

use super::{settings, transitions, value};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::AppResult;
use crate::jobs::{Jobs, Lease, claim_period};
use chrono::Utc;
use rocket::fairing::AdHoc;
use std::time::Duration;

/// The lease kind (id 0) and the claim kind of this schedule.
const KIND: &str = "analytics_schedule";

/// What one scheduled run did: (students placed in the matrix, transitions recorded).
pub async fn run_once(db: &Db) -> AppResult<(usize, usize)> {
    let placed = match value::compute_current(db, None).await {
        Ok(c) => c.students,
        Err(crate::error::AppError::Unprocessable { .. }) => 0,
        Err(e) => return Err(e),
    };
    let moved = transitions::check_all(db).await?;
    super::store::snapshot(db, None).await?;
    Ok((placed, moved))
}

/// One check on this instance: runs the schedule's work when this period is due and unclaimed.
pub async fn tick(db: &Db, jobs: &Jobs, config: &AppConfig) -> AppResult<Option<(usize, usize)>> {
    let s = settings::get(db).await?;
    if s.schedule_hours == 0 {
        return Ok(None);
    }
    let every = match config.schedule_period_seconds {
        Some(secs) if secs > 0 => secs,
        _ => u64::from(s.schedule_hours) * 3600,
    };
    let tick = Duration::from_secs(config.scheduler_tick_seconds.max(1));
    let ttl = jobs.ttl.max(tick * 3);
    let Some(lease) = Lease::acquire(db, KIND, 0, &jobs.holder, ttl).await? else {
        return Ok(None);
    };
    let index = Utc::now().timestamp() / (every.max(1) as i64);
    if !claim_period(db, KIND, index, &jobs.holder).await? {
        return Ok(None);
    }
    let out = run_once(db).await;
    lease.release(db).await?;
    out.map(Some)
}

pub fn scheduler() -> AdHoc {
    AdHoc::on_liftoff("analytics schedule", |rocket| {
        Box::pin(async move {
            let Some(state) = rocket.state::<crate::state::AppState>() else {
                return;
            };
            let db = state.db.clone();
            let jobs = state.jobs.clone();
            let config = state.config.clone();
            tokio::spawn(async move {
                let every = Duration::from_secs(config.scheduler_tick_seconds.max(1));
                let mut tick_at =
                    tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick_at.tick().await;
                    match tick(&db, &jobs, &config).await {
                        Ok(Some((placed, moved))) => {
                            tracing::info!(placed, moved, "value matrix and lifecycle updated")
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!("analytics schedule failed: {e}"),
                    }
                }
            });
        })
    })
}
