//! The value matrix's settings, kept in the `settings` table under `analytics.value`: the two
//! thresholds, the weights of every component, the credits a term's plan expects, the schedule,
//! and each cell's name and strategy in Chinese and English (data an administrator edits, with
//! seeded defaults).

use crate::audit::Entry;
use crate::db::{Writable, write_txn};
use crate::error::{AppError, AppResult};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const KEY: &str = "analytics.value";

/// The four cells, by (high standing, high relationship).
pub const CELLS: [&str; 4] = ["develop", "engage", "support", "rescue"];

/// The cell of two scores under the thresholds: standing splits develop/engage from
/// support/rescue, relationship splits develop/support from engage/rescue.
pub fn cell_of(standing: f64, relationship: f64, s: &ValueSettings) -> &'static str {
    match (standing >= s.standing_at, relationship >= s.relationship_at) {
        (true, true) => "develop",
        (true, false) => "engage",
        (false, true) => "support",
        (false, false) => "rescue",
    }
}

/// How much each component counts in its score (any non-negative numbers; a score is the
/// weighted mean of the components the student has data for).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(default)]
pub struct Weights {
    /// Standing: cumulative GPA (out of 4).
    pub gpa: f64,
    /// Standing: last term GPA against the one before.
    pub trend: f64,
    /// Standing: credits earned against the plan.
    pub credits: f64,
    /// Standing: share of taken rolls present.
    pub attendance: f64,
    /// Standing: share of due assessments submitted on time.
    pub submissions: f64,
    /// Relationship: advisor and care contacts (interventions).
    pub contacts: f64,
    /// Relationship: messages sent and cases raised.
    pub messages: f64,
    /// Relationship: course feedback given where it was collected.
    pub feedback: f64,
    /// Relationship: mean satisfaction rating of their closed cases.
    pub satisfaction: f64,
    /// Relationship: 100 minus the leaving risk of the latest finished mining run.
    pub risk: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            gpa: 35.0,
            trend: 15.0,
            credits: 20.0,
            attendance: 15.0,
            submissions: 15.0,
            contacts: 20.0,
            messages: 20.0,
            feedback: 15.0,
            satisfaction: 15.0,
            risk: 30.0,
        }
    }
}

/// The field of `$s` for the score component `$name` (one of `Weights::STANDING` and
/// `Weights::RELATIONSHIP`), else `$other`: the weights and a student's components alike.
macro_rules! component {
    ($s:expr, $name:expr, $other:expr) => {
        match $name {
            "gpa" => $s.gpa,
            "trend" => $s.trend,
            "credits" => $s.credits,
            "attendance" => $s.attendance,
            "submissions" => $s.submissions,
            "contacts" => $s.contacts,
            "messages" => $s.messages,
            "feedback" => $s.feedback,
            "satisfaction" => $s.satisfaction,
            "risk" => $s.risk,
            _ => $other,
        }
    };
}
pub(super) use component;

impl Weights {
    pub const STANDING: [&'static str; 5] =
        ["gpa", "trend", "credits", "attendance", "submissions"];
    pub const RELATIONSHIP: [&'static str; 5] =
        ["contacts", "messages", "feedback", "satisfaction", "risk"];

    pub fn get(&self, name: &str) -> f64 {
        component!(self, name, 0.0)
    }

    pub fn set(&mut self, name: &str, v: f64) {
        match name {
            "gpa" => self.gpa = v,
            "trend" => self.trend = v,
            "credits" => self.credits = v,
            "attendance" => self.attendance = v,
            "submissions" => self.submissions = v,
            "contacts" => self.contacts = v,
            "messages" => self.messages = v,
            "feedback" => self.feedback = v,
            "satisfaction" => self.satisfaction = v,
            "risk" => self.risk = v,
            _ => {}
        }
    }
}

/// One cell's name and strategy in both languages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CellText {
    /// `develop`, `engage`, `support` or `rescue`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub strategy_zh: String,
    pub strategy_en: String,
}

fn cell(code: &str, name_zh: &str, name_en: &str, zh: &str, en: &str) -> CellText {
    CellText {
        code: code.into(),
        name_zh: name_zh.into(),
        name_en: name_en.into(),
        strategy_zh: zh.into(),
        strategy_en: en.into(),
    }
}

pub fn default_cells() -> Vec<CellText> {
    vec![
        cell(
            "develop",
            "发展",
            "Develop",
            "推荐科研项目和荣誉课程",
            "Offer research and honours tracks",
        ),
        cell(
            "engage",
            "联络",
            "Engage",
            "邀请参加导师计划和学生社团，建立联系",
            "Invite to mentoring and student societies to build the relationship",
        ),
        cell(
            "support",
            "扶助",
            "Support",
            "安排辅导，与导师一起制定学习计划",
            "Arrange tutoring and a study plan with the advisor",
        ),
        cell(
            "rescue",
            "挽救",
            "Rescue",
            "一周内安排导师面谈",
            "Advisor meeting within a week",
        ),
    ]
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ValueSettings {
    /// A standing score (0–100) at or above this is high.
    pub standing_at: f64,
    /// A relationship score (0–100) at or above this is high.
    pub relationship_at: f64,
    pub weights: Weights,
    /// The credits a term of the plan expects (credits earned are compared with this many per
    /// completed term since the student's cohort started).
    pub credits_per_term: f64,
    /// Recompute the matrix and check the lifecycle every this many hours (0: never).
    pub schedule_hours: u32,
    pub cells: Vec<CellText>,
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            standing_at: 60.0,
            relationship_at: 40.0,
            weights: Weights::default(),
            credits_per_term: 20.0,
            schedule_hours: 24,
            cells: default_cells(),
        }
    }
}

