//! The model code behind the mining module, on top of smartcore 0.7: datasets, logistic
//! regression and a bagged forest with probabilities and explanations, metrics, k-means, PCA.
//!
//! smartcore gives the building blocks (its L-BFGS logistic regression, its CART tree); this
//! module adds what the portal needs on top: standardisation, probabilities, class balance by a
//! deliberate decision threshold, a forest with per-tree bootstrap and feature sampling on both
//! cores, permutation importance, explanations, metrics and stratified cross-validation.
//! Nothing here panics on bad input: every public function validates and returns [`MlError`].

pub mod cluster;
pub mod compare;
pub mod evaluate;
mod forest;
mod linear;
mod metrics;
mod standardize;
mod stump;
pub mod table;

pub use compare::{Comparison, compare, compare_tuned};
pub(crate) use forest::parallel_map;
pub use metrics::{Confusion, Goal, Metrics, best_cut, best_threshold, metrics, roc_auc};
pub use standardize::Standardizer;

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// A numeric design matrix with a binary target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dataset {
    pub feature_names: Vec<String>,
    /// Rows × features.
    pub x: Vec<Vec<f64>>,
    /// `true` = the positive class (at risk / fail).
    pub y: Vec<bool>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.x.len()
    }

    pub fn features(&self) -> usize {
        self.feature_names.len()
    }

    /// The rows at `idx` (in that order), e.g. one fold of a cross-validation.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            feature_names: self.feature_names.clone(),
            x: idx.iter().map(|&i| self.x[i].clone()).collect(),
            y: idx.iter().map(|&i| self.y[i]).collect(),
        }
    }

    /// Checks that the data can be trained on: rows, equal lengths, finite values, both classes.
    pub fn validate(&self) -> Result<(), MlError> {
        check_matrix(&self.x, self.features())?;
        if self.y.len() != self.x.len() {
            return Err(MlError::Mismatch(format!(
                "{} rows but {} target values",
                self.x.len(),
                self.y.len()
            )));
        }
        let positives = self.y.iter().filter(|&&v| v).count();
        if positives == 0 || positives == self.y.len() {
            return Err(MlError::OneClass);
        }
        Ok(())
    }
}

/// Runs smartcore code, turning a panic inside it into an error.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, MlError>) -> Result<T, MlError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(MlError::Fit("smartcore stopped on this data".into())))
}

/// Checks a matrix: non-empty, every row `features` wide, every value finite.
pub(crate) fn check_matrix(x: &[Vec<f64>], features: usize) -> Result<(), MlError> {
    if x.is_empty() {
        return Err(MlError::Empty);
    }
    if features == 0 {
        return Err(MlError::NoFeatures);
    }
    for (i, row) in x.iter().enumerate() {
        if row.len() != features {
            return Err(MlError::Mismatch(format!(
                "row {} has {} values, expected {features}",
                i + 1,
                row.len()
            )));
        }
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(MlError::NotFinite {
                row: i + 1,
                column: j + 1,
            });
        }
    }
    Ok(())
}

/// The learned models.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Logistic,
    Forest,
    /// The forest's probability averaged with a one-split rule learned by accuracy.
    Blend,
}

impl ModelKind {
    pub const ALL: [ModelKind; 3] = [ModelKind::Logistic, ModelKind::Forest, ModelKind::Blend];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic",
            ModelKind::Forest => "forest",
            ModelKind::Blend => "blend",
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ModelKind {
    type Err = MlError;
    fn from_str(s: &str) -> Result<Self, MlError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logistic" => Ok(ModelKind::Logistic),
            "forest" => Ok(ModelKind::Forest),
            "blend" => Ok(ModelKind::Blend),
            other => Err(MlError::Invalid(format!(
                "unknown model {other:?}: use logistic, forest or blend"
            ))),
        }
    }
}

/// Training settings. The same seed gives the same model whatever `threads` is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub seed: u64,
    /// Trees in the forest.
    pub trees: usize,
    /// Decide at the training prevalence instead of at 0.5 ([`Model::threshold`]): the same
    /// decisions as weighting both classes equally, while `predict_proba` stays a calibrated
    /// P(positive).
    pub balance_classes: bool,
    /// Worker threads for the forest (0 or 1 = on the calling thread).
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 20261124,
            trees: 200,
            balance_classes: true,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

