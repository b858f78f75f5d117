//! Classification metrics for the positive class, ROC AUC and the F1-maximising threshold.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
}

/// Metrics of the positive class at one threshold (predict positive when proba ≥ threshold).
/// A ratio with a zero denominator (no predicted or no actual positives) is 0. `roc_auc` is 0.5
/// when `y` has one class only (undefined: no ranking to judge).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: f64,
    pub confusion: Confusion,
    pub threshold: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Metrics at `threshold`. Never panics: extra values in the longer of `y`/`proba` are
/// ignored, NaN probabilities count as negative predictions and rank lowest.
pub fn metrics(y: &[bool], proba: &[f64], threshold: f64) -> Metrics {
    let mut c = Confusion::default();
    for (&t, &p) in y.iter().zip(proba) {
        match (t, p >= threshold) {
            (true, true) => c.tp += 1,
            (false, true) => c.fp += 1,
            (false, false) => c.tn += 1,
            (true, false) => c.fn_ += 1,
        }
    }
    from_confusion(c, roc_auc(y, proba), threshold)
}

/// Accuracy, precision, recall and F1 of a confusion matrix.
pub fn from_confusion(c: Confusion, roc_auc: f64, threshold: f64) -> Metrics {
    let precision = ratio(c.tp, c.tp + c.fp);
    let recall = ratio(c.tp, c.tp + c.fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Metrics {
        accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn_),
        precision,
        recall,
        f1,
        roc_auc,
        confusion: c,
        threshold,
    }
}

/// Area under the ROC curve (the probability that a random positive is ranked above a random
/// negative; ties count half). 0.5 when `y` has one class.
pub fn roc_auc(y: &[bool], proba: &[f64]) -> f64 {
    let mut pairs: Vec<(f64, bool)> = y
        .iter()
        .zip(proba)
        .map(|(&t, &p)| (if p.is_nan() { f64::NEG_INFINITY } else { p }, t))
        .collect();
    let pos = pairs.iter().filter(|(_, t)| *t).count();
    let neg = pairs.len() - pos;
    if pos == 0 || neg == 0 {
        return 0.5;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann-Whitney U with average ranks for ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * pairs[i..=j].iter().filter(|(_, t)| *t).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    u / (pos as f64 * neg as f64)
}

/// What a tuned decision threshold maximises on the rows it is chosen on.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// F1 of the positive class: finds more of the rare class, at some cost in accuracy.
    #[default]
    F1,
    /// Share of rows classified right.
    Accuracy,
}

impl Goal {
    pub fn as_str(self) -> &'static str {
        match self {
            Goal::F1 => "f1",
            Goal::Accuracy => "accuracy",
        }
    }
}

/// The threshold that maximises F1 of the positive class on this data (ties: the higher
/// threshold, i.e. fewer flags). 0.5 when there is no positive or no data.
pub fn best_threshold(y: &[bool], proba: &[f64]) -> f64 {
    best_cut(y, proba, Goal::F1)
}

/// The threshold (flag when the score is at least it) that maximises `goal` on this data;
/// ties go to the higher threshold, i.e. fewer flags. For accuracy, flagging nobody is a
/// candidate too (a threshold above every score). 0.5 when there is no positive or no data.
pub fn best_cut(y: &[bool], proba: &[f64], goal: Goal) -> f64 {
    let mut pairs: Vec<(f64, bool)> = y
        .iter()
        .zip(proba)
        .filter(|(_, p)| p.is_finite())
        .map(|(&t, &p)| (p, t))
        .collect();
    let pos = pairs.iter().filter(|(_, t)| *t).count();
    if pos == 0 {
        return 0.5;
    }
    let n = pairs.len();
    let value = |tp: usize, fp: usize| match goal {
        Goal::F1 => 2.0 * tp as f64 / (2 * tp + fp + (pos - tp)) as f64,
        Goal::Accuracy => (tp + (n - pos - fp)) as f64 / n as f64,
    };
    // Descending: moving the threshold down past each distinct score.
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut best, mut best_t) = match goal {
        Goal::F1 => (-1.0, 0.5),
        Goal::Accuracy => {
            let top = pairs[0].0;
            let above = if top < 1.0 {
                (top + 1.0) / 2.0
            } else {
                top + f64::EPSILON * top.abs().max(1.0)
            };
            (value(0, 0), above)
        }
    };
    let mut i = 0;
    while i < pairs.len() {
        let score = pairs[i].0;
        while i < pairs.len() && pairs[i].0 == score {
            if pairs[i].1 {
                tp += 1
            } else {
                fp += 1
            }
            i += 1;
        }
        let v = value(tp, fp);
        if v > best + 1e-12 {
            best = v;
            // Midway to the next lower score, so the same rows are flagged on equal scores.
            best_t = match pairs.get(i) {
                Some(next) => (score + next.0) / 2.0,
                None => score,
            };
        }
    }
    best_t
}
