//! Held-out comparison of the models against two naive baselines.

use super::{
    Dataset, Fitting, Metrics, MlError, Model, ModelKind, TrainConfig, Tuning, best_threshold,
    metrics,
};
use serde::Serialize;
use std::time::Instant;

/// The result of [`compare`]: every candidate's metrics on the test rows and the chosen model
/// (already fitted on the training rows).
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub chosen: ModelKind,
    pub model: Model,
    /// ("logistic" | "forest" | "blend" | "majority" | "rule: <feature> ≥ x", metrics on the test rows),
    /// models first.
    pub rows: Vec<(String, Metrics)>,
    /// Time to fit every model, milliseconds (the forest and the blend share one forest).
    pub fit_ms: f64,
    /// Each model's own fitting time, milliseconds: what it would cost alone (the forest's
    /// growing counts in both the forest and the blend).
    pub fit_ms_each: Vec<(ModelKind, f64)>,
    /// Time to score the test rows with every model, milliseconds.
    pub score_ms: f64,
    /// How each model's decision threshold was set (see [`compare_tuned`]).
    pub tuning: Vec<(ModelKind, Tuning)>,
    /// Logistic regression's L2 strength, chosen by cross-validation inside the training rows.
    pub alpha: Option<f64>,
}

/// The stated choice: higher F1 of the positive class at each model's own threshold, then
/// higher ROC AUC, then the simpler model (logistic).
pub fn better(a: &Metrics, b: &Metrics) -> bool {
    const EPS: f64 = 1e-9;
    a.f1 > b.f1 + EPS || ((a.f1 - b.f1).abs() <= EPS && a.roc_auc > b.roc_auc + EPS)
}

/// The best of the candidates by [`better`], each compared with the best so far (ties keep the
/// earlier candidate). The one chooser of the portal's runs and of `srm mine evaluate`.
pub fn pick_best<T>(candidates: impl IntoIterator<Item = (T, Metrics)>) -> Option<T> {
    let mut best: Option<(T, Metrics)> = None;
    for (c, m) in candidates {
        if best.as_ref().is_none_or(|(_, b)| better(&m, b)) {
            best = Some((c, m));
        }
    }
    best.map(|(c, _)| c)
}

/// Majority class of the training rows as a probability (1 or 0) for every test row.
pub fn majority_proba(train: &[bool], n: usize) -> Vec<f64> {
    let pos = train.iter().filter(|&&v| v).count();
    let p = if 2 * pos > train.len() { 1.0 } else { 0.0 };
    vec![p; n]
}

/// A one-feature rule learned on the training rows: the direction from the feature's ROC AUC
/// and the cut that maximises F1. Returns (name, test scores as 0/1, threshold 0.5).
pub fn rule_baseline(
    train: &Dataset,
    test: &Dataset,
    feature: usize,
) -> Option<(String, Vec<f64>)> {
    let name = train.feature_names.get(feature)?;
    let col: Vec<f64> = train
        .x
        .iter()
        .map(|r| r.get(feature).copied().unwrap_or(f64::NAN))
        .collect();
    let auc = super::roc_auc(&train.y, &col);
    let sign = if auc >= 0.5 { 1.0 } else { -1.0 };
    let signed: Vec<f64> = col.iter().map(|v| sign * v).collect();
    let cut = best_threshold(&train.y, &signed);
    let label = if sign > 0.0 {
        format!("rule: {name} ≥ {cut:.3}")
    } else {
        format!("rule: {name} ≤ {:.3}", -cut)
    };
    let scores = test
        .x
        .iter()
        .map(|r| {
            let v = r.get(feature).copied().unwrap_or(f64::NAN);
            if sign * v >= cut { 1.0 } else { 0.0 }
        })
        .collect();
    Some((label, scores))
}

/// The feature whose values alone rank the training rows best (|AUC − 0.5| largest).
pub fn best_single_feature(train: &Dataset) -> Option<usize> {
    (0..train.features())
        .map(|j| {
            let col: Vec<f64> = train.x.iter().map(|r| r[j]).collect();
            (j, (super::roc_auc(&train.y, &col) - 0.5).abs())
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(j, _)| j)
}

/// Fits logistic regression, the forest and the blend on `train`, scores each on `test` at its own
/// threshold ([`Model::threshold`]), adds the majority-class baseline and a one-feature rule
/// on the single most predictive feature, and picks the model by [`better`].
pub fn compare(train: &Dataset, test: &Dataset, cfg: &TrainConfig) -> Result<Comparison, MlError> {
    compare_with_rule(train, test, cfg, None)
}

/// [`compare`] with each model's decision threshold chosen on the training rows by F1 of the
/// positive class, from predictions by models that did not see those rows
/// ([`Model::fit_tuned`]), instead of the fixed prevalence or 0.5. The test rows are only
/// scored, never used to choose a threshold.
pub fn compare_tuned(
    train: &Dataset,
    test: &Dataset,
    cfg: &TrainConfig,
) -> Result<Comparison, MlError> {
    compare_impl(train, test, cfg, None, true)
}

/// [`compare`] with the rule baseline on a given feature (e.g. prior GPA).
pub fn compare_with_rule(
    train: &Dataset,
    test: &Dataset,
    cfg: &TrainConfig,
    rule_feature: Option<usize>,
) -> Result<Comparison, MlError> {
    compare_impl(train, test, cfg, rule_feature, false)
}

fn compare_impl(
    train: &Dataset,
    test: &Dataset,
    cfg: &TrainConfig,
    rule_feature: Option<usize>,
    tuned: bool,
) -> Result<Comparison, MlError> {
    train.validate()?;
    super::check_matrix(&test.x, train.features())?;
    if test.y.len() != test.x.len() {
        return Err(MlError::Mismatch(
            "test rows and targets differ in number".into(),
        ));
    }
    let mut rows = Vec::new();
    let mut score_ms = 0.0;
    let mut scored: Vec<(Model, Metrics)> = Vec::new();
    let mut fit_ms_each = Vec::new();
    let mut tuning = Vec::new();
    let mut alpha = None;
    let how = if tuned {
        Fitting::Tuned(super::Goal::F1)
    } else {
        Fitting::Plain { importances: true }
    };
    let t = Instant::now();
    let fitted = Model::fit_each(
        &[ModelKind::Logistic, ModelKind::Forest, ModelKind::Blend],
        train,
        cfg,
        how,
    )?;
    let fit_ms = t.elapsed().as_secs_f64() * 1e3;
    for (model, ms) in fitted {
        let kind = model.kind();
        fit_ms_each.push((kind, ms));
        tuning.push((kind, model.tuning()));
        alpha = alpha.or(model.alpha());
        let t = Instant::now();
        let proba = model.predict_proba(&test.x);
        score_ms += t.elapsed().as_secs_f64() * 1e3;
        let m = metrics(&test.y, &proba, model.threshold());
        rows.push((kind.to_string(), m));
        scored.push((model, m));
    }
    rows.push((
        "majority".to_string(),
        metrics(&test.y, &majority_proba(&train.y, test.y.len()), 0.5),
    ));
    if let Some((name, scores)) = rule_feature
        .or_else(|| best_single_feature(train))
        .and_then(|j| rule_baseline(train, test, j))
    {
        rows.push((name, metrics(&test.y, &scores, 0.5)));
    }
    let model = pick_best(scored).ok_or(MlError::Empty)?;
    Ok(Comparison {
        chosen: model.kind(),
        model,
        rows,
        fit_ms,
        fit_ms_each,
        score_ms,
        tuning,
        alpha,
    })
}
