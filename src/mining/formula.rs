//! The transparent scoring formula: `score = Σ weight × feature` over the model's features (raw
//! values, as shown to staff), flagged when `score ≥ threshold`, optionally for one department.
//! Its trial run applies it to the students scored by the latest finished run and compares it
//! with the model's levels, before anything is saved (a trial never writes).
//!
//! Saved formulas are used: at most one is active per scope (one department, or all), and every
//! mining run scores each student with their department's active formula, else the
//! all-department one, storing the score and whether it flags them on the student's flag, and
//! the agreement with the model in the run's metrics (`apply_active`).

use super::features::FEATURES;
use super::reasons::FlagDetail;
use crate::audit::Entry;
use crate::db::write_txn;
use crate::entity::{departments, risk_flags, scoring_formulas, students};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    ModelTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct Formula {
    pub name: String,
    pub department_id: Option<i64>,
    pub weights: BTreeMap<String, f64>,
    pub threshold: f64,
}

impl Formula {
    /// Parses `feature = weight` lines (or `feature: weight`); unknown features are refused
    /// (422 `invalid_formula`, its `why` and line for the translated message).
    pub fn parse_weights(text: &str) -> AppResult<BTreeMap<String, f64>> {
        let bad = |why: &'static str, line: usize, message: String| {
            AppError::unprocessable("invalid_formula", message)
                .arg("why", why)
                .arg("line", line)
        };
        let mut out = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', ':']) else {
                return Err(bad(
                    "syntax",
                    n + 1,
                    format!("line {}: expected feature = weight", n + 1),
                ));
            };
            let k = k.trim();
            if !FEATURES.contains(&k) {
                return Err(bad(
                    "unknown_feature",
                    n + 1,
                    format!("line {}: unknown feature {k:?}", n + 1),
                )
                .arg("feature", k));
            }
            let w: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite())
                .ok_or_else(|| {
                    bad(
                        "not_a_number",
                        n + 1,
                        format!("line {}: {:?} is not a number", n + 1, v.trim()),
                    )
                    .arg("value", v.trim())
                })?;
            out.insert(k.to_string(), w);
        }
        if out.is_empty() {
            return Err(bad("empty", 0, "give at least one weight".into()));
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

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Trial {
    pub students: usize,
    pub flagged: usize,
    pub flagged_pct: f64,
    /// (lower bound of the bin, count), ten equal bins from the lowest to the highest score.
    #[schema(value_type = Vec<Vec<f64>>)]
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

/// Why a trial does not pass (a `mining.trial_fail.*` message code), or `None` when it does:
/// it must score someone, and flag some students but not every one of them.
pub fn trial_problem(t: &Trial) -> Option<&'static str> {
    if t.students == 0 {
        Some("no_students")
    } else if t.flagged == 0 {
        Some("flags_nobody")
    } else if t.flagged == t.students {
        Some("flags_everybody")
    } else {
        None
    }
}

/// The proof that `user` tried exactly this formula on run `run` and the trial passed; saving
/// asks for it, so a formula is stored only after a trial of itself on the latest run.
pub fn trial_token(keys: &crate::auth::token::Keys, user: i64, run: i64, f: &Formula) -> String {
    let scope = f
        .department_id
        .map_or_else(|| "all".to_string(), |d| d.to_string());
    let what = format!(
        "{user}|{run}|{scope}|{}|{}",
        Formula::weights_text(&f.weights),
        f.threshold
    );
    keys.mac("formula-trial", &what)
}

fn scope_of(department_id: Option<i64>) -> Condition {
    Condition::all().add(match department_id {
        Some(d) => scoring_formulas::Column::DepartmentId.eq(d),
        None => scoring_formulas::Column::DepartmentId.is_null(),
    })
}

/// Switches off the active formulas of a scope (all but `keep`), inside `txn`.
async fn deactivate_scope(
    txn: &impl ConnectionTrait,
    department_id: Option<i64>,
    keep: Option<i64>,
) -> AppResult<()> {
    let mut q = scoring_formulas::Entity::update_many()
        .col_expr(scoring_formulas::Column::IsActive, Expr::value(false))
        .filter(scope_of(department_id))
        .filter(scoring_formulas::Column::IsActive.eq(true));
    if let Some(k) = keep {
        q = q.filter(scoring_formulas::Column::Id.ne(k));
    }
    q.exec(txn).await?;
    Ok(())
}

/// Saves a formula, audited, one transaction. When `active`, it becomes the active formula of
/// its scope (its department, or all) and the previously active one there is switched off.
pub async fn save(
    db: &DatabaseConnection,
    actor: i64,
    f: &Formula,
    active: bool,
) -> AppResult<i64> {
    if f.name.trim().is_empty() || !f.threshold.is_finite() {
        return Err(AppError::unprocessable(
            "invalid_formula",
            "a name and a numeric threshold are required",
        )
        .arg("why", "name_threshold"));
    }
    if f.weights.is_empty() || f.weights.keys().any(|k| !FEATURES.contains(&k.as_str())) {
        return Err(AppError::unprocessable(
            "invalid_formula",
            "weights are over the model's features",
        )
        .arg("why", "features"));
    }
    let txn = write_txn(db).await?;
    if let Some(d) = f.department_id
        && departments::Entity::find_by_id(d).count(&txn).await? == 0
    {
        return Err(AppError::unprocessable(
            "bad_department",
            format!("there is no department {d}"),
        ));
    }
    if active {
        deactivate_scope(&txn, f.department_id, None).await?;
    }
    let row = scoring_formulas::ActiveModel {
        name: Set(f.name.trim().to_string()),
        department_id: Set(f.department_id),
        weights: Set(json!(f.weights).to_string()),
        threshold: Set(f.threshold),
        is_active: Set(active),
        created_by: Set(Some(actor)),
        created_at: Set(Utc::now().fixed_offset()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(actor), "mining.formula_save", "scoring_formula")
        .id(row.id)
        .detail(
            json!({"name": f.name, "department_id": f.department_id, "weights": f.weights,
            "threshold": f.threshold, "is_active": active}),
        )
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(row.id)
}

/// Activates or deactivates a saved formula, audited, one transaction; activating one switches
/// off the other active formula of its scope.
pub async fn set_active(
    db: &DatabaseConnection,
    actor: i64,
    id: i64,
    active: bool,
) -> AppResult<()> {
    let txn = write_txn(db).await?;
    let row = scoring_formulas::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = row.is_active;
    if active {
        deactivate_scope(&txn, row.department_id, Some(id)).await?;
    }
    let mut am: scoring_formulas::ActiveModel = row.into();
    am.is_active = Set(active);
    am.update(&txn).await?;
    Entry::new(Some(actor), "mining.formula_active", "scoring_formula")
        .id(id)
        .change(json!(before), json!(active))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes a saved formula, audited, one transaction. Runs that used it keep their stored
/// scores.
pub async fn delete(db: &DatabaseConnection, actor: i64, id: i64) -> AppResult<()> {
    let txn = write_txn(db).await?;
    let row = scoring_formulas::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let detail = json!({"name": row.name, "department_id": row.department_id, "weights": row.weights,
        "threshold": row.threshold, "is_active": row.is_active});
    row.delete(&txn).await?;
    Entry::new(Some(actor), "mining.formula_delete", "scoring_formula")
        .id(id)
        .detail(detail)
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// A saved formula as listed: its scope, who saved it and when, and whether runs use it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedFormula {
    pub id: i64,
    pub name: String,
    pub department_id: Option<i64>,
    pub weights: BTreeMap<String, f64>,
    pub threshold: f64,
    pub is_active: bool,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    pub created_at: String,
}

/// The saved formulas, active first, then newest first.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<SavedFormula>> {
    let rows = scoring_formulas::Entity::find()
        .order_by_desc(scoring_formulas::Column::IsActive)
        .order_by_desc(scoring_formulas::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.created_by).collect();
    let names: HashMap<i64, String> = crate::auth::service::display_names(db, ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| SavedFormula {
            id: r.id,
            weights: serde_json::from_str(&r.weights).unwrap_or_default(),
            created_by_name: r.created_by.and_then(|u| names.get(&u).cloned()),
            name: r.name,
            department_id: r.department_id,
            threshold: r.threshold,
            is_active: r.is_active,
            created_by: r.created_by,
            created_at: r.created_at.format("%Y-%m-%d %H:%M").to_string(),
        })
        .collect())
}

/// One flag as a run's formula step sees it.
#[derive(Debug, Clone)]
pub struct FlagInput {
    pub flag_id: i64,
    pub department_id: i64,
    pub features: Vec<f64>,
    /// Whether the model flagged the student (level medium or high).
    pub model_flagged: bool,
}

/// The stored result for one flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub flag_id: i64,
    pub formula_id: i64,
    pub score: f64,
    pub flagged: bool,
}