/// Why a model could not be trained or used.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum MlError {
    #[error("there is no data (no rows)")]
    Empty,
    #[error("there are no features (no columns to learn from)")]
    NoFeatures,
    #[error("the target has only one class; a model needs both positives and negatives")]
    OneClass,
    #[error("the value in row {row}, column {column} is missing or not a finite number")]
    NotFinite { row: usize, column: usize },
    #[error("mismatched sizes: {0}")]
    Mismatch(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the model could not be fitted: {0}")]
    Fit(String),
}

/// How [`Model::fit_each`] trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fitting {
    /// As [`Model::fit`]; `importances`: compute the forest's permutation importance (skipped
    /// in cross-validation, where nobody reads it).
    Plain { importances: bool },
    /// As [`Model::fit_tuned`] (importances included), the threshold chosen for this goal.
    Tuned(Goal),
    /// As `Plain` without importances, and with each model scored on predictions of the
    /// training rows by models that did not see them ([`Model::selection`]), so that a choice
    /// between models can be made inside the training rows (nested cross-validation).
    Select,
}

impl Fitting {
    fn importances(self) -> bool {
        match self {
            Fitting::Plain { importances } => importances,
            Fitting::Tuned(_) => true,
            Fitting::Select => false,
        }
    }
}

/// How a model's decision threshold was set.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// The training prevalence ([`TrainConfig::balance_classes`]) or 0.5.
    #[default]
    Fixed,
    /// The best cut ([`Tuning::goal`]) of the forest's out-of-bag vote fractions on the
    /// training rows.
    OutOfBag,
    /// The best cut of logistic regression's out-of-fold probabilities on the training rows
    /// (stratified [`TUNE_FOLDS`]-fold cross-validation inside the training rows).
    OutOfFold,
}

impl ThresholdSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdSource::Fixed => "fixed",
            ThresholdSource::OutOfBag => "out_of_bag",
            ThresholdSource::OutOfFold => "out_of_fold",
        }
    }
}

/// Folds of the cross-validation inside the training rows that chooses logistic regression's
/// L2 strength and tunes its threshold ([`Model::fit_tuned`]).
pub const TUNE_FOLDS: usize = 5;

/// How a tuned threshold was chosen: on which unseen training rows, with what F1 there.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct Tuning {
    pub source: ThresholdSource,
    /// What the threshold maximises on those rows (F1 in models stored before there was a
    /// choice).
    #[serde(default)]
    pub goal: Goal,
    pub threshold: f64,
    /// Training rows the threshold was chosen on (each scored by models that did not see it).
    pub rows: usize,
    /// F1 of the positive class on those rows at the chosen threshold.
    pub f1: f64,
    /// F1 there at the fixed threshold it replaced (the prevalence or 0.5).
    pub f1_fixed: f64,
}

/// A trained model; serialises to JSON (stored in the database with a run). Not `Clone`
/// (smartcore's trees are not); copy one with a serde round trip.
#[derive(Debug, Serialize, Deserialize)]
pub struct Model {
    feature_names: Vec<String>,
    /// Positive share of the training rows.
    prevalence: f64,
    /// The decision threshold chosen at training (see [`TrainConfig::balance_classes`] and
    /// [`Model::fit_tuned`]).
    threshold: f64,
    /// How `threshold` was chosen (absent in models stored before tuning existed: fixed).
    #[serde(default)]
    tuning: Tuning,
    /// Metrics at the decision threshold on predictions of the training rows by models that did
    /// not see them (see [`Fitting::Select`]); not stored.
    #[serde(skip)]
    selection: Option<Metrics>,
    inner: Inner,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Inner {
    Logistic(linear::Logistic),
    /// Shared with a blend fitted beside it ([`Model::fit_each`]); stored whole in each.
    Forest(Arc<forest::Forest>),
    Blend {
        forest: Arc<forest::Forest>,
        rule: stump::Stump,
    },
}

/// Metrics of the rows that have an unseen prediction, at `threshold`; `None` without both classes.
fn unseen_metrics(y: &[bool], unseen: &[Option<f64>], threshold: f64) -> Option<Metrics> {
    let (y, p): (Vec<bool>, Vec<f64>) = y
        .iter()
        .zip(unseen)
        .filter_map(|(&y, p)| p.map(|p| (y, p)))
        .unzip();
    let positives = y.iter().filter(|v| **v).count();
    if positives == 0 || positives == y.len() {
        return None;
    }
    let mut m = metrics(&y, &p, threshold);
    m.roc_auc = roc_auc(&y, &p);
    Some(m)
}

impl Model {
    /// Trains a model of `kind` on `data`.
    pub fn fit(kind: ModelKind, data: &Dataset, cfg: &TrainConfig) -> Result<Model, MlError> {
        Self::fit_one(kind, data, cfg, Fitting::Plain { importances: true })
    }

