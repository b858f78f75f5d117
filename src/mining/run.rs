//! A mining run: read the data, build the term datasets as of the same week, compare the models
//! on the most recent completed term (trained on the earlier ones), score the current term's
//! students with the better one, explain each score, group the students, and store it all as
//! one run. Started from the page, the API, the CLI or the schedule; always in the background.

use super::early;
use super::features::{self, BEHAVIOUR, FEATURES, GPA_TREND, Snapshot};
use super::ml::{self, Dataset, ModelKind, TrainConfig, cluster};
use super::plan::{MAX_TRAIN_ROWS, Plan, gpa_rule, plan, term_dataset, thinned_dataset};
pub use super::reasons::{FlagDetail, LeaveDetail};
use super::reasons::{Reason, top_reasons};
use super::recommend_store;
use super::settings::{self, MiningSettings};
use crate::audit::Entry;
use crate::db::write_txn;
use crate::entity::job_status::JobStatus;
use crate::entity::{mining_clusters, mining_runs, risk_flags, terms};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::jobs::{Heartbeat, Jobs, Lease, MINING_RUN, Stop};
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

type Ts = DateTime<FixedOffset>;

/// The stated model-selection metric (see `ml::compare::better`).
pub const CHOICE_METRIC: &str = "F1 of the at-risk class on the held-out term, then ROC AUC";

/// How many factors are stored per flag.
const FACTORS: usize = 3;

/// The latest finished run: the one the pages show and formulas are tried on.
pub async fn latest_run(db: &impl ConnectionTrait) -> AppResult<Option<mining_runs::Model>> {
    Ok(mining_runs::Entity::find()
        .filter(mining_runs::Column::Status.eq(JobStatus::Done))
        .order_by_desc(mining_runs::Column::Id)
        .one(db)
        .await?)
}