/// Scores each flag with its department's formula, else the all-department one (the newest
/// of a scope if several are given); students no formula covers are left out. Returns the
/// results and the agreement with the model (counts), as stored in the run's metrics.
pub fn apply(formulas: &[(i64, Formula)], rows: &[FlagInput]) -> (Vec<Applied>, Value) {
    let mut by_scope: HashMap<Option<i64>, (i64, &Formula)> = HashMap::new();
    for (id, f) in formulas {
        let e = by_scope.entry(f.department_id).or_insert((*id, f));
        if *id > e.0 {
            *e = (*id, f);
        }
    }
    let mut out = Vec::new();
    let (mut both, mut formula_only, mut model_only, mut neither) =
        (0usize, 0usize, 0usize, 0usize);
    for r in rows {
        let Some((fid, f)) = by_scope
            .get(&Some(r.department_id))
            .or_else(|| by_scope.get(&None))
        else {
            continue;
        };
        let score = (f.score(&r.features) * 1000.0).round() / 1000.0;
        let flagged = score >= f.threshold;
        match (flagged, r.model_flagged) {
            (true, true) => both += 1,
            (true, false) => formula_only += 1,
            (false, true) => model_only += 1,
            (false, false) => neither += 1,
        }
        out.push(Applied {
            flag_id: r.flag_id,
            formula_id: *fid,
            score,
            flagged,
        });
    }
    let n = out.len();
    let pct = |k: usize| {
        if n == 0 {
            0.0
        } else {
            (k as f64 * 1000.0 / n as f64).round() / 10.0
        }
    };
    let mut used: Vec<(i64, &Formula)> = by_scope.into_values().collect();
    used.sort_by_key(|(id, _)| *id);
    let summary = json!({
        "formulas": used.iter().map(|(id, f)| json!({"id": id, "name": f.name,
            "department_id": f.department_id, "threshold": f.threshold})).collect::<Vec<_>>(),
        "scored": n,
        "not_scored": rows.len() - n,
        "flagged": both + formula_only,
        "both": both,
        "formula_only": formula_only,
        "model_only": model_only,
        "neither": neither,
        "agreement_pct": pct(both + neither),
    });
    (out, summary)
}