    /// Trains a model of `kind` on `data` and sets its decision threshold to the one that
    /// maximises F1 of the positive class on predictions of training rows by models that were
    /// not fitted on them: the forest's out-of-bag vote fractions (free: each tree leaves out
    /// part of the rows), logistic regression's out-of-fold probabilities from a stratified
    /// [`TUNE_FOLDS`]-fold cross-validation inside `data` (on the strength search's sample of a
    /// big table, about 5,000 rows). Nothing outside `data` is read, so a
    /// test set stays untouched. The model itself is the same as [`Model::fit`]'s. With fewer
    /// than two positive rows the fixed threshold stays. The blend averages the forest's
    /// out-of-bag votes with its rule's answer on the same rows: one cut learned from all the
    /// training rows, which can hardly overfit them.
    pub fn fit_tuned(kind: ModelKind, data: &Dataset, cfg: &TrainConfig) -> Result<Model, MlError> {
        Self::fit_one(kind, data, cfg, Fitting::Tuned(Goal::F1))
    }

    fn fit_one(
        kind: ModelKind,
        data: &Dataset,
        cfg: &TrainConfig,
        how: Fitting,
    ) -> Result<Model, MlError> {
        let (model, _) = Self::fit_each(&[kind], data, cfg, how)?
            .pop()
            .ok_or(MlError::Empty)?;
        Ok(model)
    }

    /// One model of each of `kinds` on `data`, as [`Model::fit`] or [`Model::fit_tuned`] would
    /// train them one by one, with each one's fitting time in milliseconds. The forest and the
    /// blend share one fitted forest (the same seed grows the same trees), so it is grown once
    /// however many of them are asked for; the time given to each of them includes the forest's,
    /// what it would cost alone.
    pub fn fit_each(
        kinds: &[ModelKind],
        data: &Dataset,
        cfg: &TrainConfig,
        how: Fitting,
    ) -> Result<Vec<(Model, f64)>, MlError> {
        data.validate()?;
        let goal = match how {
            Fitting::Tuned(goal) => Some(goal),
            Fitting::Plain { .. } | Fitting::Select => None,
        };
        let votes = goal.is_some() || how == Fitting::Select;
        let mut grown: Option<(Arc<forest::Forest>, Vec<Option<f64>>, f64)> = None;
        let mut out = Vec::with_capacity(kinds.len());
        for &kind in kinds {
            let started = Instant::now();
            // the shared forest's growing time: counted in every model built on it, and taken
            // out of this model's own time when it was grown here
            let (mut forest_ms, mut grown_here) = (0.0, 0.0);
            let (inner, unseen, source) = match kind {
                ModelKind::Logistic => {
                    let (m, oof) = linear::Logistic::fit_cv(data, cfg)?;
                    (Inner::Logistic(m), oof, ThresholdSource::OutOfFold)
                }
                ModelKind::Forest | ModelKind::Blend => {
                    let (forest, oob, ms) = match &grown {
                        Some(g) => g.clone(),
                        None => {
                            let work = forest::OobWork {
                                importances: how.importances(),
                                votes,
                            };
                            let (f, oob) = forest::Forest::fit_oob(data, cfg, work)?;
                            let ms = started.elapsed().as_secs_f64() * 1e3;
                            grown_here = ms;
                            grown.insert((Arc::new(f), oob, ms)).clone()
                        }
                    };
                    forest_ms = ms;
                    if kind == ModelKind::Blend {
                        let rule = stump::Stump::fit(data);
                        let said = rule.predict_proba(&data.x);
                        let unseen = oob
                            .into_iter()
                            .zip(said)
                            .map(|(votes, r)| votes.map(|v| (v + r) / 2.0))
                            .collect();
                        (
                            Inner::Blend { forest, rule },
                            unseen,
                            ThresholdSource::OutOfBag,
                        )
                    } else {
                        (Inner::Forest(forest), oob, ThresholdSource::OutOfBag)
                    }
                }
            };
            let mut model = Self::wrap(data, cfg, inner);
            if let Some(goal) = goal {
                model.tune(data, &unseen, source, goal);
            }
            if votes {
                model.selection = unseen_metrics(&data.y, &unseen, model.threshold);
            }
            let ms = started.elapsed().as_secs_f64() * 1e3 - grown_here + forest_ms;
            out.push((model, ms));
        }
        Ok(out)
    }

