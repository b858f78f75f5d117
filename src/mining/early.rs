//! The early warning measured honestly: as of day N of a term, train on the earlier completed
//! terms cut at the same day (at most `plan::MAX_TRAIN_ROWS` of their rows, as a run), test on
//! the latest completed term (never one it trained on), and
//! compare the chosen model with three baselines: the majority class, "missed the first
//! assessment", and a prior-GPA cut learned on the training terms. Behind `srm mine early` and
//! the /mining page's curve of ROC AUC against N.

use super::features::{self, FEATURES, FIRST_MISSED, Snapshot};
use super::ml::{self, Dataset, Metrics, ModelKind, TrainConfig};
use super::plan::{self, Plan};
use crate::entity::terms;
use chrono::Duration;
use serde::Serialize;
use std::time::Instant;

/// The days of the term at which the /mining page's curve is measured.
pub const CURVE_DAYS: [i64; 5] = [14, 30, 60, 90, 120];

/// One candidate's figures on the test term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// `logistic`, `forest`, `blend`, `majority`, `missed first assessment`, or the prior-GPA
    /// rule (`rule: prior_gpa ≤ x`).
    pub name: String,
    pub roc_auc: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Seconds to fit it on the training rows, for the models (what each would cost alone: the
    /// forest and the blend share one forest); none for the baselines.
    pub fit_seconds: Option<f64>,
}

impl Figures {
    fn of(name: impl Into<String>, m: &Metrics) -> Self {
        let r = |v: f64| (v * 10_000.0).round() / 10_000.0;
        Figures {
            name: name.into(),
            roc_auc: r(m.roc_auc),
            accuracy: r(m.accuracy),
            precision: r(m.precision),
            recall: r(m.recall),
            f1: r(m.f1),
            fit_seconds: None,
        }
    }
}

/// The evaluation as of one day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarlyReport {
    /// Days after each term's first day.
    pub day: i64,
    pub train_terms: Vec<String>,
    pub test_term: String,
    /// Training rows fitted on (at most [`plan::MAX_TRAIN_ROWS`], every k-th).
    pub train_rows: usize,
    /// Training rows before thinning.
    pub train_rows_all: usize,
    pub test_rows: usize,
    /// Share of the test term's students who failed or withdrew from a course, percent.
    pub test_positive_pct: f64,
    /// The model chosen on the training terms (by F1 on predictions of rows it did not see).
    pub chosen: String,
    /// The chosen model's figures (also among `candidates`).
    pub model: Figures,
    /// The three models, then the baselines.
    pub candidates: Vec<Figures>,
    pub seconds: f64,
}

impl EarlyReport {
    /// A baseline's figures by name prefix (`majority`, `missed first`, `rule: prior_gpa`).
    pub fn baseline(&self, prefix: &str) -> Option<&Figures> {
        self.candidates.iter().find(|c| c.name.starts_with(prefix))
    }
}

/// The labelled rows of `terms` as of `day` days into each.
pub fn rows_at(snap: &Snapshot, terms: &[terms::Model], day: i64) -> Dataset {
    plan::term_dataset(snap, terms, Duration::days(day)).0
}

/// The training rows of `plan` as of `day`, thinned as a run's are (see
/// [`plan::MAX_TRAIN_ROWS`]).
pub fn train_rows_at(snap: &Snapshot, plan: &Plan, day: i64) -> plan::Thinned {
    let max = plan::MAX_TRAIN_ROWS;
    plan::thinned_dataset(snap, &plan.train, Duration::days(day), max)
}

