//! The mining settings, kept in the `settings` table: risk-level and leaving-level thresholds,
//! whether students see their own level, and the repeat schedule of runs.

use crate::audit::Entry;
use crate::db::write_txn;
use crate::error::{AppError, AppResult};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const KEY: &str = "mining.settings";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MiningSettings {
    /// A score (0–100) at or above this is "medium".
    pub medium_at: f64,
    /// A score at or above this is "high".
    pub high_at: f64,
    /// A leaving score (0–100: the leaving model's probability, in percent, that the student
    /// leaves the university before the next term; see `features::leaves`) at or above this is
    /// "medium". Leaving is rare (about 2% a term in the demo), so the defaults are far below
    /// the risk thresholds.
    pub leave_medium_at: f64,
    /// A leaving score at or above this is "high".
    pub leave_high_at: f64,
    /// Whether a student sees their own risk level (off by default; they always see suggestions).
    pub students_see_level: bool,
    /// Start a run every this many hours (0: never).
    pub schedule_hours: u32,
    /// Random seed of the models.
    pub seed: u64,
}

impl Default for MiningSettings {
    fn default() -> Self {
        MiningSettings {
            medium_at: 40.0,
            high_at: 70.0,
            leave_medium_at: 10.0,
            leave_high_at: 25.0,
            students_see_level: false,
            schedule_hours: 0,
            seed: 42,
        }
    }
}

impl MiningSettings {
    pub fn level(&self, score: f64) -> &'static str {
        if score >= self.high_at {
            "high"
        } else if score >= self.medium_at {
            "medium"
        } else {
            "low"
        }
    }

    /// The leaving level of a leaving score.
    pub fn leave_level(&self, score: f64) -> &'static str {
        if score >= self.leave_high_at {
            "high"
        } else if score >= self.leave_medium_at {
            "medium"
        } else {
            "low"
        }
    }

    pub fn validate(&self) -> AppResult<()> {
        let pct = |v: f64| (0.0..=100.0).contains(&v);
        let ok = pct(self.medium_at)
            && pct(self.high_at)
            && self.medium_at < self.high_at
            && pct(self.leave_medium_at)
            && pct(self.leave_high_at)
            && self.leave_medium_at < self.leave_high_at
            && self.schedule_hours <= 24 * 30;
        if ok {
            Ok(())
        } else {
            Err(AppError::unprocessable(
                "invalid_settings",
                "thresholds must satisfy 0 ≤ medium < high ≤ 100 (risk and leaving alike) and the schedule at most 720 hours",
            ))
        }
    }
}

/// Who last changed the schedule: scheduled runs are recorded as started by them.
const SCHEDULE_BY_KEY: &str = "mining.schedule_by";

pub async fn schedule_set_by(db: &impl ConnectionTrait) -> AppResult<Option<i64>> {
    Ok(crate::settings::get(db, SCHEDULE_BY_KEY)
        .await?
        .and_then(|v| v.trim().parse().ok())
        .filter(|id: &i64| *id > 0))
}

pub async fn get(db: &impl ConnectionTrait) -> AppResult<MiningSettings> {
    Ok(crate::settings::get(db, KEY)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Stores new settings (audited, one transaction).
pub async fn set(db: &DatabaseConnection, actor: i64, new: &MiningSettings) -> AppResult<()> {
    new.validate()?;
    let txn = write_txn(db).await?;
    let before = get(&txn).await?;
    crate::settings::put(&txn, KEY, json!(new).to_string()).await?;
    if before.schedule_hours != new.schedule_hours {
        crate::settings::put(&txn, SCHEDULE_BY_KEY, actor.to_string()).await?;
    }
    Entry::new(Some(actor), "mining.settings", "setting")
        .id(KEY)
        .change(json!(before), json!(new))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}