/// Creates a queued run (audited) holding its lease, refusing while another is queued or
/// running. A run whose instance stopped heartbeating is first marked interrupted, so it does
/// not block this one.
pub async fn create(
    db: &DatabaseConnection,
    jobs: &Jobs,
    actor: Option<i64>,
    kind: &str,
) -> AppResult<i64> {
    crate::jobs::sweep(db).await?;
    let txn = write_txn(db).await?;
    let busy = mining_runs::Entity::find()
        .filter(mining_runs::Column::Status.is_in(JobStatus::LIVE))
        .one(&txn)
        .await?;
    if let Some(r) = busy {
        return Err(AppError::conflict(
            "run_in_progress",
            format!("run {} is still in progress", r.id),
        ));
    }
    let now = Utc::now().fixed_offset();
    let run = mining_runs::ActiveModel {
        kind: Set(kind.to_string()),
        status: Set(JobStatus::Queued),
        progress: Set(0.0),
        message: Set(String::new()),
        as_of: Set(now),
        params: Set("{}".into()),
        metrics: Set("{}".into()),
        started_by: Set(actor),
        started_at: Set(now),
        holder: Set(Some(jobs.holder.clone())),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if Lease::acquire(&txn, MINING_RUN, run.id, &jobs.holder, jobs.ttl)
        .await?
        .is_none()
    {
        return Err(AppError::conflict(
            "run_in_progress",
            format!("run {} is held by another instance", run.id),
        ));
    }
    Entry::new(actor, "mining.run_start", "mining_run")
        .id(run.id)
        .detail(json!({"kind": kind}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(run.id)
}

/// Starts a queued run in the background (never on a request thread).
pub fn spawn(db: DatabaseConnection, jobs: Jobs, run_id: i64) {
    tokio::spawn(async move {
        if let Err(e) = execute(&db, &jobs, run_id).await {
            tracing::warn!("mining run {run_id} failed: {e}");
        }
    });
}

/// The error a worker stops with between two steps.
fn stopped(stop: Stop) -> AppError {
    match stop {
        Stop::Cancelled => AppError::conflict(CANCELLED, "the run was cancelled"),
        Stop::Lost => AppError::conflict(LOST, "the run's lease was lost"),
    }
}

const CANCELLED: &str = "job_cancelled";
const LOST: &str = "job_lease_lost";

/// Records a step, after checking that the run is still wanted (not cancelled, lease held).
async fn progress(
    db: &DatabaseConnection,
    hb: &Heartbeat,
    run_id: i64,
    p: f64,
    msg: &str,
) -> AppResult<()> {
    if let Some(stop) = hb.stop() {
        return Err(stopped(stop));
    }
    mining_runs::Entity::update_many()
        .col_expr(
            mining_runs::Column::Progress,
            sea_orm::sea_query::Expr::value(p),
        )
        .col_expr(
            mining_runs::Column::Message,
            sea_orm::sea_query::Expr::value(msg.to_string()),
        )
        .col_expr(
            mining_runs::Column::Status,
            sea_orm::sea_query::Expr::value(JobStatus::Running),
        )
        .filter(mining_runs::Column::Id.eq(run_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Runs a queued run to the end, heartbeating its lease; on failure the run is marked failed
/// with the reason, on a cancel `cancelled`. A run whose lease was lost is left as the sweep
/// marked it (interrupted).
pub async fn execute(db: &DatabaseConnection, jobs: &Jobs, run_id: i64) -> AppResult<()> {
    let lease = Lease {
        kind: MINING_RUN.to_string(),
        job_id: run_id,
        holder: jobs.holder.clone(),
        ttl: jobs.ttl,
    };
    let started = Instant::now();
    let hb = Heartbeat::start(db.clone(), lease.clone());
    let result = execute_inner(db, &hb, run_id).await;
    drop(hb);
    let lost = matches!(&result, Err(AppError::Conflict { code, .. }) if *code == LOST);
    let outcome = match &result {
        Ok(()) => "done",
        Err(AppError::Conflict { code, .. }) if *code == CANCELLED => "cancelled",
        Err(_) if lost => "lost",
        Err(_) => "failed",
    };
    crate::metrics::job_finished(MINING_RUN, outcome, started);
    if !lost && let Err(e) = lease.release(db).await {
        tracing::warn!(run = run_id, error = %e, "could not release the run's lease");
    }
    if let Err(e) = &result
        && !lost
    {
        let cancelled = matches!(e, AppError::Conflict { code, .. } if *code == CANCELLED);
        let status = if cancelled {
            JobStatus::Cancelled
        } else {
            JobStatus::Failed
        };
        let txn = write_txn(db).await?;
        mining_runs::Entity::update_many()
            .col_expr(
                mining_runs::Column::Status,
                sea_orm::sea_query::Expr::value(status),
            )
            .col_expr(
                mining_runs::Column::Message,
                sea_orm::sea_query::Expr::value(e.public_message()),
            )
            .col_expr(
                mining_runs::Column::FinishedAt,
                sea_orm::sea_query::Expr::value(Utc::now().fixed_offset()),
            )
            .filter(mining_runs::Column::Id.eq(run_id))
            .exec(&txn)
            .await?;
        Entry::new(None, "mining.run_finish", "mining_run")
            .id(run_id)
            .failed()
            .detail(json!({"error": e.public_message()}))
            .write(&txn)
            .await?;
        txn.commit().await?;
    }
    result
}

/// Everything computed off the async threads.
pub struct Outcome {
    pub chosen: ModelKind,
    pub metrics: Value,
    /// (student, risk score, risk level, detail (with the leaving score), cluster), one per
    /// scored student.
    pub flags: Vec<(i64, f64, String, FlagDetail, Option<i64>)>,
    pub clusters: Vec<ClusterOut>,
}

/// What a run computes from the snapshot before any model is trained; the snapshot can then
/// be dropped (see [`prepare`]).
pub struct Prepared {
    /// Training rows (at most [`MAX_TRAIN_ROWS`]), labelled with the risk target.
    pub train: Dataset,
    /// The same rows' leaving target.
    pub train_leave: Vec<bool>,
    /// Training rows before the stride (all of them).
    pub train_rows: usize,
    pub test: Dataset,
    pub test_leave: Vec<bool>,
    /// (gender, department) of each test row.
    pub test_groups: Vec<(String, i64)>,
    /// The current term's students and their feature rows.
    pub current: Vec<i64>,
    pub rows: Vec<Vec<f64>>,
    pub build_ms: f64,
}

pub struct ClusterOut {
    pub label: i64,
    pub size: i64,
    pub centre: Vec<f64>,
    pub description: Value,
    pub x: f64,
    pub y: f64,
}

fn round(v: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (v * m).round() / m
}

fn mean_row(x: &[Vec<f64>]) -> Vec<f64> {
    let p = FEATURES.len();
    let n = x.len().max(1) as f64;
    (0..p)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect()
}

/// Metrics per group of the test rows (gender, department), with the chosen model.
fn fairness(groups_of: &[(String, i64)], y: &[bool], proba: &[f64], threshold: f64) -> Value {
    let mut out = serde_json::Map::new();
    for (axis, key) in [("gender", 0), ("department", 1)] {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (g, d)) in groups_of.iter().enumerate() {
            let k = if key == 0 { g.clone() } else { d.to_string() };
            groups.entry(k).or_default().push(i);
        }
        let rows: Vec<Value> = groups
            .into_iter()
            .map(|(g, idx)| {
                let yy: Vec<bool> = idx.iter().map(|&i| y[i]).collect();
                let pp: Vec<f64> = idx.iter().map(|&i| proba[i]).collect();
                let m = ml::metrics(&yy, &pp, threshold);
                let flagged = pp.iter().filter(|p| **p >= threshold).count();
                json!({"group": g, "n": idx.len(), "positives": yy.iter().filter(|v| **v).count(),
                    "flagged_pct": round(flagged as f64 * 100.0 / idx.len().max(1) as f64, 1),
                    "accuracy": round(m.accuracy, 3), "precision": round(m.precision, 3),
                    "recall": round(m.recall, 3), "f1": round(m.f1, 3)})
            })
            .collect();
        out.insert(axis.into(), json!(rows));
    }
    Value::Object(out)
}

fn trait_text(lang: Lang, t: &str) -> String {
    let (name, dir) = t.split_at(t.len().saturating_sub(1));
    let key = if dir == "+" { "high" } else { "low" };
    lang.t(&format!("mining.trait.{key}"))
        .replace("{f}", &lang.t(&format!("mining.feature.{name}")))
}

/// Groups the scored students on their learning behaviour: standardised behaviour features,
/// k from 2 to 6 by the highest mean silhouette (on a sample of at most 1,500), k-means on a
/// sample of at most 10,000, every student assigned to the nearest centre.
fn clusters(
    x: &[Vec<f64>],
    seed: u64,
) -> Result<(Vec<usize>, Vec<ClusterOut>, Value), ml::MlError> {
    let beh: Vec<Vec<f64>> = x
        .iter()
        .map(|r| BEHAVIOUR.iter().map(|&j| r[j]).collect())
        .collect();
    let st = ml::Standardizer::fit(&beh);
    let z = st.transform(&beh);
    let step = |cap: usize| (z.len() / cap).max(1);
    let sample = |cap: usize| -> Vec<Vec<f64>> { z.iter().step_by(step(cap)).cloned().collect() };
    let small = sample(1500);
    let (k, scores) = cluster::choose_k(&small, 2..=6, seed)?;
    let km = cluster::kmeans(&sample(10_000), k, seed)?;
    let labels: Vec<usize> = z.iter().map(|r| km.assign(r)).collect();
    let pts = sample(600);
    let pca = cluster::pca2(&pts)?;
    let project = |r: &[f64]| -> [f64; 2] {
        let c: Vec<f64> = r.iter().zip(&pca.mean).map(|(a, m)| a - m).collect();
        [0, 1].map(|a| c.iter().zip(&pca.axes[a]).map(|(u, v)| u * v).sum())
    };
    let mut out = Vec::new();
    for (c, centre) in km.centroids.iter().enumerate() {
        let mut traits: Vec<(f64, String)> = centre
            .iter()
            .enumerate()
            .filter(|(_, v)| v.abs() >= 0.5)
            .map(|(i, v)| {
                let dir = if *v > 0.0 { "+" } else { "-" };
                (v.abs(), format!("{}{dir}", FEATURES[BEHAVIOUR[i]]))
            })
            .collect();
        traits.sort_by(|a, b| b.0.total_cmp(&a.0));
        let traits: Vec<String> = traits.into_iter().take(3).map(|(_, t)| t).collect();
        let words = |lang: Lang| {
            if traits.is_empty() {
                lang.t("mining.trait.typical")
            } else {
                traits
                    .iter()
                    .map(|t| trait_text(lang, t))
                    .collect::<Vec<_>>()
                    .join(if lang == Lang::Zh { "，" } else { ", " })
            }
        };
        let raw: Vec<f64> = centre
            .iter()
            .enumerate()
            .map(|(i, v)| round(v * st.std[i] + st.mean[i], 2))
            .collect();
        let p = project(centre);
        out.push(ClusterOut {
            label: c as i64,
            size: labels.iter().filter(|l| **l == c).count() as i64,
            centre: raw,
            description: json!({"zh": words(Lang::Zh), "en": words(Lang::En), "traits": traits}),
            x: p[0],
            y: p[1],
        });
    }
    let step600 = step(600);
    let points: Vec<Value> = pca
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| json!([round(p[0], 3), round(p[1], 3), labels[i * step600]]))
        .collect();
    let extra = json!({"k": k, "silhouette": scores, "explained": pca.explained, "points": points,
        "features": BEHAVIOUR.iter().map(|&j| FEATURES[j]).collect::<Vec<_>>()});
    Ok((labels, out, extra))
}

/// The metrics of a comparison's rows as JSON.
fn rows_json(rows: &[(String, ml::Metrics)]) -> Vec<Value> {
    rows.iter()
        .map(|(name, m)| json!({"name": name, "accuracy": round(m.accuracy, 4), "precision": round(m.precision, 4),
            "recall": round(m.recall, 4), "f1": round(m.f1, 4), "roc_auc": round(m.roc_auc, 4),
            "threshold": round(m.threshold, 4), "confusion": {"tp": m.confusion.tp, "fp": m.confusion.fp,
            "tn": m.confusion.tn, "fn": m.confusion.fn_}}))
        .collect()
}

/// How each model's decision threshold was chosen (see `ml::Model::fit_tuned`): the threshold,
/// on how many training rows, the F1 there at it and at the fixed threshold it replaced.
fn tuning_json(cmp: &ml::Comparison) -> Vec<Value> {
    cmp.tuning
        .iter()
        .map(|(kind, t)| {
            let alpha = if *kind == ml::ModelKind::Logistic {
                cmp.alpha
            } else {
                None
            };
            json!({"model": kind.as_str(), "source": t.source.as_str(), "threshold": round(t.threshold, 4),
                "rows": t.rows, "f1": round(t.f1, 4), "f1_fixed": round(t.f1_fixed, 4),
                "alpha": alpha})
        })
        .collect()
}

/// The F1 of the chosen model and of the best baseline rule on the test term, and whether the
/// model beats or matches that rule (said on the report, not hidden).
fn against_rules(cmp: &ml::Comparison) -> Value {
    let f1 = |name: &str| {
        cmp.rows
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, m)| m.f1)
    };
    let model = f1(cmp.chosen.as_str());
    let rule = cmp
        .rows
        .iter()
        .filter(|(n, _)| n.starts_with("rule:"))
        .max_by(|a, b| a.1.f1.total_cmp(&b.1.f1));
    match rule {
        Some((name, m)) => {
            json!({"model_f1": round(model, 4), "rule": name, "rule_f1": round(m.f1, 4),
            "model_matches_rule": model + 0.005 >= m.f1})
        }
        None => Value::Null,
    }
}

fn importances_json(model: &ml::Model) -> Vec<Value> {
    model
        .importances()
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"feature": FEATURES.get(i).copied().unwrap_or("?"), "value": round(*v, 4)}))
        .collect()
}

