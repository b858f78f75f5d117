//! The terms of a run and their rows: which completed terms a model learns from and is tested
//! on, the as-of instant in the current term, the labelled rows of terms cut at the same day,
//! and the prior-GPA baseline every comparison reports.

use super::features::{self, FEATURES, PRIOR_GPA, Snapshot, Ts};
use super::ml::{self, Dataset};
use crate::entity::terms;
use crate::error::{AppError, AppResult};
use chrono::Duration;

/// At most this many training rows are fitted on (an even, deterministic stride through them),
/// so that a 50,000-student university trains in seconds, in a run and at each day of its
/// early-warning curve; scoring always covers everyone.
pub const MAX_TRAIN_ROWS: usize = 20_000;

/// The terms of a run: completed ones to learn and test on, and the one to score.
#[derive(Clone)]
pub struct Plan {
    pub train: Vec<terms::Model>,
    pub test: terms::Model,
    pub current: terms::Model,
    pub as_of: Ts,
    pub offset: Duration,
}

/// Picks the current term (flagged current, else the latest), the as-of instant (now, within
/// that term) and its week offset, the test term (the latest completed one) and the training
/// terms (all completed before it).
pub fn plan(all: &[terms::Model], now: Ts) -> AppResult<Plan> {
    let mut all = all.to_vec();
    all.sort_by_key(|t| t.seq);
    let current = all
        .iter()
        .find(|t| t.is_current)
        .or_else(|| all.last())
        .cloned()
        .ok_or_else(|| AppError::unprocessable("no_terms", "there are no terms to mine"))?;
    let start = features::as_of_in(&current, Duration::zero());
    let end =
        features::as_of_in(&current, Duration::days(1)) + (current.ends_on - current.starts_on);
    let as_of = now.clamp(start, end.max(start));
    let offset = as_of - start;
    let completed: Vec<terms::Model> = all
        .iter()
        .filter(|t| t.seq < current.seq)
        .cloned()
        .collect();
    let Some((test, train)) = completed.split_last() else {
        return Err(AppError::unprocessable(
            "too_few_terms",
            "a run needs at least two completed terms before the current one",
        ));
    };
    if train.is_empty() {
        return Err(AppError::unprocessable(
            "too_few_terms",
            "a run needs at least two completed terms before the current one",
        ));
    }
    Ok(Plan {
        train: train.to_vec(),
        test: test.clone(),
        current,
        as_of,
        offset,
    })
}

/// The labelled rows of completed terms as of the same week: (dataset labelled with the risk
/// target, the leaving target of each row, student of each row).
pub fn term_dataset(
    snap: &Snapshot,
    terms: &[terms::Model],
    offset: Duration,
) -> (Dataset, Vec<bool>, Vec<i64>) {
    let thinned = thinned_dataset(snap, terms, offset, usize::MAX);
    (thinned.data, thinned.leave, thinned.who)
}

/// Labelled rows of [`thinned_dataset`].
pub struct Thinned {
    pub data: Dataset,
    /// The leaving target of each row.
    pub leave: Vec<bool>,
    /// The student of each row.
    pub who: Vec<i64>,
    /// The term of each row.
    pub term: Vec<i64>,
    /// How many rows the terms have before thinning.
    pub all_rows: usize,
}

/// The rows of [`term_dataset`], at most `max` of them: when the terms have more, every k-th
/// (term by term, student by student, k fractional) is kept, and only the kept rows' features
/// are computed. A model learns about as well from 20,000 rows as from 200,000 and fits ten
/// times faster.
pub fn thinned_dataset(
    snap: &Snapshot,
    terms: &[terms::Model],
    offset: Duration,
    max: usize,
) -> Thinned {
    let everyone: Vec<(&terms::Model, Ts, i64)> = terms
        .iter()
        .flat_map(|t| {
            let as_of = features::as_of_in(t, offset);
            features::participants(snap, t.id, as_of)
                .into_iter()
                .map(move |s| (t, as_of, s))
        })
        .collect();
    let all_rows = everyone.len();
    let kept: Vec<usize> = if all_rows > max {
        let step = all_rows as f64 / max as f64;
        (0..max).map(|i| (i as f64 * step) as usize).collect()
    } else {
        (0..all_rows).collect()
    };
    let rows = every_row(kept.len(), |i| {
        let (t, as_of, s) = everyone[kept[i]];
        (
            s,
            features::features(snap, s, t, as_of),
            features::failed_or_dropped(snap, s, t, as_of),
            features::leaves(snap, s, t, as_of),
        )
    });
    let mut out = Thinned {
        data: Dataset {
            feature_names: FEATURES.iter().map(|s| s.to_string()).collect(),
            x: Vec::with_capacity(rows.len()),
            y: Vec::with_capacity(rows.len()),
        },
        leave: Vec::with_capacity(rows.len()),
        who: Vec::with_capacity(rows.len()),
        term: kept.iter().map(|i| everyone[*i].0.id).collect(),
        all_rows,
    };
    for (s, x, y, left) in rows {
        out.data.x.push(x);
        out.data.y.push(y);
        out.leave.push(left);
        out.who.push(s);
    }
    out
}

/// `row(i)` for i in 0..n on every core, in order. A worker that stopped (a panic) would leave
/// its rows out, so they are then all computed again here: a panic stops the run as it did
/// when rows were computed one by one, and no student is left out unnoticed.
pub fn every_row<T: Send>(n: usize, row: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows = ml::parallel_map(n, threads, &row);
    if rows.len() == n {
        rows
    } else {
        (0..n).map(row).collect()
    }
}

/// The baseline "prior GPA below X": X is the cut on the training terms that maximises F1.
pub fn gpa_rule(train: &Dataset, test: &Dataset) -> (String, ml::Metrics) {
    let neg = |d: &Dataset| -> Vec<f64> { d.x.iter().map(|r| -r[PRIOR_GPA]).collect() };
    let cut = ml::best_threshold(&train.y, &neg(train));
    let scores: Vec<f64> = neg(test)
        .into_iter()
        .map(|v| if v >= cut { 1.0 } else { 0.0 })
        .collect();
    (
        format!("rule: prior_gpa ≤ {:.2}", -cut),
        ml::metrics(&test.y, &scores, 0.5),
    )
}
