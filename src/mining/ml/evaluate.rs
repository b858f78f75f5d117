//! Repeated stratified k-fold cross-validation of the models and the naive baselines, behind
//! `srm mine evaluate`.

use super::compare::{majority_proba, pick_best};
use super::forest::parallel_map;
use super::metrics::{Metrics, metrics};
use super::table::{Spec, Table, encode};
use super::{Fitting, Goal, MlError, Model, ModelKind, TrainConfig};
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

/// Standard deviations of one candidate's metrics.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Spread {
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: f64,
}

/// One candidate's metrics: means over the repeats (each repeat's metrics computed on its
/// pooled out-of-fold predictions), the spread of those repeat figures (`*_std`), and the spread
/// across the single folds (`fold_sd`: each fold's metrics on its own test rows), which is the
/// figure other tools print after "±".
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
    pub fold_sd: Spread,
    /// Mean milliseconds per fit and to score one test fold (models only).
    pub fit_ms: Option<f64>,
    pub score_ms: Option<f64>,
}

/// Rows above which the folds are cross-validated one after the other (each with its fits on
/// all cores) instead of side by side: a fold's training rows of a 200,000-row file are about
/// 100 MB as features, and logistic regression copies them once more.
const PARALLEL_FOLDS_ROWS: usize = 50_000;

/// The name of the candidate that is the automatic choice made inside each training fold.
pub const NESTED: &str = "auto (nested)";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub rows: usize,
    pub positives: usize,
    pub features: usize,
    pub folds: usize,
    pub repeats: usize,
    /// The model asked for, or with `--model auto` the one chosen in most folds.
    pub model: ModelKind,
    /// Models first, then (with `--model auto`) [`NESTED`], then the baselines.
    pub candidates: Vec<Summary>,
    /// With `--model auto`: how often each model was chosen inside the training folds.
    pub chosen_in_folds: Vec<(ModelKind, usize)>,
    /// With `--model auto`: how the choice was made, in words.
    pub selection: Option<String>,
    pub notes: Vec<String>,
    pub seconds: f64,
}

impl Report {
    /// The figures of the choice: with `--model auto` the nested choice's own out-of-fold
    /// figures (never the best of the candidates' reported figures), else the one model's.
    pub fn chosen(&self) -> Option<&Summary> {
        self.candidates
            .iter()
            .find(|c| c.name == NESTED)
            .or_else(|| {
                self.candidates
                    .iter()
                    .find(|c| c.name == self.model.as_str())
            })
    }

    /// The naive baseline's summary (the last candidate).
    pub fn baseline(&self) -> Option<&Summary> {
        self.candidates.last()
    }
}