impl ValueSettings {
    /// The text of one cell (the default when the stored list lacks it).
    pub fn cell(&self, code: &str) -> CellText {
        self.cells
            .iter()
            .find(|c| c.code == code)
            .cloned()
            .or_else(|| default_cells().into_iter().find(|c| c.code == code))
            .unwrap_or_else(|| cell(code, code, code, "", ""))
    }

    /// The first problem, as (field, code).
    pub fn problem(&self) -> Option<(String, &'static str)> {
        let pct = |v: f64| (0.0..=100.0).contains(&v);
        if !pct(self.standing_at) {
            return Some(("standing_at".into(), "threshold"));
        }
        if !pct(self.relationship_at) {
            return Some(("relationship_at".into(), "threshold"));
        }
        for name in Weights::STANDING.iter().chain(Weights::RELATIONSHIP.iter()) {
            let w = self.weights.get(name);
            if !(0.0..=1000.0).contains(&w) {
                return Some((format!("w_{name}"), "weight"));
            }
        }
        let sum = |names: &[&str]| names.iter().map(|n| self.weights.get(n)).sum::<f64>();
        if sum(&Weights::STANDING) <= 0.0 {
            return Some(("w_gpa".into(), "weights_zero"));
        }
        if sum(&Weights::RELATIONSHIP) <= 0.0 {
            return Some(("w_contacts".into(), "weights_zero"));
        }
        if !(1.0..=60.0).contains(&self.credits_per_term) {
            return Some(("credits_per_term".into(), "credits"));
        }
        if self.schedule_hours > 24 * 30 {
            return Some(("schedule_hours".into(), "schedule"));
        }
        for code in CELLS {
            let c = self.cell(code);
            for (field, text, max) in [
                ("name_zh", &c.name_zh, 40),
                ("name_en", &c.name_en, 40),
                ("strategy_zh", &c.strategy_zh, 300),
                ("strategy_en", &c.strategy_en, 300),
            ] {
                let n = text.trim().chars().count();
                if n == 0 || n > max {
                    return Some((format!("{code}_{field}"), "text"));
                }
            }
        }
        None
    }

    pub fn validate(&self) -> AppResult<()> {
        match self.problem() {
            None => Ok(()),
            Some((field, why)) => Err(AppError::unprocessable(
                "invalid_value_settings",
                format!("the value matrix settings are not valid ({field})"),
            )
            .arg("why", why)
            .arg("field", field)),
        }
    }
}

pub async fn get(db: &impl ConnectionTrait) -> AppResult<ValueSettings> {
    let mut s: ValueSettings = crate::settings::get(db, KEY)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    s.cells = CELLS.iter().map(|c| s.cell(c)).collect();
    Ok(s)
}

/// Stores new settings and reclassifies the stored rows of the latest term under the new
/// thresholds (audited, one transaction).
pub async fn set<C: Writable>(db: &C, actor: i64, new: &ValueSettings) -> AppResult<()> {
    new.validate()?;
    let txn = write_txn(db).await?;
    let before = get(&txn).await?;
    crate::settings::put(&txn, KEY, json!(new).to_string()).await?;
    reclassify(&txn, new).await?;
    Entry::new(Some(actor), "analytics.value_settings", "setting")
        .id(KEY)
        .change(json!(before), json!(new))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Sets every stored row's cell (every term's, so that movement between terms compares like
/// with like) from its scores under `s`'s thresholds.
async fn reclassify(db: &impl ConnectionTrait, s: &ValueSettings) -> AppResult<()> {
    let stmt = super::sql::statement(
        db.get_database_backend(),
        "UPDATE value_cells SET cell = CASE \
           WHEN standing >= ? AND relationship >= ? THEN 'develop' \
           WHEN standing >= ? THEN 'engage' \
           WHEN relationship >= ? THEN 'support' \
           ELSE 'rescue' END",
        vec![
            s.standing_at.into(),
            s.relationship_at.into(),
            s.standing_at.into(),
            s.relationship_at.into(),
        ],
    );
    db.execute_raw(stmt).await?;
    // The analysis store's facts of the matrix follow the cells in the same transaction.
    super::facts::refresh_value_facts(db).await
}
