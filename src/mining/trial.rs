//! Trying a scoring formula before it is saved: the trial on the latest finished run's scored
//! students, the token that proves a passed trial, and saving a formula only with that proof.
//! Shared by the formula page and the API. No Rocket types here.

use super::formula::{self, Formula};
use super::service;
use crate::auth::token::Keys;
use crate::error::{AppError, AppResult};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use std::collections::BTreeMap;

/// A trial's result and, when it passed, the token that lets this user save this formula.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrialAnswer {
    #[serde(flatten)]
    pub trial: formula::Trial,
    /// The finished run it was tried on.
    pub run_id: i64,
    pub passes: bool,
    /// Why it does not pass (`no_students`, `flags_nobody`, `flags_everybody`).
    #[schema(value_type = Option<String>)]
    pub problem: Option<&'static str>,
    /// Send this back with the same formula to save it.
    pub trial_token: Option<String>,
}

/// A formula as the API sends it: weights by feature, a threshold and an optional department.
pub struct FormulaInput<'a> {
    pub name: &'a str,
    pub weights: &'a BTreeMap<String, f64>,
    pub threshold: f64,
    pub department_id: Option<i64>,
}

impl FormulaInput<'_> {
    /// The weights, or 422 `invalid_formula` (an unknown feature, a weight that is not a
    /// number).
    fn weights(&self) -> AppResult<BTreeMap<String, f64>> {
        Formula::parse_weights(&Formula::weights_text(self.weights))
    }

    fn formula(&self, weights: BTreeMap<String, f64>) -> Formula {
        Formula {
            name: self.name.to_string(),
            department_id: self.department_id,
            weights,
            threshold: self.threshold,
        }
    }
}

/// Tries `f` on the latest finished run's scored students; `None` when there is no run.
pub async fn try_formula(
    db: &impl ConnectionTrait,
    keys: &Keys,
    user: i64,
    f: &Formula,
) -> AppResult<Option<TrialAnswer>> {
    let Some(run) = service::latest_run(db).await? else {
        return Ok(None);
    };
    let trial = trial_on(db, run.id, f).await?;
    let problem = formula::trial_problem(&trial);
    Ok(Some(TrialAnswer {
        trial,
        run_id: run.id,
        passes: problem.is_none(),
        problem,
        trial_token: problem
            .is_none()
            .then(|| formula::trial_token(keys, user, run.id, f)),
    }))
}

/// The API's trial: the input parsed, then tried; 422 `no_run` before the first finished run.
pub async fn try_input(
    db: &impl ConnectionTrait,
    keys: &Keys,
    user: i64,
    input: &FormulaInput<'_>,
) -> AppResult<TrialAnswer> {
    let weights = input.weights()?;
    if !input.threshold.is_finite() {
        return Err(AppError::unprocessable(
            "invalid_formula",
            "threshold must be a number",
        ));
    }
    try_formula(db, keys, user, &input.formula(weights))
        .await?
        .ok_or_else(|| AppError::unprocessable("no_run", "no finished run to try the formula on"))
}

/// Refuses to save a formula without a passed trial of exactly it, by this user, on the latest
/// finished run (a newer run or any change to the formula needs a new trial).
pub async fn check_trial(
    db: &impl ConnectionTrait,
    keys: &Keys,
    user: i64,
    f: &Formula,
    token: &str,
) -> AppResult<()> {
    if token.trim().is_empty() {
        return Err(AppError::unprocessable(
            "trial_required",
            "try the formula first: it is saved only after a trial run that passes",
        ));
    }
    let latest = service::latest_run(db).await?;
    let fresh = latest.is_some_and(|run| {
        crate::auth::token::constant_time_eq(
            token.trim(),
            &formula::trial_token(keys, user, run.id, f),
        )
    });
    if fresh {
        Ok(())
    } else {
        Err(AppError::unprocessable(
            "trial_stale",
            "the formula or the latest run changed since its trial; try it again before saving",
        ))
    }
}

/// The API's save: the input parsed (a name and a numeric threshold required), the trial
/// token checked, then saved (active or not); the new formula's id.
pub async fn save_input(
    db: &DatabaseConnection,
    keys: &Keys,
    user: i64,
    input: &FormulaInput<'_>,
    is_active: bool,
    trial_token: &str,
) -> AppResult<i64> {
    let f = input.formula(input.weights()?);
    if f.name.trim().is_empty() || !f.threshold.is_finite() {
        return Err(AppError::unprocessable(
            "invalid_formula",
            "a name and a numeric threshold are required",
        ));
    }
    check_trial(db, keys, user, &f, trial_token).await?;
    formula::save(db, user, &f, is_active).await
}

/// The rows a formula trial runs on: a finished run's scored students.
async fn trial_on(
    db: &impl ConnectionTrait,
    run_id: i64,
    f: &Formula,
) -> AppResult<formula::Trial> {
    let rows = service::trial_rows(db, run_id).await?;
    let scored: Vec<formula::Scored<'_>> = rows
        .iter()
        .map(|(d, feats, flagged)| formula::Scored {
            department_id: *d,
            features: feats,
            model_flagged: *flagged,
        })
        .collect();
    Ok(formula::trial(f, &scored))
}