/// How `--model auto` chooses, as printed with its figures.
const SELECTION: &str = "inside each training fold, by F1 of the positive class (then ROC AUC) \
on predictions of the training rows by models that did not see them (logistic regression: its \
inner 5-fold cross-validation; the forest: out-of-bag votes; the blend: out-of-bag votes averaged \
with its rule); the auto (nested) row scores those choices on the test folds";

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
    let mut enc = encode(table, &opts.target, &opts.positive, &opts.drop)?;
    enc.data.validate()?;
    let n = enc.data.rows();
    // NOTE: each fold encodes its own rows from the table (`Encoded::fold`); the features of
    // every row encoded at once are not used again, and on a big file they are 100 MB or more.
    enc.data.x = Vec::new();
    let data = &enc.data;
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
                let cell = table.cell(r, c);
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
    let nested = kinds.len() > 1;
    let mut names: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    if nested {
        names.push(NESTED.into());
    }
    names.push("majority".into());
    if let Some((name, _)) = &naive {
        names.push(name.clone());
    }
    // per candidate: metrics per repeat (pooled out-of-fold) and per single fold
    let mut per_repeat: Vec<Vec<Metrics>> = vec![Vec::new(); names.len()];
    let mut per_fold: Vec<Vec<Metrics>> = vec![Vec::new(); names.len()];
    let mut fit_ms = vec![0.0; kinds.len()];
    let mut score_ms = vec![0.0; kinds.len()];
    let mut chosen_count = vec![0usize; kinds.len()];
    let threads = opts.train.threads.max(1);
    // Small tables: the folds on all cores, each fitted on one thread. Big ones: one fold at a
    // time, its fits on all cores, so that only one fold's copy of the rows is in memory.
    let fold_threads = if n > PARALLEL_FOLDS_ROWS { 1 } else { threads };
    let cfg = TrainConfig {
        threads: if fold_threads == 1 { threads } else { 1 },
        ..opts.train.clone()
    };
    let how = match (opts.tune, nested) {
        (Some(goal), _) => Fitting::Tuned(goal),
        (None, true) => Fitting::Select,
        (None, false) => Fitting::Plain { importances: false },
    };
    for r in 0..opts.repeats {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.train.seed.wrapping_add(r as u64));
        let fold = stratified_folds(&data.y, k, &mut rng);
        let results = parallel_map(k, fold_threads, |f| {
            run_fold(table, &enc, &fold, f, &kinds, &cfg, how)
        });
        if results.len() != k {
            return Err(MlError::Fit("a cross-validation worker stopped".into()));
        }
        // pooled out-of-fold probabilities and decisions per candidate
        let mut oof = vec![vec![0.0; n]; names.len()];
        let mut decided = vec![vec![0.0; n]; names.len()];
        for (f, res) in results.into_iter().enumerate() {
            let res = res?;
            let test: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
            let mut answers: Vec<(Vec<f64>, f64)> = Vec::with_capacity(names.len());
            for (m, fitted) in res.models.iter().enumerate() {
                fit_ms[m] += fitted.fit_ms;
                score_ms[m] += fitted.score_ms;
                answers.push((fitted.proba.clone(), fitted.threshold));
            }
            if nested {
                let pick = res.chosen.min(kinds.len() - 1);
                chosen_count[pick] += 1;
                answers.push(answers[pick].clone());
            }
            answers.push((vec![res.majority; test.len()], 0.5));
            if let Some((_, scores)) = &naive {
                answers.push((test.iter().map(|&i| scores[i]).collect(), 0.5));
            }
            let y: Vec<bool> = test.iter().map(|&i| data.y[i]).collect();
            for (c, (proba, threshold)) in answers.into_iter().enumerate() {
                let decisions: Vec<f64> = proba
                    .iter()
                    .map(|&p| if p >= threshold { 1.0 } else { 0.0 })
                    .collect();
                let mut met = metrics(&y, &decisions, 0.5);
                met.roc_auc = super::roc_auc(&y, &proba);
                per_fold[c].push(met);
                for ((&i, p), d) in test.iter().zip(proba).zip(decisions) {
                    oof[c][i] = p;
                    // NOTE: thresholds can differ per fold; pool the decisions, rank by proba.
                    decided[c][i] = d;
                }
            }
        }
        for c in 0..names.len() {
            let mut met = metrics(&data.y, &decided[c], 0.5);
            met.roc_auc = super::roc_auc(&data.y, &oof[c]);
            per_repeat[c].push(met);
        }
    }
    let fits = (opts.repeats * k) as f64;
    let candidates: Vec<Summary> = names
        .into_iter()
        .zip(per_repeat.iter().zip(&per_fold))
        .enumerate()
        .map(|(i, (name, (ms, fs)))| {
            let mut s = summarise(name, ms, fs);
            if i < kinds.len() {
                s.fit_ms = Some(fit_ms[i] / fits);
                s.score_ms = Some(score_ms[i] / fits);
            }
            s
        })
        .collect();
    // the most often chosen; ties to the earlier (simpler) model
    let most = (0..kinds.len())
        .max_by(|&a, &b| chosen_count[a].cmp(&chosen_count[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    Ok(Report {
        rows: n,
        positives,
        features: data.features(),
        folds: k,
        repeats: opts.repeats,
        model: kinds[most],
        candidates,
        chosen_in_folds: if nested {
            kinds.iter().copied().zip(chosen_count).collect()
        } else {
            Vec::new()
        },
        selection: nested.then(|| SELECTION.to_string()),
        notes: enc.notes.clone(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One model's answer on a test fold.
struct Fitted {
    proba: Vec<f64>,
    threshold: f64,
    fit_ms: f64,
    score_ms: f64,
}

struct FoldResult {
    models: Vec<Fitted>,
    /// The model chosen inside the training rows (an index of `models`).
    chosen: usize,
    majority: f64,
}

/// Fits every model on the fold's training rows, encoded with what those rows alone show
/// ([`super::table::Encoded::fold`]), scores the test rows, and chooses among the models by
/// their scores on training rows they did not see.
fn run_fold(
    table: &Table,
    enc: &super::table::Encoded,
    fold: &[usize],
    f: usize,
    kinds: &[ModelKind],
    cfg: &TrainConfig,
    how: Fitting,
) -> Result<FoldResult, MlError> {
    let n = enc.data.y.len();
    let train_idx: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
    let test_idx: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
    let (train, test) = enc.fold(table, &train_idx, &test_idx)?;
    let mut models = Vec::new();
    let mut inner = Vec::new();
    for (i, (model, fit)) in Model::fit_each(kinds, &train, cfg, how)?
        .into_iter()
        .enumerate()
    {
        let t = Instant::now();
        let proba = model.predict_proba(&test.x);
        let score = t.elapsed().as_secs_f64() * 1e3;
        inner.push((i, model.selection().unwrap_or_default()));
        models.push(Fitted {
            proba,
            threshold: model.threshold(),
            fit_ms: fit,
            score_ms: score,
        });
    }
    let chosen = pick_best(inner).unwrap_or(0);
    let majority = majority_proba(&train.y, 1)[0];
    Ok(FoldResult {
        models,
        chosen,
        majority,
    })
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

fn summarise(name: String, ms: &[Metrics], folds: &[Metrics]) -> Summary {
    let get = |f: fn(&Metrics) -> f64| mean_std(&ms.iter().map(f).collect::<Vec<_>>());
    let sd = |f: fn(&Metrics) -> f64| mean_std(&folds.iter().map(f).collect::<Vec<_>>()).1;
    let fold_sd = Spread {
        accuracy: sd(|m| m.accuracy),
        precision: sd(|m| m.precision),
        recall: sd(|m| m.recall),
        f1: sd(|m| m.f1),
        roc_auc: sd(|m| m.roc_auc),
    };
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
        fold_sd,
        fit_ms: None,
        score_ms: None,
    }
}