fn pct(y: &[bool]) -> f64 {
    round(
        y.iter().filter(|v| **v).count() as f64 * 100.0 / y.len().max(1) as f64,
        1,
    )
}

/// The factors that drove `row`'s score up, or one plain "overall" factor when none does.
fn factors_of(model: &ml::Model, row: &[f64], reference: &[f64]) -> Vec<Reason> {
    let mut top = top_reasons(&model.explain(row, reference), row, FACTORS);
    if top.is_empty() {
        // NOTE: a forest can score a row high through feature interactions while no single
        // feature, moved to the average, lowers its score; say so plainly.
        top.push(Reason {
            feature: "overall".into(),
            value: 0.0,
            contribution: 0.0,
            zh: Lang::Zh.t("mining.reason.overall"),
            en: Lang::En.t("mining.reason.overall"),
        });
    }
    top
}

/// Everything a run needs from the snapshot: the term datasets as of the same week (training
/// rows thinned to at most [`MAX_TRAIN_ROWS`]), the test rows' groups, the current rows.
pub fn prepare(snap: &Snapshot, plan: &Plan) -> Prepared {
    let t0 = Instant::now();
    let thinned = thinned_dataset(snap, &plan.train, plan.offset, MAX_TRAIN_ROWS);
    let (train, train_leave, train_rows) = (thinned.data, thinned.leave, thinned.all_rows);
    let (test, test_leave, test_who) =
        term_dataset(snap, std::slice::from_ref(&plan.test), plan.offset);
    let info: std::collections::HashMap<i64, (&str, i64)> = snap
        .students
        .iter()
        .map(|s| (s.id, (s.gender.as_str(), s.department)))
        .collect();
    let test_groups = test_who
        .iter()
        .map(|s| {
            info.get(s)
                .map_or((String::new(), 0), |(g, d)| (g.to_string(), *d))
        })
        .collect();
    let students = features::participants(snap, plan.current.id, plan.as_of);
    let (current, rows): (Vec<i64>, Vec<Vec<f64>>) = super::plan::every_row(students.len(), |i| {
        let s = students[i];
        (s, features::features(snap, s, &plan.current, plan.as_of))
    })
    .into_iter()
    .unzip();
    Prepared {
        train,
        train_leave,
        train_rows,
        test,
        test_leave,
        test_groups,
        current,
        rows,
        build_ms: t0.elapsed().as_secs_f64() * 1e3,
    }
}

