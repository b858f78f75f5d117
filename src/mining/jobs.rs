//! Starting runs: from the command line (`srm mine run`), and by the repeating schedule (a
//! background task started at launch that checks the setting every minute).

use super::{rules, run, settings};
use crate::config::AppConfig;
use crate::entity::mining_runs;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use rocket::fairing::AdHoc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Print the run's metrics as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ScheduleArgs {
    /// Hours between runs started by the server (0 = never).
    #[arg(long)]
    pub hours: u32,
}

/// Starts a run in the background for the pages and the API; returns its id.
pub async fn start(db: &DatabaseConnection, actor: Option<i64>, kind: &str) -> AppResult<i64> {
    rules::ensure_seeded(db).await?;
    let id = run::create(db, actor, kind).await?;
    run::spawn(db.clone(), id);
    Ok(id)
}

pub async fn run_cli(config: &AppConfig, args: RunArgs) -> AppResult<()> {
    let state = crate::prepare(config.clone()).await?;
    let db = &state.db;
    rules::ensure_seeded(db).await?;
    let t = Instant::now();
    let id = run::create(db, None, "cli").await?;
    run::execute(db, id).await?;
    let secs = t.elapsed().as_secs_f64();
    let r = mining_runs::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let metrics: Value = serde_json::from_str(&r.metrics).unwrap_or(Value::Null);
    if args.json {
        println!("{metrics}");
        return Ok(());
    }
    println!(
        "{}",
        super::cli::run_summary(id, r.model.as_deref(), secs, &metrics)
    );
    Ok(())
}

pub async fn schedule_cli(config: &AppConfig, args: ScheduleArgs) -> AppResult<()> {
    let state = crate::prepare(config.clone()).await?;
    let mut s = settings::get(&state.db).await?;
    s.schedule_hours = args.hours;
    let admin = crate::entity::users::Entity::find()
        .filter(crate::entity::users::Column::Username.eq("admin"))
        .one(&state.db)
        .await?
        .map_or(0, |u| u.id);
    settings::set(&state.db, admin, &s).await?;
    println!("mining runs every {} hours (0 = never)", args.hours);
    Ok(())
}

/// Whether the schedule wants a run now: on, and the last run started at least that long ago.
pub async fn due(db: &DatabaseConnection) -> AppResult<bool> {
    let s = settings::get(db).await?;
    if s.schedule_hours == 0 {
        return Ok(false);
    }
    // NOTE: a failed run counts too, so a run that cannot succeed is not retried every minute.
    let last = mining_runs::Entity::find()
        .order_by_desc(mining_runs::Column::StartedAt)
        .one(db)
        .await?;
    Ok(last.is_none_or(|r| {
        Utc::now().fixed_offset() - r.started_at >= chrono::Duration::hours(s.schedule_hours.into())
    }))
}

/// The schedule: a task started at launch that checks every minute whether a run is due.
pub fn scheduler() -> AdHoc {
    AdHoc::on_liftoff("mining schedule", |rocket| {
        Box::pin(async move {
            let Some(state) = rocket.state::<crate::state::AppState>() else {
                return;
            };
            let db = state.db.clone();
            tokio::spawn(async move {
                // NOTE: the first check a minute after launch, not at once: launching is busy
                // enough, and a test's settings are never raced by a run starting underneath.
                let minute = std::time::Duration::from_secs(60);
                let mut tick =
                    tokio::time::interval_at(tokio::time::Instant::now() + minute, minute);
                loop {
                    tick.tick().await;
                    match due(&db).await {
                        Ok(true) => {
                            if let Err(e) = start(&db, None, "schedule").await {
                                tracing::warn!("scheduled mining run not started: {e}");
                            }
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!("mining schedule check failed: {e}"),
                    }
                }
            });
        })
    })
}
