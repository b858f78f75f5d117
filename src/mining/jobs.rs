//! Starting runs: from the command line (`srm mine run`), and by the repeating schedule (a
//! background task on every instance; the one holding the scheduler lease starts the run, and
//! each period of the schedule is claimed once, so several instances start one run per period).

use super::{rules, run, settings};
use crate::config::AppConfig;
use crate::entity::mining_runs;
use crate::error::{AppError, AppResult};
use crate::jobs::{Jobs, Lease, SCHEDULER, claim_period};
use chrono::Utc;
use rocket::fairing::AdHoc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use std::time::{Duration, Instant};

/// The claim kind of the mining schedule's periods.
const SCHEDULE_CLAIM: &str = "mining_schedule";

/// Starts a run in the background for the pages and the API; returns its id.
pub async fn start(
    db: &DatabaseConnection,
    jobs: &Jobs,
    actor: Option<i64>,
    kind: &str,
) -> AppResult<i64> {
    rules::ensure_seeded(db).await?;
    let id = run::create(db, jobs, actor, kind).await?;
    run::spawn(db.clone(), jobs.clone(), id);
    Ok(id)
}

/// Runs a mining run now, on this task (the command line's `srm mine run`): the finished run
/// and the seconds it took.
pub async fn run_now(db: &DatabaseConnection, jobs: &Jobs) -> AppResult<(mining_runs::Model, f64)> {
    rules::ensure_seeded(db).await?;
    let t = Instant::now();
    let id = run::create(db, jobs, None, "cli").await?;
    run::execute(db, jobs, id).await?;
    let secs = t.elapsed().as_secs_f64();
    let r = mining_runs::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((r, secs))
}

/// A week: the schedule of the demo university (a new installation's stays off until an
/// administrator sets it on the mining settings page).
pub const WEEKLY_HOURS: u32 = 7 * 24;

/// Sets the schedule's hours (0 = never), recorded as set by the `admin` account.
pub async fn set_schedule(db: &DatabaseConnection, hours: u32) -> AppResult<()> {
    let mut s = settings::get(db).await?;
    s.schedule_hours = hours;
    let admin = crate::entity::users::Entity::find()
        .filter(crate::entity::users::Column::Username.eq("admin"))
        .one(db)
        .await?
        .map_or(0, |u| u.id);
    settings::set(db, admin, &s).await
}

/// The schedule's period: `schedule_hours`, or `SRM_SCHEDULE_PERIOD_SECONDS` when set; None
/// when the schedule is off.
pub fn period(config: &AppConfig, s: &settings::MiningSettings) -> Option<Duration> {
    if s.schedule_hours == 0 {
        return None;
    }
    Some(match config.schedule_period_seconds {
        Some(secs) if secs > 0 => Duration::from_secs(secs),
        _ => Duration::from_secs(u64::from(s.schedule_hours) * 3600),
    })
}

/// Whether the schedule wants a run now: on, and the last run started at least that long ago.
pub async fn due(db: &DatabaseConnection) -> AppResult<bool> {
    let s = settings::get(db).await?;
    match period(&AppConfig::default(), &s) {
        Some(every) => due_every(db, every).await,
        None => Ok(false),
    }
}

async fn due_every(db: &DatabaseConnection, every: Duration) -> AppResult<bool> {
    // NOTE: a failed run counts too, so a run that cannot succeed is not retried every minute.
    let last = mining_runs::Entity::find()
        .order_by_desc(mining_runs::Column::StartedAt)
        .one(db)
        .await?;
    let every = chrono::Duration::from_std(every).unwrap_or_else(|_| chrono::Duration::hours(1));
    Ok(last.is_none_or(|r| Utc::now().fixed_offset() - r.started_at >= every))
}

/// One check of the schedule on this instance: when it holds (or takes) the scheduler lease,
/// it marks jobs of dead instances interrupted and, when a run is due and this period is not
/// yet claimed, claims it and starts the run for the user who set the schedule. Returns the
/// started run.
pub async fn scheduler_tick(
    db: &DatabaseConnection,
    jobs: &Jobs,
    config: &AppConfig,
) -> AppResult<Option<i64>> {
    let tick = Duration::from_secs(config.scheduler_tick_seconds.max(1));
    let ttl = jobs.ttl.max(tick * 3);
    if Lease::acquire(db, SCHEDULER, 0, &jobs.holder, ttl)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    crate::jobs::sweep(db).await?;
    let s = settings::get(db).await?;
    let Some(every) = period(config, &s) else {
        return Ok(None);
    };
    if !due_every(db, every).await? {
        return Ok(None);
    }
    let index = Utc::now().timestamp() / (every.as_secs().max(1) as i64);
    if !claim_period(db, SCHEDULE_CLAIM, index, &jobs.holder).await? {
        return Ok(None);
    }
    let by = settings::schedule_set_by(db).await?;
    start(db, jobs, by, "schedule").await.map(Some)
}

/// The schedule: a task started at launch that checks every `SRM_SCHEDULER_TICK_SECONDS`
/// (a minute) whether a run is due.
pub fn scheduler() -> AdHoc {
    AdHoc::on_liftoff("mining schedule", |rocket| {
        Box::pin(async move {
            let Some(state) = rocket.state::<crate::state::AppState>() else {
                return;
            };
            let db = state.db.clone();
            let jobs = state.jobs.clone();
            let config = state.config.clone();
            tokio::spawn(async move {
                // NOTE: the first check one tick after launch, not at once: launching is busy
                // enough, and a test's settings are never raced by a run starting underneath.
                let every = Duration::from_secs(config.scheduler_tick_seconds.max(1));
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    match scheduler_tick(&db, &jobs, &config).await {
                        Ok(Some(id)) => tracing::info!(run = id, "scheduled mining run started"),
                        Ok(None) => {}
                        Err(e) => tracing::warn!("mining schedule check failed: {e}"),
                    }
                }
            });
        })
    })
}
