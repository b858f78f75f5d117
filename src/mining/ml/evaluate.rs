//! Repeated stratified k-fold cross-validation of the models and the naive baselines, behind
//! `srm mine evaluate`.

use super::compare::{better, majority_proba};
use super::forest::parallel_map;
use super::metrics::{Metrics, metrics};
use super::table::{Spec, Table, encode};
use super::{Dataset, Fitting, Goal, MlError, Model, ModelKind, TrainConfig};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// Which model(s) to cross-validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// All three; report the best by mean F1 of the positive class, ties by mean ROC AUC.
    Auto,
    Only(ModelKind),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: String,
    pub positive: Spec,
    pub drop: Vec<String>,
    pub folds: usize,
    pub repeats: usize,
    pub model: Choice,
    /// The naive predictor: this column with the same SPEC; None = the majority class.
    pub baseline_column: Option<String>,
    /// Each fold's models decide at the threshold best for this goal on their own training
    /// rows (out-of-bag or out-of-fold predictions, see [`Model::fit_tuned`]); `None`: at the
    /// fixed threshold of [`TrainConfig::balance_classes`].
    pub tune: Option<Goal>,
    pub train: TrainConfig,
}

/// Mean and standard deviation over the repeats of one candidate's metrics (each repeat's
/// metrics computed on its pooled out-of-fold predictions).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: f64,
    pub accuracy_std: f64,
    pub precision_std: f64,
    pub recall_std: f64,
    pub f1_std: f64,
    pub roc_auc_std: f64,
    /// Mean milliseconds per fit and to score one test fold (models only).
    pub fit_ms: Option<f64>,
    pub score_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub rows: usize,
    pub positives: usize,
    pub features: usize,
    pub folds: usize,
    pub repeats: usize,
    /// The chosen model.
    pub model: ModelKind,
    /// Models first, then the baselines.
    pub candidates: Vec<Summary>,
    pub notes: Vec<String>,
    pub seconds: f64,
}

impl Report {
    pub fn chosen(&self) -> Option<&Summary> {
        self.candidates
            .iter()
            .find(|c| c.name == self.model.as_str())
    }

    /// The naive baseline's summary (the last candidate).
    pub fn baseline(&self) -> Option<&Summary> {
        self.candidates.last()
    }
}