/// The leaving model: the same comparison on the same rows with the leaving target. Returns
/// (the report's section, the current rows' (score, level, factors)); the section holds only
/// `error` when the model cannot be trained (e.g. nobody left in the training terms).
fn leaving(
    p: &Prepared,
    cfg: &TrainConfig,
    set: &MiningSettings,
    reference: &[f64],
) -> (Value, Vec<(f64, String, Vec<Reason>)>) {
    let with = |d: &Dataset, y: &[bool]| Dataset {
        feature_names: d.feature_names.clone(),
        x: d.x.clone(),
        y: y.to_vec(),
    };
    let train = with(&p.train, &p.train_leave);
    let test = with(&p.test, &p.test_leave);
    let mut cmp = match ml::compare_tuned(&train, &test, cfg) {
        Ok(c) => c,
        Err(e) => {
            return (
                json!({"error": e.to_string(), "train_positive_pct": pct(&train.y),
                    "test_positive_pct": pct(&test.y)}),
                Vec::new(),
            );
        }
    };
    cmp.rows.push(gpa_rule(&train, &test));
    let model = &cmp.model;
    let t = Instant::now();
    let proba = model.predict_proba(&p.rows);
    let scored: Vec<(f64, String, Vec<Reason>)> = p
        .rows
        .iter()
        .zip(&proba)
        .map(|(row, pr)| {
            let score = round(pr * 100.0, 1);
            let level = set.leave_level(score);
            let factors = if level == "low" {
                Vec::new()
            } else {
                factors_of(model, row, reference)
            };
            (score, level.to_string(), factors)
        })
        .collect();
    let levels = ["low", "medium", "high"].map(|l| scored.iter().filter(|f| f.1 == l).count());
    let section = json!({
        "chosen": cmp.chosen.as_str(),
        "choice_metric": CHOICE_METRIC,
        "target": "withdrawn after the as-of date, before the next term begins",
        "models": rows_json(&cmp.rows),
        "threshold": round(model.threshold(), 4),
        "threshold_tuning": tuning_json(&cmp),
        "against_rules": against_rules(&cmp),
        "importances": importances_json(model),
        "train_positive_pct": pct(&train.y),
        "test_positives": test.y.iter().filter(|v| **v).count(),
        "test_positive_pct": pct(&test.y),
        "levels": {"low": levels[0], "medium": levels[1], "high": levels[2]},
        "thresholds": {"medium": set.leave_medium_at, "high": set.leave_high_at},
        "timing_ms": {"fit": round(cmp.fit_ms, 0), "score_test": round(cmp.score_ms, 0),
            "score_current": round(t.elapsed().as_secs_f64() * 1e3, 0)},
    });
    (section, scored)
}