    /// Sets the threshold to the cut of `unseen` (each training row's probability from models
    /// that did not see it; `None` where there is none) best for `goal`, unless fewer than two
    /// of the rows with one are positive.
    fn tune(
        &mut self,
        data: &Dataset,
        unseen: &[Option<f64>],
        source: ThresholdSource,
        goal: Goal,
    ) {
        let (y, p): (Vec<bool>, Vec<f64>) = data
            .y
            .iter()
            .zip(unseen)
            .filter_map(|(&y, p)| p.map(|p| (y, p)))
            .unzip();
        if y.iter().filter(|v| **v).count() < 2 {
            return;
        }
        let t = best_cut(&y, &p, goal);
        self.tuning = Tuning {
            source,
            goal,
            threshold: t,
            rows: y.len(),
            f1: metrics(&y, &p, t).f1,
            f1_fixed: metrics(&y, &p, self.threshold).f1,
        };
        self.threshold = t;
    }

    fn wrap(data: &Dataset, cfg: &TrainConfig, inner: Inner) -> Model {
        let prevalence = data.y.iter().filter(|&&v| v).count() as f64 / data.rows() as f64;
        let threshold = if cfg.balance_classes { prevalence } else { 0.5 };
        Model {
            feature_names: data.feature_names.clone(),
            prevalence,
            threshold,
            tuning: Tuning {
                threshold,
                ..Tuning::default()
            },
            selection: None,
            inner,
        }
    }

    /// How the model scored on training rows it was not fitted on, when fitted with
    /// [`Fitting::Select`] or [`Fitting::Tuned`] (F1 at its threshold, ROC AUC).
    pub fn selection(&self) -> Option<Metrics> {
        self.selection
    }

    /// How the decision threshold was chosen.
    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    pub fn kind(&self) -> ModelKind {
        match self.inner {
            Inner::Logistic(_) => ModelKind::Logistic,
            Inner::Forest(_) => ModelKind::Forest,
            Inner::Blend { .. } => ModelKind::Blend,
        }
    }

    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The decision threshold on `predict_proba` chosen at training: the training prevalence
    /// with `balance_classes`, else 0.5.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Positive share of the training rows.
    pub fn prevalence(&self) -> f64 {
        self.prevalence
    }

    /// P(positive) in [0, 1] for each row. Rows of the wrong width or with non-finite values
    /// get the training prevalence (never a panic); validate input with [`Model::check`].
    pub fn predict_proba(&self, x: &[Vec<f64>]) -> Vec<f64> {
        let p = self.feature_names.len();
        let ok: Vec<bool> = x
            .iter()
            .map(|r| r.len() == p && r.iter().all(|v| v.is_finite()))
            .collect();
        let clean: Vec<Vec<f64>> = x
            .iter()
            .zip(&ok)
            .map(|(r, &good)| if good { r.clone() } else { vec![0.0; p] })
            .collect();
        self.raw_proba(&clean)
            .into_iter()
            .zip(ok)
            .map(|(v, good)| {
                if good {
                    v.clamp(0.0, 1.0)
                } else {
                    self.prevalence
                }
            })
            .collect()
    }

    /// P(positive) of rows known to be clean.
    fn raw_proba(&self, x: &[Vec<f64>]) -> Vec<f64> {
        match &self.inner {
            Inner::Logistic(m) => m.predict_proba(x),
            Inner::Forest(m) => m.predict_proba(x),
            Inner::Blend { forest, rule } => forest
                .predict_proba(x)
                .into_iter()
                .zip(rule.predict_proba(x))
                .map(|(f, r)| (f + r) / 2.0)
                .collect(),
        }
    }

