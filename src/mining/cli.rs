//! `srm mine …`: the mining module's commands.

use super::jobs;
use super::ml::evaluate::{self, Choice, Options, Report};
use super::ml::table::Spec;
use super::ml::{Goal, ModelKind, TrainConfig};
use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use clap::Subcommand;

// NOTE: parsed once per process; boxing the arguments would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum MineWhat {
    /// Cross-validate the risk models on any CSV file and print accuracy, precision, recall,
    /// F1 and ROC AUC of the positive class (mean ± standard deviation over the repeats, each
    /// repeat's figures from its pooled out-of-fold predictions) for logistic regression, the
    /// forest, the blend (the forest averaged with a one-split rule learned by accuracy) and
    /// the naive baselines.
    ///
    /// Every column but the target and --drop is a feature: a column whose values all parse as
    /// numbers is numeric (missing values NA, ?, empty → the column mean plus a 0/1 "missing"
    /// column), any other is text and one-hot encoded (over 50 distinct values: left out).
    /// Folds are stratified by class. Example, Cortez & Silva (2008) setup B:
    /// srm mine evaluate --csv student-mat.csv --target G3 --positive '<10' --drop G2
    /// --baseline-column G1
    Evaluate(EvaluateArgs),
    /// Run the at-risk job now (the same job as the button on /mining): train on earlier terms,
    /// test on the latest completed one, score the current term; prints the run's summary.
    Run(RunArgs),
    /// Set how often the server starts a run by itself (0 = never).
    Schedule(ScheduleArgs),
    /// Measure the early warning as of day N of the term: train on the earlier completed terms
    /// cut at day N, test on the latest completed one, and print ROC AUC, accuracy, precision,
    /// recall and F1 of the three models and of the baselines (majority; "missed the first
    /// assessment"; a prior-GPA cut). The chosen model is marked *.
    Early(EarlyArgs),
}

#[derive(clap::Args, Debug)]
pub struct EarlyArgs {
    /// Days after each term's first day (14 = end of week 2).
    #[arg(long)]
    pub as_of_day: i64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also write the rows (features, target, term, split) as CSV to this file, to cross-check
    /// with another tool on the same features.
    #[arg(long)]
    pub export_features: Option<std::path::PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Print the run's metrics as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ScheduleArgs {
    /// Hours between runs started by the server (0 = never).
    #[arg(long)]
    pub hours: u32,
}