/// The CPU part of a run: compare, score, explain, cluster. Deterministic for a seed.
pub fn compute(snap: &Snapshot, plan: &Plan, set: &MiningSettings) -> AppResult<Outcome> {
    compute_prepared(prepare(snap, plan), plan, set)
}

/// [`compute`] on rows already prepared (the snapshot may be gone).
pub fn compute_prepared(p: Prepared, plan: &Plan, set: &MiningSettings) -> AppResult<Outcome> {
    let cfg = TrainConfig {
        seed: set.seed,
        trees: 100,
        balance_classes: true,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let (train, test) = (&p.train, &p.test);
    let mut cmp = ml::compare_tuned(train, test, &cfg)
        .map_err(|e| AppError::unprocessable("mining_failed", e.to_string()))?;
    cmp.rows.push(gpa_rule(train, test));
    let model = &cmp.model;
    let test_proba = model.predict_proba(&test.x);
    let fair = fairness(&p.test_groups, &test.y, &test_proba, model.threshold());

    let t1 = Instant::now();
    let rows = &p.rows;
    let proba = model.predict_proba(rows);
    let reference = mean_row(&train.x);
    let mut flags = Vec::with_capacity(rows.len());
    for ((s, row), pr) in p.current.iter().zip(rows).zip(&proba) {
        let score = round(pr * 100.0, 1);
        let level = set.level(score).to_string();
        let factors = if level == "low" {
            Vec::new()
        } else {
            factors_of(model, row, &reference)
        };
        flags.push((
            *s,
            score,
            level,
            FlagDetail {
                factors,
                features: row.iter().map(|v| round(*v, 3)).collect(),
                traits: Vec::new(),
                leave: None,
            },
            None,
        ));
    }
    let score_ms = t1.elapsed().as_secs_f64() * 1e3;

    let (leave_metrics, leave_scored) = leaving(&p, &cfg, set, &reference);
    for (f, (score, level, factors)) in flags.iter_mut().zip(leave_scored) {
        f.3.leave = Some(LeaveDetail {
            score,
            level,
            factors,
        });
    }

    let t2 = Instant::now();
    let (clusters_out, cluster_info) = if rows.len() >= 8 {
        match clusters(rows, set.seed) {
            Ok((labels, out, extra)) => {
                for (f, l) in flags.iter_mut().zip(&labels) {
                    f.4 = Some(*l as i64);
                    if let Some(c) = out.get(*l) {
                        f.3.traits = c.description["traits"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|v| v.as_str().map(String::from))
                                    .collect()
                            })
                            .unwrap_or_default();
                    }
                }
                (out, extra)
            }
            Err(e) => (Vec::new(), json!({"error": e.to_string()})),
        }
    } else {
        (Vec::new(), json!({"error": "too few students to group"}))
    };
    let cluster_ms = t2.elapsed().as_secs_f64() * 1e3;

    let mut hist = [0usize; 10];
    for f in &flags {
        hist[((f.1 / 10.0) as usize).min(9)] += 1;
    }
    let levels = ["low", "medium", "high"].map(|l| flags.iter().filter(|f| f.2 == l).count());
    let metrics = json!({
        "chosen": cmp.chosen.as_str(),
        "choice_metric": CHOICE_METRIC,
        "models": rows_json(&cmp.rows),
        "threshold": round(model.threshold(), 4),
        "threshold_tuning": tuning_json(&cmp),
        "against_rules": against_rules(&cmp),
        "importances": importances_json(model),
        "fairness": fair,
        "train_terms": plan.train.iter().map(|t| t.code.clone()).collect::<Vec<_>>(),
        "test_term": plan.test.code,
        "current_term": plan.current.code,
        "week": plan.offset.num_days() / 7 + 1,
        "train_rows": p.train_rows,
        "train_rows_fitted": train.rows(),
        "train_positive_pct": pct(&train.y),
        "train_with_gpa_trend_pct": pct(&train.x.iter().map(|r| r[GPA_TREND] != 0.0).collect::<Vec<_>>()),
        "test_rows": test.rows(),
        "test_positive_pct": pct(&test.y),
        "scored": flags.len(),
        "levels": {"low": levels[0], "medium": levels[1], "high": levels[2]},
        "thresholds": {"medium": set.medium_at, "high": set.high_at},
        "histogram": hist,
        "clusters": cluster_info,
        "leaving": leave_metrics,
        "timing_ms": {"build": round(p.build_ms, 0), "fit": round(cmp.fit_ms, 0), "score_test": round(cmp.score_ms, 0),
            "score_current": round(score_ms, 0), "cluster": round(cluster_ms, 0)},
    });
    Ok(Outcome {
        chosen: cmp.chosen,
        metrics,
        flags,
        clusters: clusters_out,
    })
}