    /// Logistic regression's L2 strength, chosen by cross-validated log-loss inside the
    /// training rows.
    pub fn alpha(&self) -> Option<f64> {
        match &self.inner {
            Inner::Logistic(m) => Some(m.alpha()),
            _ => None,
        }
    }

    /// The blend's rule: the feature and its cut.
    pub fn rule(&self) -> Option<(usize, f64)> {
        match &self.inner {
            Inner::Blend { rule, .. } => rule.split(),
            _ => None,
        }
    }

    /// Checks rows before scoring: right width, finite values.
    pub fn check(&self, x: &[Vec<f64>]) -> Result<(), MlError> {
        check_matrix(x, self.feature_names.len())
    }

    /// Signed contribution of each feature to this row's risk relative to `reference` (e.g. the
    /// feature means), sorted by |contribution|, largest first. Logistic: the change in log-odds,
    /// coefficient × (row − reference) on the standardised scale. Forest and blend: P(row) −
    /// P(row with that feature set to the reference value). Positive = raises the risk.
    pub fn explain(&self, row: &[f64], reference: &[f64]) -> Vec<(usize, f64)> {
        let p = self.feature_names.len();
        if row.len() != p
            || reference.len() != p
            || row.iter().chain(reference).any(|v| !v.is_finite())
        {
            return Vec::new();
        }
        let mut out: Vec<(usize, f64)> = match &self.inner {
            Inner::Logistic(m) => m.explain(row, reference),
            Inner::Forest(_) | Inner::Blend { .. } => {
                let mut rows = vec![row.to_vec()];
                for j in 0..p {
                    let mut r = row.to_vec();
                    r[j] = reference[j];
                    rows.push(r);
                }
                let probs = self.raw_proba(&rows);
                (0..p).map(|j| (j, probs[0] - probs[j + 1])).collect()
            }
        };
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        out
    }

    /// [`Model::explain`] for many rows at once (one batched scoring per 1,000 rows: much
    /// faster for the forest than row by row). Rows that cannot be explained get an empty list.
    pub fn explain_many(&self, rows: &[Vec<f64>], reference: &[f64]) -> Vec<Vec<(usize, f64)>> {
        let p = self.feature_names.len();
        if let Inner::Logistic(_) = self.inner {
            return rows.iter().map(|r| self.explain(r, reference)).collect();
        }
        let ok = |r: &[f64]| r.len() == p && r.iter().all(|v| v.is_finite());
        if !ok(reference) {
            return vec![Vec::new(); rows.len()];
        }
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(1000) {
            let mut batch = Vec::with_capacity(chunk.len() * (p + 1));
            for row in chunk.iter().filter(|r| ok(r)) {
                batch.push(row.clone());
                for j in 0..p {
                    let mut r = row.clone();
                    r[j] = reference[j];
                    batch.push(r);
                }
            }
            let probs = self.raw_proba(&batch);
            let mut at = 0;
            for row in chunk {
                if !ok(row) {
                    out.push(Vec::new());
                    continue;
                }
                let base = probs[at];
                let mut e: Vec<(usize, f64)> =
                    (0..p).map(|j| (j, base - probs[at + 1 + j])).collect();
                e.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
                out.push(e);
                at += p + 1;
            }
        }
        out
    }

    /// One value per feature, larger = more important. Logistic: |standardised coefficient|;
    /// forest: out-of-bag permutation importance (mean drop in accuracy; can be slightly
    /// negative for useless features); blend: its forest's, with its rule's feature raised to
    /// the largest.
    pub fn importances(&self) -> Vec<f64> {
        match &self.inner {
            Inner::Logistic(m) => m.importances(),
            Inner::Forest(m) => m.importances(),
            Inner::Blend { forest, rule } => {
                let mut imp = forest.importances();
                let top = imp.iter().copied().fold(0.0, f64::max);
                if let Some((j, _)) = rule.split()
                    && let Some(v) = imp.get_mut(j)
                {
                    *v = v.max(top);
                }
                imp
            }
        }
    }
}