#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// The CSV file (UTF-8, header line, quoted strings allowed).
    #[arg(long)]
    pub csv: std::path::PathBuf,
    /// The target column.
    #[arg(long)]
    pub target: String,
    /// Which target values are the positive (at-risk) class: a class value (`Dropout`, `yes`)
    /// or a comparison with a number (`<10`, `<=9`, `>=10`, `==0`, `!=0`).
    #[arg(long, allow_hyphen_values = true)]
    pub positive: String,
    /// Columns to leave out, comma-separated (e.g. `G1,G2`).
    #[arg(long, value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Field separator (one character; `\t` for tab). Default: the most frequent of `;` `,`
    /// and tab in the header line.
    #[arg(long)]
    pub sep: Option<String>,
    /// Number of folds.
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    /// Number of repetitions of the whole k-fold split (each with a new shuffle).
    #[arg(long, default_value_t = 20)]
    pub repeats: usize,
    /// auto (all three models; the one with the higher mean F1 of the positive class is
    /// reported as chosen, ties by ROC AUC), logistic, forest or blend.
    #[arg(long, default_value = "auto")]
    pub model: String,
    /// The naive baseline: predict from this column with the same --positive rule (e.g. the
    /// previous period's grade, `G2`). Without it the naive baseline is the training folds'
    /// majority class (always reported too).
    #[arg(long)]
    pub baseline_column: Option<String>,
    /// Decide at the training prevalence instead of 0.5 (as if both classes weighed the same):
    /// more of the positive class found (recall) at some cost in accuracy. Off by default, as
    /// published accuracy figures decide at 0.5.
    #[arg(long)]
    pub balanced: bool,
    /// Choose each fold's decision threshold on its training rows (the forest's out-of-bag
    /// votes, logistic regression's out-of-fold probabilities; the test fold is never read):
    /// `accuracy` or `f1` (of the positive class), or `off` for the fixed threshold (0.5, or the
    /// prevalence with --balanced).
    #[arg(long, default_value = "off")]
    pub tune: String,
    /// Trees in the forest.
    #[arg(long, default_value_t = 200)]
    pub trees: usize,
    /// Random seed (folds and forest); the same seed gives the same figures.
    #[arg(long, default_value_t = 20261124)]
    pub seed: u64,
    /// Print one JSON object instead of a table: `accuracy`, `precision`, `recall`, `f1`,
    /// `roc_auc` (means, fractions 0–1, of the chosen model), their `*_std`, `model`,
    /// `baseline` (the naive baseline's figures) and `candidates` (every row of the table).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: &AppConfig, what: MineWhat) -> AppResult<()> {
    match what {
        MineWhat::Run(args) => {
            crate::with_state(config.clone(), async |state| {
                let (r, secs) = jobs::run_now(&state.db, &state.jobs).await?;
                let metrics: serde_json::Value =
                    serde_json::from_str(&r.metrics).unwrap_or(serde_json::Value::Null);
                if args.json {
                    println!("{metrics}");
                } else {
                    println!("{}", run_summary(r.id, r.model.as_deref(), secs, &metrics));
                }
                Ok(())
            })
            .await
        }
        MineWhat::Schedule(args) => {
            crate::with_state(config.clone(), async |state| {
                jobs::set_schedule(&state.db, args.hours).await?;
                println!("mining runs every {} hours (0 = never)", args.hours);
                Ok(())
            })
            .await
        }
        MineWhat::Early(args) => {
            crate::with_state(config.clone(), async |state| {
                let seed = super::settings::get(&state.db).await?.seed;
                let (snap, plan) = super::early::load(&state.db, args.as_of_day).await?;
                let day = args.as_of_day;
                let export = args.export_features.clone();
                let (report, csv) = tokio::task::spawn_blocking(move || {
                    let report = super::early::evaluate(
                        &snap,
                        &plan,
                        day,
                        &super::early::train_config(seed),
                    );
                    let csv = export.map(|_| super::early::features_csv(&snap, &plan, day));
                    (report, csv)
                })
                .await
                .map_err(|e| AppError::internal(format!("the evaluation stopped: {e}")))?;
                let report =
                    report.map_err(|e| AppError::unprocessable("mining_failed", e.to_string()))?;
                if let (Some(path), Some(csv)) = (&args.export_features, csv) {
                    std::fs::write(path, csv).map_err(|e| {
                        AppError::bad_request(
                            "export_features",
                            format!("--export-features {}: {e}", path.display()),
                        )
                    })?;
                }
                if args.json {
                    println!("{}", serde_json::json!(report));
                } else {
                    print!("{}", super::early::report_text(&report));
                }
                Ok(())
            })
            .await
        }
        MineWhat::Evaluate(args) => {
            let json = args.json;
            let out = tokio::task::spawn_blocking(move || evaluate_cli(&args))
                .await
                .map_err(|e| AppError::internal(format!("the evaluation stopped: {e}")))??;
            let text = if json {
                report_json(&out).to_string()
            } else {
                report_text(&out)
            };
            println!("{text}");
            Ok(())
        }
    }
}

fn bad(message: String) -> AppError {
    AppError::bad_request("mine_evaluate", message)
}

/// Parses the options and runs the cross-validation.
pub fn evaluate_cli(args: &EvaluateArgs) -> AppResult<Report> {
    let opts = options(args)?;
    let sep = match args.sep.as_deref() {
        None => None,
        Some("\\t") | Some("tab") => Some(b'\t'),
        Some(s) if s.len() == 1 => s.bytes().next(),
        Some(s) => return Err(bad(format!("--sep {s:?}: give one character, e.g. ';'"))),
    };
    if !args.csv.is_file() {
        return Err(bad(format!("--csv {}: no such file", args.csv.display())));
    }
    evaluate::evaluate_file(&args.csv, sep, &opts).map_err(|e| bad(e.to_string()))
}