/// The tables a run of `plan` reads, each term seen from its own as-of instant: the training
/// and test terms at the plan's offset into them and at the last day of the early-warning
/// curve (one snapshot serves the run and every day of its curve: features look only at what
/// was known on their own day), the current term at the plan's date.
pub async fn load_snapshot(db: &DatabaseConnection, plan: &Plan) -> AppResult<Snapshot> {
    let mut windows: Vec<(i64, Ts)> = plan
        .train
        .iter()
        .chain([&plan.test])
        .map(|t| (t.id, features::as_of_in(t, plan.offset)))
        .collect();
    if let Some(last) = early::curve_days(plan).last() {
        windows.extend(early::windows(plan, *last));
    }
    windows.push((plan.current.id, plan.as_of));
    features::load(db, &windows).await
}

/// Cancels a queued or running run: its worker stops at the next step, or, when no live
/// instance holds it, it is marked cancelled at once. Returns the run's status after the call.
pub async fn cancel(db: &DatabaseConnection, actor: i64, run_id: i64) -> AppResult<&'static str> {
    let run = mining_runs::Entity::find_by_id(run_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !run.status.is_live() {
        return Err(AppError::conflict(
            "not_running",
            format!("run {run_id} is {}, not running", run.status),
        ));
    }
    let txn = write_txn(db).await?;
    let outcome = crate::jobs::request_cancel(&txn, MINING_RUN, run_id).await?;
    let status = match outcome {
        crate::jobs::CancelOutcome::Requested => "cancelling",
        crate::jobs::CancelOutcome::Orphaned => {
            mining_runs::Entity::update_many()
                .col_expr(
                    mining_runs::Column::Status,
                    sea_orm::sea_query::Expr::value(JobStatus::Cancelled),
                )
                .col_expr(
                    mining_runs::Column::FinishedAt,
                    sea_orm::sea_query::Expr::value(Utc::now().fixed_offset()),
                )
                .filter(mining_runs::Column::Id.eq(run_id))
                .filter(mining_runs::Column::Status.is_in(JobStatus::LIVE))
                .exec(&txn)
                .await?;
            "cancelled"
        }
    };
    Entry::new(Some(actor), "mining.run_cancel", "mining_run")
        .id(run_id)
        .detail(json!({"status": status}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(status)
}

/// How the warning would have done as of each day of [`early::CURVE_DAYS`] on the test term,
/// with the run's chosen model, from the run's snapshot (see [`load_snapshot`]).
async fn early_curve(
    db: &DatabaseConnection,
    hb: &Heartbeat,
    run_id: i64,
    snap: &Arc<Snapshot>,
    plan: &Plan,
    kind: ModelKind,
    seed: u64,
) -> AppResult<Vec<early::CurvePoint>> {
    let days = early::curve_days(plan);
    let mut points = Vec::with_capacity(days.len());
    for (i, day) in days.iter().copied().enumerate() {
        let p = 0.6 + 0.2 * i as f64 / days.len() as f64;
        progress(
            db,
            hb,
            run_id,
            p,
            &format!("early warning curve: day {day}"),
        )
        .await?;
        let (snap, plan) = (snap.clone(), plan.clone());
        let point = tokio::task::spawn_blocking(move || {
            early::curve_point(&snap, &plan, day, kind, &early::train_config(seed))
        })
        .await
        .map_err(|e| AppError::internal(format!("mining stopped: {e}")))?;
        points.extend(point);
    }
    Ok(points)
}

async fn execute_inner(db: &DatabaseConnection, hb: &Heartbeat, run_id: i64) -> AppResult<()> {
    let t0 = Instant::now();
    progress(db, hb, run_id, 0.05, "loading").await?;
    let set = settings::get(db).await?;
    let all_terms = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?;
    let plan = plan(&all_terms, Utc::now().fixed_offset())?;
    let snap = Arc::new(load_snapshot(db, &plan).await?);
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    progress(db, hb, run_id, 0.3, "training").await?;
    let shared = snap.clone();
    let (plan, set, out) = tokio::task::spawn_blocking(move || {
        let prepared = prepare(&shared, &plan);
        drop(shared);
        let out = compute_prepared(prepared, &plan, &set);
        (plan, set, out)
    })
    .await
    .map_err(|e| AppError::internal(format!("mining stopped: {e}")))?;
    let mut out = out?;
    progress(db, hb, run_id, 0.6, "early_curve").await?;
    let t_early = Instant::now();
    let curve = early_curve(db, hb, run_id, &snap, &plan, out.chosen, set.seed).await?;
    let early_ms = t_early.elapsed().as_secs_f64() * 1e3;
    progress(db, hb, run_id, 0.75, "recommendations").await?;
    let t_recommend = Instant::now();
    let taken = recommend_store::taken_in(&snap);
    drop(snap);
    let (offline, courses) = recommend_store::build(db, taken, &plan.test, &plan.current).await?;
    let recommend_ms = t_recommend.elapsed().as_secs_f64() * 1e3;
    if let Some(m) = out.metrics.as_object_mut() {
        m.insert("early".into(), json!(curve));
        m.insert("recommend".into(), json!(offline));
    }
    progress(db, hb, run_id, 0.8, "saving").await?;
    let t1 = Instant::now();
    let txn = write_txn(db).await?;
    let per = 400;
    for chunk in out.flags.chunks(per) {
        let models: Vec<risk_flags::ActiveModel> = chunk
            .iter()
            .map(
                |(s, score, level, detail, cluster)| risk_flags::ActiveModel {
                    run_id: Set(run_id),
                    student_id: Set(*s),
                    score: Set(*score),
                    level: Set(level.clone()),
                    reasons: Set(json!(detail).to_string()),
                    cluster: Set(*cluster),
                    ..Default::default()
                },
            )
            .collect();
        risk_flags::Entity::insert_many(models)
            .exec_without_returning(&txn)
            .await?;
    }
    for c in &out.clusters {
        mining_clusters::ActiveModel {
            run_id: Set(run_id),
            label: Set(c.label),
            size: Set(c.size),
            centre: Set(json!(c.centre).to_string()),
            description: Set(c.description.to_string()),
            x: Set(c.x),
            y: Set(c.y),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    recommend_store::store(&txn, &courses).await?;
    super::formula::apply_active(&txn, run_id, &mut out.metrics).await?;
    if let Some(t) = out
        .metrics
        .get_mut("timing_ms")
        .and_then(Value::as_object_mut)
    {
        t.insert("load".into(), json!(round(load_ms, 0)));
        t.insert("early_curve".into(), json!(round(early_ms, 0)));
        t.insert("recommend".into(), json!(round(recommend_ms, 0)));
        t.insert(
            "save".into(),
            json!(round(t1.elapsed().as_secs_f64() * 1e3, 0)),
        );
        t.insert(
            "total".into(),
            json!(round(t0.elapsed().as_secs_f64() * 1e3, 0)),
        );
    }
    let run = mining_runs::Entity::find_by_id(run_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut am: mining_runs::ActiveModel = run.into();
    am.status = Set(JobStatus::Done);
    am.progress = Set(1.0);
    am.message = Set(String::new());
    am.as_of = Set(plan.as_of);
    am.term_id = Set(Some(plan.current.id));
    am.model = Set(Some(out.chosen.as_str().to_string()));
    am.params = Set(
        json!({"seed": set.seed, "trees": 100, "medium_at": set.medium_at, "high_at": set.high_at,
            "leave_medium_at": set.leave_medium_at, "leave_high_at": set.leave_high_at})
        .to_string(),
    );
    am.metrics = Set(out.metrics.to_string());
    am.finished_at = Set(Some(Utc::now().fixed_offset()));
    let run = am.update(&txn).await?;
    super::alerts::tell_advisors(&txn, &run).await?;
    Entry::new(None, "mining.run_finish", "mining_run")
        .id(run_id)
        .detail(json!({"model": out.chosen.as_str(), "flags": out.flags.len()}))
        .write(&txn)
        .await?;
    // NOTE: a run cancelled or taken over while saving stores nothing (the rollback).
    if let Some(stop) = hb.stop() {
        return Err(stopped(stop));
    }
    txn.commit().await?;
    Ok(())
}