/// Evaluates the early warning as of `day` on the plan's training and test terms. The snapshot
/// must hold those terms up to at least `day` (see [`windows`]).
pub fn evaluate(
    snap: &Snapshot,
    plan: &Plan,
    day: i64,
    cfg: &TrainConfig,
) -> Result<EarlyReport, ml::MlError> {
    let started = Instant::now();
    let thinned = train_rows_at(snap, plan, day);
    let (train, train_rows_all) = (thinned.data, thinned.all_rows);
    let test = rows_at(snap, std::slice::from_ref(&plan.test), day);
    let cmp = ml::compare_tuned(&train, &test, cfg)?;
    let mut candidates: Vec<Figures> = cmp
        .rows
        .iter()
        .filter(|(name, _)| ModelKind::ALL.iter().any(|k| k.as_str() == name))
        .map(|(name, m)| Figures {
            fit_seconds: cmp
                .fit_ms_each
                .iter()
                .find(|(k, _)| k.as_str() == name)
                .map(|(_, ms)| (ms / 10.0).round() / 100.0),
            ..Figures::of(name.clone(), m)
        })
        .collect();
    if let Some((_, m)) = cmp.rows.iter().find(|(n, _)| n == "majority") {
        candidates.push(Figures::of("majority", m));
    }
    let missed: Vec<f64> = test.x.iter().map(|r| r[FIRST_MISSED]).collect();
    candidates.push(Figures::of(
        "missed first assessment",
        &ml::metrics(&test.y, &missed, 0.5),
    ));
    let (gpa_name, gpa) = plan::gpa_rule(&train, &test);
    candidates.push(Figures::of(gpa_name, &gpa));
    let chosen = cmp.chosen.as_str().to_string();
    let model = candidates
        .iter()
        .find(|c| c.name == chosen)
        .cloned()
        .ok_or(ml::MlError::Empty)?;
    Ok(EarlyReport {
        day,
        train_terms: plan.train.iter().map(|t| t.code.clone()).collect(),
        test_term: plan.test.code.clone(),
        train_rows: train.rows(),
        train_rows_all,
        test_rows: test.rows(),
        test_positive_pct: percent(&test.y),
        chosen,
        model,
        candidates,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn percent(y: &[bool]) -> f64 {
    let n = y.iter().filter(|v| **v).count() as f64;
    (n * 1000.0 / y.len().max(1) as f64).round() / 10.0
}

/// The (term, as-of) windows a snapshot needs for evaluations up to `day`: the plan's training
/// and test terms, each cut at `day`.
pub fn windows(plan: &Plan, day: i64) -> Vec<(i64, features::Ts)> {
    plan.train
        .iter()
        .chain([&plan.test])
        .map(|t| (t.id, features::as_of_in(t, Duration::days(day))))
        .collect()
}

/// The point of the /mining page's curve: the chosen model's ROC AUC as of `day`, and the
/// baselines'.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CurvePoint {
    pub day: i64,
    pub model: String,
    pub roc_auc: f64,
    pub recall: f64,
    pub missed_first_auc: f64,
    pub prior_gpa_auc: f64,
}

/// One point of the curve: `kind` (the run's chosen model) fitted on the training terms as of
/// `day` and scored on the test term as of the same day. ROC AUC does not depend on a decision
/// threshold, so the model is fitted plainly; recall is at its fixed threshold. None when the
/// rows cannot be fitted (e.g. one class only).
pub fn curve_point(
    snap: &Snapshot,
    plan: &Plan,
    day: i64,
    kind: ModelKind,
    cfg: &TrainConfig,
) -> Option<CurvePoint> {
    let train = train_rows_at(snap, plan, day).data;
    let test = rows_at(snap, std::slice::from_ref(&plan.test), day);
    let (model, _) = ml::Model::fit_each(
        &[kind],
        &train,
        cfg,
        ml::Fitting::Plain { importances: false },
    )
    .ok()?
    .into_iter()
    .next()?;
    let proba = model.predict_proba(&test.x);
    let m = ml::metrics(&test.y, &proba, model.threshold());
    let missed: Vec<f64> = test.x.iter().map(|r| r[FIRST_MISSED]).collect();
    let (_, gpa) = plan::gpa_rule(&train, &test);
    let r = |v: f64| (v * 10_000.0).round() / 10_000.0;
    Some(CurvePoint {
        day,
        model: kind.as_str().to_string(),
        roc_auc: r(m.roc_auc),
        recall: r(m.recall),
        missed_first_auc: r(ml::roc_auc(&test.y, &missed)),
        prior_gpa_auc: r(gpa.roc_auc),
    })
}

/// The days of [`CURVE_DAYS`] within the test term.
pub fn curve_days(plan: &Plan) -> Vec<i64> {
    let length = (plan.test.ends_on - plan.test.starts_on).num_days() + 1;
    CURVE_DAYS
        .iter()
        .copied()
        .filter(|d| *d <= length)
        .collect()
}

/// The rows as CSV (the features, then `target` 0/1, then `term`), for cross-checking with
/// other tools (e.g. a scikit-learn random forest on the same features): the training rows the
/// model learns from (thinned, see [`train_rows_at`]) and every test row.
pub fn features_csv(snap: &Snapshot, plan: &Plan, day: i64) -> String {
    let mut out = FEATURES.join(",");
    out.push_str(",target,term,split\n");
    let mut row = |x: &[f64], y: bool, term: &str, split: &str| {
        for v in x {
            out.push_str(&format!("{v},"));
        }
        out.push_str(&format!("{},{term},{split}\n", u8::from(y)));
    };
    let train = train_rows_at(snap, plan, day);
    let code = |id: i64| {
        plan.train
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.code.as_str())
    };
    for ((x, y), term) in train.data.x.iter().zip(&train.data.y).zip(&train.term) {
        row(x, *y, code(*term).unwrap_or_default(), "train");
    }
    let test = rows_at(snap, std::slice::from_ref(&plan.test), day);
    for (x, y) in test.x.iter().zip(&test.y) {
        row(x, *y, &plan.test.code, "test");
    }
    out
}

/// The plan (today's terms) and a snapshot holding its training and test terms up to `day`.
pub async fn load(
    db: &sea_orm::DatabaseConnection,
    day: i64,
) -> crate::error::AppResult<(Snapshot, Plan)> {
    use sea_orm::{EntityTrait, QueryOrder};
    let all = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?;
    let plan = plan::plan(&all, chrono::Utc::now().fixed_offset())?;
    let length = (plan.test.ends_on - plan.test.starts_on).num_days() + 1;
    if !(1..=length).contains(&day) {
        return Err(crate::error::AppError::unprocessable(
            "bad_as_of_day",
            format!(
                "--as-of-day {day}: give a day of the term, 1 to {length} (the test term {} has {length} days)",
                plan.test.code
            ),
        ));
    }
    let snap = features::load(db, &windows(&plan, day)).await?;
    Ok((snap, plan))
}

/// The training settings of the early evaluations: a run's, on this machine's cores.
pub fn train_config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        trees: 100,
        balance_classes: true,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// The report as a table, one row per candidate.
pub fn report_text(r: &EarlyReport) -> String {
    let mut s = format!(
        "early warning as of day {} · train {} ({} rows of {}) · test {} ({} rows, {}% failed or withdrew) · chosen {} · {:.1} s\n",
        r.day,
        r.train_terms.join(" "),
        r.train_rows,
        r.train_rows_all,
        r.test_term,
        r.test_rows,
        r.test_positive_pct,
        r.chosen,
        r.seconds
    );
    s.push_str(&format!(
        "{:<28} {:>7} {:>8} {:>9} {:>7} {:>7} {:>6}\n",
        "candidate", "ROC AUC", "accuracy", "precision", "recall", "F1", "fit s"
    ));
    for c in &r.candidates {
        let mark = if c.name == r.chosen { " *" } else { "" };
        let fit = c.fit_seconds.map_or("-".to_string(), |t| format!("{t:.2}"));
        s.push_str(&format!(
            "{:<28} {:>7.3} {:>8.3} {:>9.3} {:>7.3} {:>7.3} {fit:>6}{mark}\n",
            c.name, c.roc_auc, c.accuracy, c.precision, c.recall, c.f1
        ));
    }
    s
}