pub fn options(args: &EvaluateArgs) -> AppResult<Options> {
    let positive: Spec = args
        .positive
        .parse()
        .map_err(|e: super::ml::MlError| bad(e.to_string()))?;
    let model = match args.model.trim().to_ascii_lowercase().as_str() {
        "auto" => Choice::Auto,
        other => Choice::Only(other.parse::<ModelKind>().map_err(|_| {
            bad(format!(
                "--model {other:?}: use auto, logistic, forest or blend"
            ))
        })?),
    };
    let tune = match args.tune.trim().to_ascii_lowercase().as_str() {
        "off" => None,
        "accuracy" => Some(Goal::Accuracy),
        "f1" => Some(Goal::F1),
        other => return Err(bad(format!("--tune {other:?}: use accuracy, f1 or off"))),
    };
    if args.trees == 0 || args.trees > 10_000 {
        return Err(bad(format!("--trees {}: use 1 to 10000", args.trees)));
    }
    if args.repeats == 0 || args.repeats > 1000 {
        return Err(bad(format!("--repeats {}: use 1 to 1000", args.repeats)));
    }
    Ok(Options {
        target: args.target.clone(),
        positive,
        drop: args.drop.clone(),
        folds: args.folds,
        repeats: args.repeats,
        model,
        baseline_column: args.baseline_column.clone(),
        tune,
        train: TrainConfig {
            seed: args.seed,
            trees: args.trees,
            balance_classes: args.balanced,
            ..TrainConfig::default()
        },
    })
}

/// The table of a run's models and baselines on the held-out term (`metrics["models"]` or
/// `metrics["leaving"]["models"]`), the chosen one marked with `*`.
fn models_table(out: &mut String, title: &str, section: &serde_json::Value) {
    out.push_str(&format!(
        "{:<30} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        title, "accuracy", "precision", "recall", "F1", "ROC AUC", "threshold"
    ));
    let chosen = section["chosen"].as_str().unwrap_or("");
    for m in section["models"].as_array().into_iter().flatten() {
        let f = |k: &str| m[k].as_f64().unwrap_or(f64::NAN);
        let name = m["name"].as_str().unwrap_or("?");
        let mark = if name == chosen { " *" } else { "" };
        // NOTE: the baselines decide 0/1 at 0.5; only the models' thresholds carry news.
        let threshold = if name.starts_with("rule:") || name == "majority" {
            String::new()
        } else {
            format!("{:.4}", f("threshold"))
        };
        out.push_str(&format!(
            "{:<30} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9}\n",
            format!("{name}{mark}"),
            f("accuracy"),
            f("precision"),
            f("recall"),
            f("f1"),
            f("roc_auc"),
            threshold
        ));
    }
    if let Some(a) = section["against_rules"].as_object() {
        let verdict = if a["model_matches_rule"].as_bool() == Some(true) {
            "beats or matches"
        } else {
            "does NOT match"
        };
        out.push_str(&format!(
            "chosen model F1 {} {verdict} the best rule ({}, F1 {})\n",
            a["model_f1"],
            a["rule"].as_str().unwrap_or("?"),
            a["rule_f1"]
        ));
    }
    for t in section["threshold_tuning"].as_array().into_iter().flatten() {
        if let Some(alpha) = t["alpha"].as_f64() {
            out.push_str(&format!(
                "L2 strength of {}: {alpha} (lowest cross-validated log-loss on the training rows)\n",
                t["model"].as_str().unwrap_or("?")
            ));
        }
        out.push_str(&format!(
            "threshold of {}: {} (F1-best on {} training rows, {}; F1 there {} vs {} at the prevalence)\n",
            t["model"].as_str().unwrap_or("?"),
            t["threshold"],
            t["rows"],
            t["source"].as_str().unwrap_or("?").replace('_', "-"),
            t["f1"],
            t["f1_fixed"]
        ));
    }
}

/// What `srm mine run` prints: the run, its rows, the fail/drop models and baselines on the
/// held-out term, then the same for the leaving model, and the timings.
pub fn run_summary(id: i64, model: Option<&str>, secs: f64, metrics: &serde_json::Value) -> String {
    let mut s = format!(
        "run {id}: model {} · {:.1} s wall · terms train {} / test {} / scored {} (week {})\n",
        model.unwrap_or("-"),
        secs,
        metrics["train_terms"],
        metrics["test_term"],
        metrics["current_term"],
        metrics["week"]
    );
    s.push_str(&format!(
        "rows: train {} ({}% at risk), test {} ({}% at risk); scored {}; levels {}\n",
        metrics["train_rows"],
        metrics["train_positive_pct"],
        metrics["test_rows"],
        metrics["test_positive_pct"],
        metrics["scored"],
        metrics["levels"]
    ));
    models_table(&mut s, "fails or drops (held-out term)", metrics);
    let leaving = &metrics["leaving"];
    if let Some(e) = leaving["error"].as_str() {
        s.push_str(&format!("leaving: no model in this run: {e}\n"));
    } else if leaving.is_object() {
        s.push_str(&format!(
            "leaving: train {}% left, test {} left ({}%); model {}; levels {} (thresholds {})\n",
            leaving["train_positive_pct"],
            leaving["test_positives"],
            leaving["test_positive_pct"],
            leaving["chosen"].as_str().unwrap_or("-"),
            leaving["levels"],
            leaving["thresholds"]
        ));
        models_table(&mut s, "leaves (held-out term)", leaving);
        s.push_str(&format!("leaving timing (ms): {}\n", leaving["timing_ms"]));
    }
    s.push_str(&format!("timing (ms): {}", metrics["timing_ms"]));
    s
}