/// How many flags one UPDATE statement sets (three CASE expressions over their ids).
const UPDATE_CHUNK: usize = 100;

/// A run's formula step, inside the run's saving transaction after its flags are inserted:
/// scores every flag of `run_id` with the active formulas (see `apply`), stores the results on
/// the flags and the agreement under `metrics["formula"]` (null when no formula is active).
pub async fn apply_active(
    txn: &impl ConnectionTrait,
    run_id: i64,
    metrics: &mut Value,
) -> AppResult<()> {
    let active: Vec<(i64, Formula)> = scoring_formulas::Entity::find()
        .filter(scoring_formulas::Column::IsActive.eq(true))
        .order_by_asc(scoring_formulas::Column::Id)
        .all(txn)
        .await?
        .iter()
        .map(|m| (m.id, from_model(m)))
        .collect();
    let summary = if active.is_empty() {
        Value::Null
    } else {
        let rows: Vec<(i64, i64, String, String)> = risk_flags::Entity::find()
            .inner_join(students::Entity)
            .select_only()
            .column(risk_flags::Column::Id)
            .column(students::Column::DepartmentId)
            .column(risk_flags::Column::Reasons)
            .column(risk_flags::Column::Level)
            .filter(risk_flags::Column::RunId.eq(run_id))
            .into_tuple()
            .all(txn)
            .await?;
        let (applied, summary) = tokio::task::spawn_blocking(move || {
            let inputs: Vec<FlagInput> = rows
                .into_iter()
                .map(|(flag_id, department_id, reasons, level)| FlagInput {
                    flag_id,
                    department_id,
                    features: serde_json::from_str::<FlagDetail>(&reasons)
                        .unwrap_or_default()
                        .features,
                    model_flagged: level != "low",
                })
                .collect();
            apply(&active, &inputs)
        })
        .await
        .map_err(|e| AppError::internal(format!("formula scoring stopped: {e}")))?;
        for chunk in applied.chunks(UPDATE_CHUNK) {
            let (mut fid, mut score, mut flagged) = (
                CaseStatement::new(),
                CaseStatement::new(),
                CaseStatement::new(),
            );
            for a in chunk {
                let is = || risk_flags::Column::Id.eq(a.flag_id);
                fid = fid.case(is(), a.formula_id);
                score = score.case(is(), a.score);
                flagged = flagged.case(is(), a.flagged);
            }
            risk_flags::Entity::update_many()
                .col_expr(risk_flags::Column::FormulaId, fid.into())
                .col_expr(risk_flags::Column::FormulaScore, score.into())
                .col_expr(risk_flags::Column::FormulaFlagged, flagged.into())
                .filter(risk_flags::Column::Id.is_in(chunk.iter().map(|a| a.flag_id)))
                .exec(txn)
                .await?;
        }
        summary
    };
    if let Some(m) = metrics.as_object_mut() {
        m.insert("formula".into(), summary);
    }
    Ok(())
}

pub fn from_model(m: &scoring_formulas::Model) -> Formula {
    Formula {
        name: m.name.clone(),
        department_id: m.department_id,
        weights: serde_json::from_str(&m.weights).unwrap_or_default(),
        threshold: m.threshold,
    }
}