/// Fold number of each row: each class shuffled and dealt round-robin, so every fold has the
/// class balance of the whole.
pub fn stratified_folds(y: &[bool], k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut fold = vec![0; y.len()];
    let mut next = 0;
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(rng);
        for i in idx {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

/// Reads the CSV and cross-validates.
pub fn evaluate_file(
    path: &std::path::Path,
    sep: Option<u8>,
    opts: &Options,
) -> Result<Report, MlError> {
    let table = Table::read(path, sep)?;
    evaluate_table(&table, opts)
}

pub fn evaluate_table(table: &Table, opts: &Options) -> Result<Report, MlError> {
    let started = Instant::now();
    let enc = encode(table, &opts.target, &opts.positive, &opts.drop)?;
    let data = &enc.data;
    data.validate()?;
    let n = data.rows();
    let positives = data.y.iter().filter(|&&v| v).count();
    let k = opts.folds;
    if k < 2 || k > positives.min(n - positives) {
        return Err(MlError::Invalid(format!(
            "--folds {k}: needs 2 to {} (each fold must hold both classes)",
            positives.min(n - positives)
        )));
    }
    if opts.repeats == 0 {
        return Err(MlError::Invalid("--repeats must be at least 1".into()));
    }
    let naive: Option<(String, Vec<f64>)> = match &opts.baseline_column {
        None => None,
        Some(col) => {
            let c = table.column(col)?;
            let mut scores = Vec::with_capacity(n);
            for &r in &enc.source_rows {
                let cell = &table.rows[r][c];
                let v = opts.positive.test(cell).ok_or_else(|| {
                    MlError::Invalid(format!(
                        "line {}: baseline column {col:?} is {cell:?}, which \"{}\" cannot judge",
                        r + 2,
                        opts.positive
                    ))
                })?;
                scores.push(if v { 1.0 } else { 0.0 });
            }
            Some((format!("naive: {col} {}", opts.positive), scores))
        }
    };
    let kinds: Vec<ModelKind> = match opts.model {
        Choice::Auto => vec![ModelKind::Logistic, ModelKind::Forest, ModelKind::Blend],
        Choice::Only(k) => vec![k],
    };
    let mut names: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    names.push("majority".into());
    if let Some((name, _)) = &naive {
        names.push(name.clone());
    }
    // per candidate, per repeat: metrics on the pooled out-of-fold predictions
    let mut per_repeat: Vec<Vec<Metrics>> = vec![Vec::new(); names.len()];
    let mut fit_ms = vec![0.0; kinds.len()];
    let mut score_ms = vec![0.0; kinds.len()];
    let threads = opts.train.threads.max(1);
    let cfg = TrainConfig {
        threads: 1,
        ..opts.train.clone()
    };
    let how = match opts.tune {
        Some(goal) => Fitting::Tuned(goal),
        None => Fitting::Plain { importances: false },
    };
    for r in 0..opts.repeats {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.train.seed.wrapping_add(r as u64));
        let fold = stratified_folds(&data.y, k, &mut rng);
        let results = parallel_map(k, threads, |f| run_fold(data, &fold, f, &kinds, &cfg, how));
        if results.len() != k {
            return Err(MlError::Fit("a cross-validation worker stopped".into()));
        }
        // pooled out-of-fold scores and thresholds per candidate
        let mut oof = vec![vec![0.0; n]; kinds.len()];
        let mut decided = vec![vec![0.0; n]; kinds.len()];
        let mut majority = vec![0.0; n];
        for (f, res) in results.into_iter().enumerate() {
            let res = res?;
            let test: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
            for (m, (proba, threshold, fms, sms)) in res.models.into_iter().enumerate() {
                fit_ms[m] += fms;
                score_ms[m] += sms;
                for (&i, p) in test.iter().zip(proba) {
                    oof[m][i] = p;
                    // NOTE: thresholds can differ per fold; pool the decisions, rank by proba.
                    decided[m][i] = if p >= threshold { 1.0 } else { 0.0 };
                }
            }
            for &i in &test {
                majority[i] = res.majority;
            }
        }
        for m in 0..kinds.len() {
            let mut met = metrics(&data.y, &decided[m], 0.5);
            met.roc_auc = super::roc_auc(&data.y, &oof[m]);
            per_repeat[m].push(met);
        }
        per_repeat[kinds.len()].push(metrics(&data.y, &majority, 0.5));
        if let Some((_, scores)) = &naive {
            per_repeat[kinds.len() + 1].push(metrics(&data.y, scores, 0.5));
        }
    }
    let fits = (opts.repeats * k) as f64;
    let candidates: Vec<Summary> = names
        .into_iter()
        .zip(&per_repeat)
        .enumerate()
        .map(|(i, (name, ms))| {
            let mut s = summarise(name, ms);
            if i < kinds.len() {
                s.fit_ms = Some(fit_ms[i] / fits);
                s.score_ms = Some(score_ms[i] / fits);
            }
            s
        })
        .collect();
    let mut chosen = kinds[0];
    for (i, kind) in kinds.iter().enumerate().skip(1) {
        let (a, b) = (&candidates[i], &candidates[0]);
        let am = Metrics {
            f1: a.f1,
            roc_auc: a.roc_auc,
            ..Default::default()
        };
        let bm = Metrics {
            f1: b.f1,
            roc_auc: b.roc_auc,
            ..Default::default()
        };
        if better(&am, &bm) {
            chosen = *kind;
        }
    }
    Ok(Report {
        rows: n,
        positives,
        features: data.features(),
        folds: k,
        repeats: opts.repeats,
        model: chosen,
        candidates,
        notes: enc.notes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct FoldResult {
    /// Per model: (test probabilities, threshold, fit ms, score ms).
    models: Vec<(Vec<f64>, f64, f64, f64)>,
    majority: f64,
}

fn run_fold(
    data: &Dataset,
    fold: &[usize],
    f: usize,
    kinds: &[ModelKind],
    cfg: &TrainConfig,
    how: Fitting,
) -> Result<FoldResult, MlError> {
    let train_idx: Vec<usize> = (0..data.rows()).filter(|&i| fold[i] != f).collect();
    let test_idx: Vec<usize> = (0..data.rows()).filter(|&i| fold[i] == f).collect();
    let train = data.subset(&train_idx);
    let test = data.subset(&test_idx);
    let mut models = Vec::new();
    for (model, fit) in Model::fit_each(kinds, &train, cfg, how)? {
        let t = Instant::now();
        let proba = model.predict_proba(&test.x);
        let score = t.elapsed().as_secs_f64() * 1e3;
        models.push((proba, model.threshold(), fit, score));
    }
    let majority = majority_proba(&train.y, 1)[0];
    Ok(FoldResult { models, majority })
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    } else {
        0.0
    };
    (m, var.sqrt())
}

fn summarise(name: String, ms: &[Metrics]) -> Summary {
    let get = |f: fn(&Metrics) -> f64| mean_std(&ms.iter().map(f).collect::<Vec<_>>());
    let (accuracy, accuracy_std) = get(|m| m.accuracy);
    let (precision, precision_std) = get(|m| m.precision);
    let (recall, recall_std) = get(|m| m.recall);
    let (f1, f1_std) = get(|m| m.f1);
    let (roc_auc, roc_auc_std) = get(|m| m.roc_auc);
    Summary {
        name,
        accuracy,
        precision,
        recall,
        f1,
        roc_auc,
        accuracy_std,
        precision_std,
        recall_std,
        f1_std,
        roc_auc_std,
        fit_ms: None,
        score_ms: None,
    }
}