pub fn report_json(r: &Report) -> serde_json::Value {
    let chosen = r.chosen();
    let get = |f: fn(&evaluate::Summary) -> f64| chosen.map(f).unwrap_or(f64::NAN);
    serde_json::json!({
        "model": r.model.as_str(),
        "accuracy": get(|s| s.accuracy),
        "precision": get(|s| s.precision),
        "recall": get(|s| s.recall),
        "f1": get(|s| s.f1),
        "roc_auc": get(|s| s.roc_auc),
        "accuracy_std": get(|s| s.accuracy_std),
        "precision_std": get(|s| s.precision_std),
        "recall_std": get(|s| s.recall_std),
        "f1_std": get(|s| s.f1_std),
        "roc_auc_std": get(|s| s.roc_auc_std),
        "fold_sd": chosen.map(|s| s.fold_sd),
        "selection": r.selection,
        "chosen_in_folds": r.chosen_in_folds.iter().map(|(k, n)| (k.as_str(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
        "baseline": r.baseline(),
        "candidates": r.candidates,
        "rows": r.rows,
        "positives": r.positives,
        "features": r.features,
        "folds": r.folds,
        "repeats": r.repeats,
        "notes": r.notes,
        "seconds": r.seconds,
    })
}

pub fn report_text(r: &Report) -> String {
    let mut s = format!(
        "{} rows ({} positive), {} features; stratified {}-fold cross-validation × {} repeats, {:.1} s\n",
        r.rows, r.positives, r.features, r.folds, r.repeats, r.seconds
    );
    for n in &r.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s.push_str(&format!(
        "{:<24} {:>13} {:>13} {:>13} {:>13} {:>13} {:>9} {:>9}\n",
        "", "accuracy %", "precision %", "recall %", "F1 %", "ROC AUC %", "fit ms", "score ms"
    ));
    let cell = |m: f64, sd: f64| format!("{:.1} ± {:.1}", m * 100.0, sd * 100.0);
    let nested = r.candidates.iter().any(|c| c.name == evaluate::NESTED);
    for c in &r.candidates {
        let chosen = if nested {
            c.name == evaluate::NESTED
        } else {
            c.name == r.model.as_str()
        };
        let mark = if chosen { " *" } else { "" };
        s.push_str(&format!(
            "{:<24} {:>13} {:>13} {:>13} {:>13} {:>13} {:>9} {:>9}\n",
            format!("{}{mark}", c.name),
            cell(c.accuracy, c.fold_sd.accuracy),
            cell(c.precision, c.fold_sd.precision),
            cell(c.recall, c.fold_sd.recall),
            cell(c.f1, c.fold_sd.f1),
            cell(c.roc_auc, c.fold_sd.roc_auc),
            c.fit_ms.map_or(String::new(), |v| format!("{v:.1}")),
            c.score_ms.map_or(String::new(), |v| format!("{v:.2}")),
        ));
    }
    s.push_str(&format!(
        "± = standard deviation across the {} single folds ({} folds × {} repeats, each on its own test rows); \
across the {} repeats' pooled figures it is smaller (see --json: *_std)\n",
        r.folds * r.repeats,
        r.folds,
        r.repeats,
        r.repeats
    ));
    match &r.selection {
        Some(how) => {
            let counts: Vec<String> = r
                .chosen_in_folds
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            s.push_str(&format!(
                "model: * = chosen {how}; chosen in folds: {}; most often: {}",
                counts.join(", "),
                r.model
            ));
        }
        None => s.push_str(&format!("model: {} (as asked)", r.model)),
    }
    s
}
