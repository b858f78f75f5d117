//! The transparent scoring formula: `score = Σ weight × feature` over the model's features (raw
//! values, as shown to staff), flagged when `score ≥ threshold`, optionally for one department.
//! Its trial run applies it to the students scored by the latest finished run and compares it
//! with the model's levels, before anything is saved.

use super::features::FEATURES;
use crate::audit::Entry;
use crate::db::write_txn;
use crate::entity::scoring_formulas;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Formula {
    pub name: String,
    pub department_id: Option<i64>,
    pub weights: BTreeMap<String, f64>,
    pub threshold: f64,
}

impl Formula {
    /// Parses `feature = weight` lines (or `feature: weight`); unknown features are refused.
    pub fn parse_weights(text: &str) -> Result<BTreeMap<String, f64>, String> {
        let mut out = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', ':']) else {
                return Err(format!("line {}: expected feature = weight", n + 1));
            };
            let k = k.trim();
            if !FEATURES.contains(&k) {
                return Err(format!("line {}: unknown feature {k:?}", n + 1));
            }
            let w: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite())
                .ok_or_else(|| format!("line {}: {:?} is not a number", n + 1, v.trim()))?;
            out.insert(k.to_string(), w);
        }
        if out.is_empty() {
            return Err("give at least one weight".into());
        }
        Ok(out)
    }

    pub fn weights_text(weights: &BTreeMap<String, f64>) -> String {
        weights
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn score(&self, row: &[f64]) -> f64 {
        FEATURES
            .iter()
            .zip(row)
            .map(|(name, v)| self.weights.get(*name).copied().unwrap_or(0.0) * v)
            .sum()
    }
}

/// One scored student as the trial sees them.
pub struct Scored<'a> {
    pub department_id: i64,
    pub features: &'a [f64],
    /// Whether the model flagged them (level medium or high).
    pub model_flagged: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trial {
    pub students: usize,
    pub flagged: usize,
    pub flagged_pct: f64,
    /// (lower bound of the bin, count), ten equal bins from the lowest to the highest score.
    pub histogram: Vec<(f64, usize)>,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub both: usize,
    pub formula_only: usize,
    pub model_only: usize,
    pub neither: usize,
    /// Share of students on whom formula and model agree, in percent.
    pub agreement_pct: f64,
}

pub fn trial(f: &Formula, rows: &[Scored<'_>]) -> Trial {
    let rows: Vec<&Scored<'_>> = rows
        .iter()
        .filter(|r| f.department_id.is_none_or(|d| d == r.department_id))
        .collect();
    let scores: Vec<f64> = rows.iter().map(|r| f.score(r.features)).collect();
    let n = scores.len();
    let (mut both, mut formula_only, mut model_only, mut neither) = (0, 0, 0, 0);
    for (r, s) in rows.iter().zip(&scores) {
        match (*s >= f.threshold, r.model_flagged) {
            (true, true) => both += 1,
            (true, false) => formula_only += 1,
            (false, true) => model_only += 1,
            (false, false) => neither += 1,
        }
    }
    let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (min, max) = if n == 0 { (0.0, 0.0) } else { (min, max) };
    let width = ((max - min) / 10.0).max(f64::EPSILON);
    let mut bins = vec![0usize; 10];
    for s in &scores {
        let b = (((s - min) / width) as usize).min(9);
        bins[b] += 1;
    }
    let pct = |k: usize| {
        if n == 0 {
            0.0
        } else {
            (k as f64 * 1000.0 / n as f64).round() / 10.0
        }
    };
    Trial {
        students: n,
        flagged: both + formula_only,
        flagged_pct: pct(both + formula_only),
        histogram: bins
            .into_iter()
            .enumerate()
            .map(|(i, c)| (min + width * i as f64, c))
            .collect(),
        min,
        max,
        mean: if n == 0 {
            0.0
        } else {
            scores.iter().sum::<f64>() / n as f64
        },
        both,
        formula_only,
        model_only,
        neither,
        agreement_pct: pct(both + neither),
    }
}

/// Saves a formula as the active one (for its department, or for all), audited, one
/// transaction: the previously active formula of the same scope is switched off.
pub async fn save(db: &DatabaseConnection, actor: i64, f: &Formula) -> AppResult<i64> {
    if f.name.trim().is_empty() || !f.threshold.is_finite() {
        return Err(AppError::unprocessable(
            "invalid_formula",
            "a name and a numeric threshold are required",
        ));
    }
    let txn = write_txn(db).await?;
    let scope = match f.department_id {
        Some(d) => scoring_formulas::Column::DepartmentId.eq(d),
        None => scoring_formulas::Column::DepartmentId.is_null(),
    };
    scoring_formulas::Entity::update_many()
        .col_expr(
            scoring_formulas::Column::IsActive,
            sea_orm::sea_query::Expr::value(false),
        )
        .filter(scope)
        .exec(&txn)
        .await?;
    let row = scoring_formulas::ActiveModel {
        name: Set(f.name.trim().to_string()),
        department_id: Set(f.department_id),
        weights: Set(json!(f.weights).to_string()),
        threshold: Set(f.threshold),
        is_active: Set(true),
        created_by: Set(Some(actor)),
        created_at: Set(Utc::now().fixed_offset()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(actor), "mining.formula_save", "scoring_formula")
        .id(row.id)
        .detail(json!({"name": f.name, "department_id": f.department_id, "weights": f.weights, "threshold": f.threshold}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(row.id)
}

pub fn from_model(m: &scoring_formulas::Model) -> Formula {
    Formula {
        name: m.name.clone(),
        department_id: m.department_id,
        weights: serde_json::from_str(&m.weights).unwrap_or_default(),
        threshold: m.threshold,
    }
}
