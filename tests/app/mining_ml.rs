//! The model library (`srm::mining::ml`) on small data with known answers, and
//! `srm mine evaluate` on the UCI Student Performance files (Cortez & Silva 2008).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use srm::mining::ml::cluster::{choose_k, kmeans, pca2};
use srm::mining::ml::evaluate::{Choice, NESTED, Options, Report, evaluate_file, evaluate_table};
use srm::mining::ml::table::{Table, encode};
use srm::mining::ml::{
    Dataset, Fitting, Goal, Metrics, MlError, Model, ModelKind, Standardizer, ThresholdSource,
    TrainConfig, best_cut, best_threshold, compare, compare_tuned, metrics, roc_auc,
};
use std::path::PathBuf;

fn cfg(trees: usize, threads: usize) -> TrainConfig {
    TrainConfig {
        trees,
        threads,
        ..TrainConfig::default()
    }
}

/// Two features; positive when x0 + x1 > 0, with a gap of 0.5 around the boundary.
fn separable(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut d = Dataset {
        feature_names: vec!["a".into(), "b".into()],
        ..Default::default()
    };
    while d.x.len() < n {
        let (a, b) = (rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0));
        let s: f64 = a + b;
        if s.abs() < 0.5 {
            continue;
        }
        d.x.push(vec![a, b]);
        d.y.push(s > 0.0);
    }
    d
}

/// Feature 0 decides (y = x0 > 0.3, 10% of labels flipped), features 1 and 2 are noise.
fn one_signal(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut d = Dataset {
        feature_names: vec!["signal".into(), "noise1".into(), "noise2".into()],
        ..Default::default()
    };
    for _ in 0..n {
        let row: Vec<f64> = (0..3).map(|_| rng.random_range(0.0..1.0)).collect();
        let flip = rng.random_range(0.0..1.0) < 0.1;
        d.y.push((row[0] > 0.3) != flip);
        d.x.push(row);
    }
    d
}

#[test]
fn logistic_regression_classifies_linearly_separable_data_perfectly() {
    let train = separable(200, 1);
    let test = separable(200, 2);
    let m = Model::fit(ModelKind::Logistic, &train, &cfg(1, 1)).unwrap();
    assert_eq!(m.kind(), ModelKind::Logistic);
    let p = m.predict_proba(&test.x);
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(metrics(&test.y, &p, 0.5).accuracy, 1.0);
    assert_eq!(roc_auc(&test.y, &p), 1.0);
    // a and b matter equally; the explanation of a clearly positive row is positive
    let imp = m.importances();
    assert!((imp[0] - imp[1]).abs() / imp[0] < 0.2, "{imp:?}");
    let why = m.explain(&[2.0, 0.1], &[0.0, 0.0]);
    assert_eq!(why[0].0, 0);
    assert!(why[0].1 > 0.0 && why[0].1.abs() >= why[1].1.abs());
}

#[test]
fn metrics_match_a_hand_made_confusion_matrix() {
    // tp 3, fn 2, fp 1, tn 4
    let y = [
        true, true, true, true, true, false, false, false, false, false,
    ];
    let p = [0.9, 0.8, 0.7, 0.2, 0.1, 0.6, 0.4, 0.3, 0.2, 0.1];
    let m = metrics(&y, &p, 0.5);
    assert_eq!(
        (
            m.confusion.tp,
            m.confusion.fn_,
            m.confusion.fp,
            m.confusion.tn
        ),
        (3, 2, 1, 4)
    );
    assert!((m.accuracy - 0.7).abs() < 1e-12);
    assert!((m.precision - 0.75).abs() < 1e-12);
    assert!((m.recall - 0.6).abs() < 1e-12);
    assert!((m.f1 - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(m.threshold, 0.5);
    // ROC AUC: of the 25 (positive, negative) pairs 15 + 1 are ordered right and 2 tie
    // (0.2 = 0.2, 0.1 = 0.1): (16 + 2 × 0.5) / 25 = 0.68
    assert!((m.roc_auc - 0.68).abs() < 1e-12, "{}", m.roc_auc);
    assert!((roc_auc(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]) - 0.75).abs() < 1e-12);
}

#[test]
fn best_threshold_maximises_f1_and_one_class_data_does_not_panic() {
    let y = [false, false, true, true, false, true];
    let p = [0.1, 0.2, 0.7, 0.8, 0.3, 0.9];
    let t = best_threshold(&y, &p);
    assert!(t > 0.3 && t <= 0.7, "{t}");
    assert_eq!(metrics(&y, &p, t).f1, 1.0);
    let one = metrics(&[true, true], &[0.2, 0.9], 0.5);
    assert_eq!(one.roc_auc, 0.5, "undefined AUC is reported as 0.5");
    assert_eq!(best_threshold(&[false, false], &[0.1, 0.2]), 0.5);
    let empty = metrics(&[], &[], 0.5);
    assert_eq!((empty.accuracy, empty.f1), (0.0, 0.0));
}

/// On scores where one rare positive sits low, F1 flags down to it and accuracy does not; on
/// scores that say nothing, accuracy flags nobody.
#[test]
fn a_threshold_tuned_for_accuracy_differs_from_one_tuned_for_f1_where_it_should() {
    // 3 positives among 10; the third scores below one negative
    let y = [
        true, true, false, true, false, false, false, false, false, false,
    ];
    let p = [0.9, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05];
    // F1: the top four (2·3/(2·3+1) = 0.857) beat the top two (0.8); accuracy: 0.9 both
    // ways, and a tie keeps the fewer flags
    let f1 = best_cut(&y, &p, Goal::F1);
    let acc = best_cut(&y, &p, Goal::Accuracy);
    assert!((f1 - 0.45).abs() < 1e-12, "{f1}");
    assert!((acc - 0.7).abs() < 1e-12, "{acc}");
    assert_eq!(metrics(&y, &p, acc).accuracy, 0.9);
    assert!((metrics(&y, &p, f1).f1 - 6.0 / 7.0).abs() < 1e-12);
    assert_eq!(best_threshold(&y, &p), f1);
    // one positive in ten, scores unrelated to it: accuracy is best flagging nobody
    let y1 = [
        false, false, false, false, false, false, false, false, false, true,
    ];
    let t = best_cut(&y1, &p, Goal::Accuracy);
    assert!(t > 0.9, "{t}");
    assert_eq!(metrics(&y1, &p, t).accuracy, 0.9);
    assert_eq!(
        metrics(&y1, &[1.0; 10], best_cut(&y1, &[1.0; 10], Goal::Accuracy)).accuracy,
        0.9
    );
    assert_eq!(best_cut(&[false, false], &[0.1, 0.2], Goal::Accuracy), 0.5);
}

/// Logistic regression's L2 strength comes from cross-validated log-loss inside the training
/// rows: the weakest on a clean signal, the strongest on thirty columns of noise.
#[test]
fn logistic_regression_chooses_its_penalty_by_cross_validation() {
    let clean = Model::fit(ModelKind::Logistic, &separable(200, 41), &cfg(1, 2)).unwrap();
    assert_eq!(clean.alpha(), Some(1.0));
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let noise = Dataset {
        feature_names: (0..30).map(|j| format!("n{j}")).collect(),
        x: (0..200)
            .map(|_| (0..30).map(|_| rng.random_range(0.0..1.0)).collect())
            .collect(),
        y: (0..200).map(|i| i % 3 == 0).collect(),
    };
    let noisy = Model::fit(ModelKind::Logistic, &noise, &cfg(1, 2)).unwrap();
    assert_eq!(noisy.alpha(), Some(100.0));
    assert_eq!(
        Model::fit(ModelKind::Forest, &noise, &cfg(3, 1))
            .unwrap()
            .alpha(),
        None
    );
    // the same choice and model on one thread or two
    let again = Model::fit(ModelKind::Logistic, &noise, &cfg(1, 1)).unwrap();
    assert_eq!(again.alpha(), noisy.alpha());
    // a big table: the strength is chosen on a sample, and the threshold on the same sample's
    // out-of-fold answers (no further fits on every row)
    let big = separable(6000, 43);
    let tuned = Model::fit_tuned(ModelKind::Logistic, &big, &cfg(1, 2)).unwrap();
    assert_eq!(tuned.alpha(), Some(1.0));
    assert_eq!(tuned.tuning().source, ThresholdSource::OutOfFold);
    assert!(
        (4990..=5010).contains(&tuned.tuning().rows),
        "{}",
        tuned.tuning().rows
    );
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let c = cfg(5, 2);
    for kind in [ModelKind::Logistic, ModelKind::Forest, ModelKind::Blend] {
        let empty = Dataset::default();
        assert_eq!(Model::fit(kind, &empty, &c).err(), Some(MlError::Empty));
        let mut one = separable(20, 3);
        one.y = vec![true; 20];
        assert_eq!(Model::fit(kind, &one, &c).err(), Some(MlError::OneClass));
        let mut nan = separable(20, 3);
        nan.x[4][1] = f64::NAN;
        assert!(matches!(
            Model::fit(kind, &nan, &c),
            Err(MlError::NotFinite { row: 5, column: 2 })
        ));
        let mut short = separable(20, 3);
        short.y.pop();
        assert!(matches!(
            Model::fit(kind, &short, &c),
            Err(MlError::Mismatch(_))
        ));
        let mut ragged = separable(20, 3);
        ragged.x[2].push(1.0);
        assert!(matches!(
            Model::fit(kind, &ragged, &c),
            Err(MlError::Mismatch(_))
        ));
        // a fitted model scores bad rows as the prevalence and explains them as nothing
        let m = Model::fit(kind, &separable(40, 4), &c).unwrap();
        let p = m.predict_proba(&[vec![1.0], vec![f64::NAN, 0.0], vec![1.0, 1.0]]);
        assert_eq!(p[0], m.prevalence());
        assert_eq!(p[1], m.prevalence());
        assert!(m.check(&[vec![1.0]]).is_err());
        assert!(m.explain(&[1.0], &[0.0, 0.0]).is_empty());
    }
    assert!(kmeans(&[], 2, 1).is_err());
    assert!(kmeans(&[vec![1.0], vec![2.0]], 3, 1).is_err());
    assert!(kmeans(&[vec![1.0], vec![f64::INFINITY]], 1, 1).is_err());
    assert!(pca2(&[]).is_err());
    assert!(choose_k(&[vec![1.0], vec![2.0]], 2..=5, 1).is_err());
    let s = Standardizer::fit(&[vec![1.0, 5.0], vec![3.0, 5.0]]);
    assert_eq!(
        s.transform_row(&[2.0, 5.0]),
        vec![0.0, 0.0],
        "constant column maps to 0"
    );
}

#[test]
fn the_forest_is_deterministic_for_a_seed_whatever_the_threads_and_survives_serde() {
    let train = one_signal(300, 5);
    let test = one_signal(200, 6);
    let a = Model::fit(ModelKind::Forest, &train, &cfg(30, 1)).unwrap();
    let b = Model::fit(ModelKind::Forest, &train, &cfg(30, 2)).unwrap();
    let pa = a.predict_proba(&test.x);
    assert_eq!(pa, b.predict_proba(&test.x));
    assert_eq!(a.importances(), b.importances());
    let other = Model::fit(
        ModelKind::Forest,
        &train,
        &TrainConfig {
            seed: 7,
            ..cfg(30, 2)
        },
    )
    .unwrap();
    assert_ne!(
        pa,
        other.predict_proba(&test.x),
        "another seed, another forest"
    );
    // vote fractions, good enough, and the signal is the most important feature
    assert!(pa.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(metrics(&test.y, &pa, 0.5).accuracy > 0.8);
    let imp = a.importances();
    assert!(
        imp[0] > 5.0 * imp[1].abs() && imp[0] > 5.0 * imp[2].abs(),
        "{imp:?}"
    );
    let reference = vec![0.5; 3];
    let one_by_one: Vec<_> = test.x[..20]
        .iter()
        .map(|r| a.explain(r, &reference))
        .collect();
    assert_eq!(a.explain_many(&test.x[..20], &reference), one_by_one);
    assert!(one_by_one.iter().all(|e| e.len() == 3));
    // balance_classes: a calibrated probability, decided at the training prevalence
    assert!((a.threshold() - a.prevalence()).abs() < 1e-12);
    let json = serde_json::to_string(&a).unwrap();
    let back: Model = serde_json::from_str(&json).unwrap();
    assert_eq!(back.kind(), ModelKind::Forest);
    assert_eq!(back.predict_proba(&test.x), pa);
    let lr = Model::fit(ModelKind::Logistic, &train, &cfg(1, 1)).unwrap();
    let back: Model = serde_json::from_str(&serde_json::to_string(&lr).unwrap()).unwrap();
    // NOTE: serde_json's default float parsing may move a coefficient by one ulp
    let (p1, p2) = (back.predict_proba(&test.x), lr.predict_proba(&test.x));
    assert!(p1.iter().zip(&p2).all(|(a, b)| (a - b).abs() < 1e-12));
    assert_eq!(
        Model::fit(ModelKind::Logistic, &train, &cfg(1, 1))
            .unwrap()
            .predict_proba(&test.x),
        lr.predict_proba(&test.x)
    );
}

/// The blend's rule finds by accuracy the one cut that decides `one_signal` (x0 > 0.3), and the
/// blend scores a row as the mean of its forest (the forest of the same seed) and that rule.
#[test]
fn the_blend_learns_the_deciding_cut_and_averages_it_with_the_forest() {
    let train = one_signal(400, 21);
    let test = one_signal(300, 22);
    let blend = Model::fit(ModelKind::Blend, &train, &cfg(20, 2)).unwrap();
    assert_eq!(blend.kind(), ModelKind::Blend);
    let (feature, cut) = blend.rule().unwrap();
    assert_eq!(feature, 0);
    assert!((cut - 0.3).abs() < 0.05, "cut {cut}");
    let forest = Model::fit(ModelKind::Forest, &train, &cfg(20, 2)).unwrap();
    assert_eq!(forest.rule(), None);
    let (pb, pf) = (blend.predict_proba(&test.x), forest.predict_proba(&test.x));
    // what the rule said: one share of positives on each side of the cut (10% labels flipped)
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for ((row, b), f) in test.x.iter().zip(&pb).zip(&pf) {
        let said = 2.0 * b - f;
        if row[0] > cut {
            right.push(said)
        } else {
            left.push(said)
        }
    }
    let same = |v: &[f64]| v.iter().all(|x| (x - v[0]).abs() < 1e-9);
    assert!(same(&left) && same(&right));
    assert!(left[0] < 0.2 && right[0] > 0.8, "{} {}", left[0], right[0]);
    assert!(metrics(&test.y, &pb, blend.threshold()).accuracy > 0.85);
    let imp = blend.importances();
    assert!(imp[0] > imp[1] && imp[0] > imp[2], "{imp:?}");
    let back: Model = serde_json::from_str(&serde_json::to_string(&blend).unwrap()).unwrap();
    assert_eq!(back.kind(), ModelKind::Blend);
    assert_eq!(back.predict_proba(&test.x), pb);
    assert_eq!("blend".parse::<ModelKind>().unwrap(), ModelKind::Blend);
}

/// Fitting the three models together grows the forest once for the forest and the blend, and
/// gives the same models, thresholds and tunings as fitting each alone.
#[test]
fn models_fitted_together_equal_models_fitted_alone() {
    let train = one_signal(300, 31);
    let test = one_signal(200, 32);
    let kinds = [ModelKind::Logistic, ModelKind::Forest, ModelKind::Blend];
    for how in [
        Fitting::Plain { importances: true },
        Fitting::Tuned(Goal::F1),
    ] {
        let together = Model::fit_each(&kinds, &train, &cfg(30, 2), how).unwrap();
        assert_eq!(together.len(), 3);
        for ((m, ms), kind) in together.iter().zip(kinds) {
            let alone = match how {
                Fitting::Tuned(_) => Model::fit_tuned(kind, &train, &cfg(30, 2)),
                _ => Model::fit(kind, &train, &cfg(30, 2)),
            }
            .unwrap();
            assert_eq!(m.kind(), kind);
            assert!(*ms > 0.0, "{kind}: {ms} ms");
            // NOTE: smartcore's optimiser can differ in the last bit from one call to the next
            let near = |a: &[f64], b: &[f64]| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
            };
            let p = alone.predict_proba(&test.x);
            assert!(near(&m.predict_proba(&test.x), &p), "{kind}");
            assert!(near(&[m.threshold()], &[alone.threshold()]), "{kind}");
            assert_eq!(m.tuning().source, alone.tuning().source, "{kind}");
            assert!(near(&m.importances(), &alone.importances()), "{kind}");
            // stored whole, each on its own
            let back: Model = serde_json::from_str(&serde_json::to_string(m).unwrap()).unwrap();
            assert!(near(&back.predict_proba(&test.x), &p), "{kind}");
        }
        if how != (Fitting::Plain { importances: true }) {
            assert_ne!(together[1].0.tuning().source, ThresholdSource::Fixed);
        }
    }
    assert_eq!(
        Model::fit_each(
            &kinds,
            &Dataset::default(),
            &cfg(5, 1),
            Fitting::Tuned(Goal::F1)
        )
        .err(),
        Some(MlError::Empty)
    );
}

#[test]
fn compare_picks_a_model_and_reports_the_baselines() {
    let train = one_signal(300, 8);
    let test = one_signal(200, 9);
    let c = compare(&train, &test, &cfg(20, 2)).unwrap();
    let names: Vec<&str> = c.rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&names[..4], &["logistic", "forest", "blend", "majority"]);
    assert!(names[4].starts_with("rule: signal"), "{names:?}");
    assert_eq!(c.model.kind(), c.chosen);
    let at = names.iter().position(|n| *n == c.chosen.as_str()).unwrap();
    let chosen = &c.rows[at].1;
    for (_, m) in &c.rows {
        assert!(chosen.f1 >= m.f1 - 1e-9 || m.roc_auc <= chosen.roc_auc);
    }
    assert!(c.fit_ms > 0.0);
}

/// A rare positive class (about 7%): P(positive) is 0.5 when x0 > 0.9, else 0.02; x1 and x2
/// are noise. Deciding at the prevalence flags far too many rows (all with x0 above about
/// 0.7 or so for a monotone model); the F1-best decision flags only x0 > 0.9.
fn rare(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut d = Dataset {
        feature_names: vec!["signal".into(), "noise1".into(), "noise2".into()],
        ..Default::default()
    };
    for _ in 0..n {
        let row: Vec<f64> = (0..3).map(|_| rng.random_range(0.0..1.0)).collect();
        let p = if row[0] > 0.9 { 0.5 } else { 0.02 };
        d.y.push(rng.random_range(0.0..1.0) < p);
        d.x.push(row);
    }
    d
}

#[test]
fn tuned_thresholds_come_from_unseen_training_rows_only_and_beat_the_prevalence_on_rare_data() {
    let train = rare(3000, 21);
    let test = rare(3000, 22);
    // The same test rows with other labels: another draw's.
    let relabelled = Dataset {
        y: rare(3000, 23).y,
        ..test.clone()
    };
    for kind in [ModelKind::Logistic, ModelKind::Forest, ModelKind::Blend] {
        let plain = Model::fit(kind, &train, &cfg(40, 2)).unwrap();
        let tuned = Model::fit_tuned(kind, &train, &cfg(40, 2)).unwrap();
        let t = tuned.tuning();
        let source = match kind {
            ModelKind::Logistic => ThresholdSource::OutOfFold,
            ModelKind::Forest | ModelKind::Blend => ThresholdSource::OutOfBag,
        };
        assert_eq!(t.source, source);
        assert_eq!(t.threshold, tuned.threshold());
        assert!(t.rows > 2000, "{kind}: {} unseen training rows", t.rows);
        assert!(t.f1 >= t.f1_fixed, "{kind}: {t:?}");
        // The model is the same; only the decision moved, well above the prevalence.
        assert_eq!(plain.predict_proba(&test.x), tuned.predict_proba(&test.x));
        assert!((plain.threshold() - plain.prevalence()).abs() < 1e-12);
        assert!(
            tuned.threshold() > 2.0 * tuned.prevalence(),
            "{kind}: {t:?}"
        );
        let p = tuned.predict_proba(&test.x);
        let (f_tuned, f_fixed) = (
            metrics(&test.y, &p, tuned.threshold()).f1,
            metrics(&test.y, &p, plain.threshold()).f1,
        );
        eprintln!(
            "{kind}: threshold {:.3} (prevalence {:.3}); test F1 {f_tuned:.3} vs {f_fixed:.3}",
            tuned.threshold(),
            tuned.prevalence()
        );
        assert!(f_tuned > f_fixed + 0.05, "{kind}: {f_tuned} vs {f_fixed}");
        // Same seed, other thread count: the same threshold.
        let again = Model::fit_tuned(kind, &train, &cfg(40, 1)).unwrap();
        assert_eq!(again.tuning(), t);
    }
    // The comparison never reads the test labels to set a threshold: other labels, the same
    // thresholds (while the test metrics do change).
    let a = compare_tuned(&train, &test, &cfg(40, 2)).unwrap();
    let b = compare_tuned(&train, &relabelled, &cfg(40, 2)).unwrap();
    assert_eq!(a.tuning, b.tuning);
    for ((na, ma), (nb, mb)) in a.rows.iter().zip(&b.rows).take(2) {
        assert_eq!(na, nb);
        assert_eq!(ma.threshold, mb.threshold);
    }
    assert_ne!(a.rows[0].1.f1, b.rows[0].1.f1);
    // One positive: nothing to tune on, the fixed threshold stays.
    let mut one = train.clone();
    one.y = vec![false; one.rows()];
    one.y[0] = true;
    let m = Model::fit_tuned(ModelKind::Logistic, &one, &cfg(10, 1)).unwrap();
    assert_eq!(m.tuning().source, ThresholdSource::Fixed);
    assert_eq!(m.threshold(), m.prevalence());
}

/// Three blobs around (0,0), (10,0) and (0,10).
fn blobs() -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut x = Vec::new();
    for c in [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]] {
        for _ in 0..50 {
            x.push(vec![
                c[0] + rng.random_range(-1.0..1.0),
                c[1] + rng.random_range(-1.0..1.0),
            ]);
        }
    }
    x
}

#[test]
fn kmeans_finds_three_blobs_and_choose_k_picks_three() {
    let x = blobs();
    let km = kmeans(&x, 3, 42).unwrap();
    for b in 0..3 {
        let label = km.labels[b * 50];
        assert!(km.labels[b * 50..(b + 1) * 50].iter().all(|&l| l == label));
    }
    let mut centres: Vec<(i64, i64)> = km
        .centroids
        .iter()
        .map(|c| (c[0].round() as i64, c[1].round() as i64))
        .collect();
    centres.sort();
    assert_eq!(centres, vec![(0, 0), (0, 10), (10, 0)]);
    assert_eq!(km, kmeans(&x, 3, 42).unwrap(), "deterministic per seed");
    let (k, scores) = choose_k(&x, 2..=6, 42).unwrap();
    assert_eq!(k, 3, "{scores:?}");
    assert_eq!(scores.len(), 5);
}

#[test]
fn pca_of_points_on_a_line_explains_all_the_variance() {
    let x: Vec<Vec<f64>> = (0..50)
        .map(|i| {
            let t = i as f64;
            vec![t, 2.0 * t + 1.0, -t]
        })
        .collect();
    let p = pca2(&x).unwrap();
    assert!(p.explained[0] > 0.999, "{:?}", p.explained);
    assert!(p.explained[1] < 1e-6);
    assert_eq!(p.points.len(), 50);
    let spread = (p.points[49][0] - p.points[0][0]).abs();
    assert!((spread - 49.0 * 6f64.sqrt()).abs() < 1e-6);
}

// ---- srm mine evaluate on the UCI Student Performance files ----

/// The UCI files shipped with the suite (CC BY 4.0; see `tests/data/uci-student-performance`).
fn uci(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/uci-student-performance")
        .join(name)
}

fn setup(setup: char, model: Choice, repeats: usize, trees: usize) -> Options {
    let (drop, baseline): (Vec<String>, Option<String>) = match setup {
        'A' => (vec![], Some("G2".into())),
        'B' => (vec!["G2".into()], Some("G1".into())),
        _ => (vec!["G1".into(), "G2".into()], None),
    };
    Options {
        target: "G3".into(),
        positive: "<10".parse().unwrap(),
        drop,
        folds: 10,
        repeats,
        model,
        baseline_column: baseline,
        tune: None,
        train: TrainConfig {
            trees,
            balance_classes: false,
            ..TrainConfig::default()
        },
    }
}

fn pct(v: f64) -> f64 {
    (v * 1000.0).round() / 10.0
}

#[test]
fn evaluate_reproduces_the_papers_naive_baseline_on_all_six_setups() {
    let table = [
        ("student-mat.csv", 'A', 91.9, 395, 130),
        ("student-mat.csv", 'B', 83.8, 395, 130),
        ("student-mat.csv", 'C', 67.1, 395, 130),
        ("student-por.csv", 'A', 89.7, 649, 100),
        ("student-por.csv", 'B', 87.5, 649, 100),
        ("student-por.csv", 'C', 84.6, 649, 100),
    ];
    for (file, s, nv, rows, fails) in table {
        let opts = setup(s, Choice::Only(ModelKind::Logistic), 1, 1);
        let r: Report = evaluate_file(&uci(file), None, &opts).unwrap();
        assert_eq!(
            (r.rows, r.positives),
            (rows, fails),
            "{file}: G3 < 10 is the fail rule"
        );
        let base = r.baseline().unwrap();
        assert_eq!(pct(base.accuracy), nv, "{file} setup {s}: {}", base.name);
        let majority = r.candidates.iter().find(|c| c.name == "majority").unwrap();
        let share = (rows - fails) as f64 / rows as f64;
        assert!((majority.accuracy - share).abs() < 1e-12);
        // 17 text columns one-hot encoded into 30 columns, 13 numeric, and G1/G2 unless dropped
        let grades = 2 - opts.drop.len();
        assert_eq!(r.features, 43 + grades, "{file}");
    }
}

#[test]
fn evaluate_beats_the_naive_baseline_on_mathematics_with_g1_and_g2() {
    let opts = setup('A', Choice::Only(ModelKind::Logistic), 2, 1);
    let r = evaluate_file(&uci("student-mat.csv"), None, &opts).unwrap();
    let lr = r.chosen().unwrap();
    assert_eq!(lr.name, "logistic");
    assert!(lr.accuracy >= 0.915, "logistic {:.3}", lr.accuracy);
    assert!(lr.roc_auc > 0.95 && lr.recall > 0.8 && lr.f1 > 0.85);
    // the forest, small and in a debug build, is still far above the majority class
    let opts = setup('C', Choice::Auto, 1, 20);
    let r = evaluate_file(&uci("student-por.csv"), None, &opts).unwrap();
    // three models, the nested choice, the majority class
    assert_eq!(r.candidates.len(), 5);
    for name in ["forest", "blend"] {
        let model = r.candidates.iter().find(|c| c.name == name).unwrap();
        assert!(model.roc_auc > 0.7, "{name} {}", model.roc_auc);
        assert!(model.fit_ms.is_some());
    }
}

/// `--tune f1`: each fold's forest decides at the F1-best cut of its out-of-bag votes instead of
/// at 0.5, which on Portuguese without grades (15% failing) finds more of the failing students.
#[test]
fn evaluate_can_tune_each_folds_threshold_on_its_training_rows() {
    let fixed = setup('C', Choice::Only(ModelKind::Forest), 1, 30);
    let tuned = Options {
        tune: Some(Goal::F1),
        ..fixed.clone()
    };
    let file = uci("student-por.csv");
    let a = evaluate_file(&file, None, &fixed).unwrap();
    let b = evaluate_file(&file, None, &tuned).unwrap();
    let (a, b) = (a.chosen().unwrap(), b.chosen().unwrap());
    assert!(
        b.recall > a.recall + 0.1,
        "recall {} -> {}",
        a.recall,
        b.recall
    );
    assert!(b.f1 > a.f1, "F1 {} -> {}", a.f1, b.f1);
    // the same forests: only the decisions moved, so the ranking is the same
    assert!((a.roc_auc - b.roc_auc).abs() < 1e-12);
}

fn srm() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_srm"));
    let dir = std::env::temp_dir().join(format!("srm-ml-{}", uuid::Uuid::new_v4().simple()));
    c.env("SRM_DATA_DIR", dir)
        .env("SRM_DEMO", "0")
        .env_remove("SRM_DATABASE_URL")
        .env("SRM_LOG", "error");
    c
}

#[test]
fn the_evaluate_command_prints_json_and_explains_bad_options() {
    let dir = std::env::temp_dir().join(format!("srm-ml-csv-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // quoted text with the separator inside, a missing value, a Dropout/Graduate target
    let mut csv = String::from("id,\"course, name\",score,target\n");
    for i in 0..60 {
        let course = if i % 3 == 0 {
            "\"Maths, advanced\""
        } else {
            "\"Art\""
        };
        let score = if i == 7 {
            "NA".to_string()
        } else {
            (i % 20).to_string()
        };
        let target = if i % 20 < 7 { "Dropout" } else { "Graduate" };
        csv.push_str(&format!("s{i},{course},{score},{target}\n"));
    }
    let file = dir.join("small.csv");
    std::fs::write(&file, csv).unwrap();
    let out = srm()
        .args(["mine", "evaluate", "--csv"])
        .arg(&file)
        .args([
            "--target",
            "target",
            "--positive",
            "Dropout",
            "--folds",
            "3",
        ])
        .args(["--repeats", "2", "--trees", "10", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["accuracy", "precision", "recall", "f1", "roc_auc"] {
        let x = v[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{key} {x}");
    }
    assert!(["logistic", "forest", "blend"].contains(&v["model"].as_str().unwrap()));
    assert!(v["accuracy"].as_f64().unwrap() > 0.9, "score decides: {v}");
    assert_eq!(v["positives"], 21);
    let notes = v["notes"].to_string();
    assert!(notes.contains("id") && notes.contains("missing"), "{notes}");

    let text = srm()
        .args(["mine", "evaluate", "--csv"])
        .arg(&file)
        .args([
            "--target",
            "target",
            "--positive",
            "Dropout",
            "--folds",
            "3",
        ])
        .args([
            "--repeats",
            "1",
            "--trees",
            "5",
            "--baseline-column",
            "target",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("majority") && text.contains("naive: target"),
        "{text}"
    );

    for (args, message) in [
        (
            vec![
                "--csv",
                "/nonexistent/x.csv",
                "--target",
                "G3",
                "--positive",
                "<10",
            ],
            "no such file",
        ),
        (
            vec!["--target", "nope", "--positive", "<10"],
            "no column \"nope\"",
        ),
        (
            vec!["--target", "target", "--positive", "<ten"],
            "needs a number",
        ),
        (
            vec!["--target", "target", "--positive", "<10"],
            "not a number",
        ),
        (
            vec![
                "--target",
                "target",
                "--positive",
                "Dropout",
                "--model",
                "svm",
            ],
            "--model",
        ),
        (
            vec![
                "--target",
                "target",
                "--positive",
                "Dropout",
                "--tune",
                "recall",
            ],
            "--tune \"recall\": use accuracy, f1 or off",
        ),
        (
            vec![
                "--target",
                "target",
                "--positive",
                "Dropout",
                "--folds",
                "1",
            ],
            "--folds",
        ),
        (
            vec!["--target", "target", "--positive", "Nobody"],
            "one class",
        ),
        (
            vec![
                "--target",
                "target",
                "--positive",
                "Dropout",
                "--drop",
                "zz",
            ],
            "no column \"zz\"",
        ),
    ] {
        let mut c = srm();
        c.args(["mine", "evaluate"]);
        if !args.contains(&"--csv") {
            c.arg("--csv").arg(&file);
        }
        let out = c.args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

// ---- honest evaluation ----

fn scored(f1: f64, roc_auc: f64) -> Metrics {
    Metrics {
        f1,
        roc_auc,
        ..Metrics::default()
    }
}

/// `--model auto` once compared each model with the first (logistic) instead of the best so
/// far, so it reported the last model that beat logistic: here the blend instead of the forest.
#[test]
fn the_automatic_choice_is_the_best_candidate_not_the_last_that_beats_the_first() {
    use srm::mining::ml::compare::pick_best;
    let candidates = [
        (ModelKind::Logistic, scored(0.60, 0.80)),
        (ModelKind::Forest, scored(0.676, 0.816)),
        (ModelKind::Blend, scored(0.656, 0.805)),
    ];
    assert_eq!(pick_best(candidates), Some(ModelKind::Forest));
    // a tie in F1 goes to the higher ROC AUC, a full tie to the earlier (simpler) model
    let tie = [
        (ModelKind::Logistic, scored(0.5, 0.7)),
        (ModelKind::Forest, scored(0.5, 0.7)),
        (ModelKind::Blend, scored(0.5, 0.71)),
    ];
    assert_eq!(pick_best(tie), Some(ModelKind::Blend));
    assert_eq!(pick_best(tie[..2].to_vec()), Some(ModelKind::Logistic));
}

/// A small table: `score` decides the class, `noise` does not.
fn small_table(rows: usize, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut csv = String::from("score,noise,group,target\n");
    for i in 0..rows {
        let score: f64 = rng.random_range(0.0..20.0);
        let noise: f64 = rng.random_range(0.0..1.0);
        let target = if score + rng.random_range(-3.0..3.0) < 8.0 {
            "fail"
        } else {
            "pass"
        };
        csv.push_str(&format!("{score:.1},{noise:.3},g{},{target}\n", i % 3));
    }
    csv
}

fn options(model: Choice, folds: usize, repeats: usize) -> Options {
    Options {
        target: "target".into(),
        positive: "fail".parse().unwrap(),
        drop: vec![],
        folds,
        repeats,
        model,
        baseline_column: None,
        tune: None,
        train: TrainConfig {
            trees: 15,
            ..TrainConfig::default()
        },
    }
}

/// The automatic choice is made inside each training fold, and its reported figure is the
/// out-of-fold score of those choices, not the best of the candidates' own reported figures.
#[test]
fn the_automatic_choice_is_made_inside_each_training_fold_and_scored_on_the_test_folds() {
    let table = Table::parse(&small_table(150, 3), None).unwrap();
    let r = evaluate_table(&table, &options(Choice::Auto, 5, 2)).unwrap();
    let chosen = r.chosen().unwrap();
    assert_eq!(chosen.name, NESTED);
    let total: usize = r.chosen_in_folds.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 5 * 2, "one choice per fold and repeat");
    assert!(
        r.selection
            .as_deref()
            .unwrap()
            .contains("inside each training fold")
    );
    let most = r.chosen_in_folds.iter().max_by_key(|(_, n)| *n).unwrap();
    assert_eq!(r.model, most.0);
    // when every fold chose the same model, the nested figure is that model's figure
    if most.1 == total {
        let same = r
            .candidates
            .iter()
            .find(|c| c.name == r.model.as_str())
            .unwrap();
        assert!((same.accuracy - chosen.accuracy).abs() < 1e-12);
    }
    assert!(chosen.accuracy > 0.7, "{}", chosen.accuracy);
    // one model asked for: no nested row, the model's own figures
    let one = evaluate_table(&table, &options(Choice::Only(ModelKind::Logistic), 5, 1)).unwrap();
    assert_eq!(one.chosen().unwrap().name, "logistic");
    assert!(one.selection.is_none() && one.chosen_in_folds.is_empty());
}

/// Means, text levels and constant columns are learned from each fold's training rows: a
/// level seen only in the test rows makes no column, and a missing test cell gets the training
/// rows' mean.
#[test]
fn the_encoding_is_learned_on_each_training_fold_only() {
    let csv = "m,c,target\n1,a,yes\n3,b,no\n1,a,no\n3,b,yes\n100,z,yes\n,z,no\n";
    let table = Table::parse(csv, None).unwrap();
    let enc = encode(&table, "target", &"yes".parse().unwrap(), &[]).unwrap();
    // over all rows: three levels of c, a missing flag for m, the mean including 100
    assert!(enc.data.feature_names.contains(&"c=z".to_string()));
    let (train, test) = enc.fold(&table, &[0, 1, 2, 3], &[4, 5]).unwrap();
    assert_eq!(
        train.feature_names,
        vec!["m".to_string(), "c=b".to_string()]
    );
    assert_eq!(test.feature_names, train.feature_names);
    assert_eq!(test.x[0], vec![100.0, 0.0], "an unseen level is no level");
    assert_eq!(
        test.x[1],
        vec![2.0, 0.0],
        "the training rows' mean, not 34.7"
    );
}

/// A numeric column with a few unreadable cells stays numeric: decimal commas are read, the
/// rest are reported by line and treated as missing, instead of the column becoming text with
/// a level per value and being left out.
#[test]
fn a_numeric_column_with_a_few_bad_cells_stays_numeric_and_the_cells_are_reported() {
    let mut csv = String::from("id,score,target\n");
    for i in 0..80 {
        let score = match i {
            5 => "abc".to_string(),
            9 => "\"12,5\"".to_string(),
            20 => "n.a.".to_string(),
            _ => format!("{}", i % 20),
        };
        let target = if i % 20 < 7 { "yes" } else { "no" };
        csv.push_str(&format!("s{i},{score},{target}\n"));
    }
    let table = Table::parse(&csv, None).unwrap();
    let enc = encode(&table, "target", &"yes".parse().unwrap(), &[]).unwrap();
    assert!(
        enc.data.feature_names.contains(&"score".to_string()),
        "{:?}",
        enc.data.feature_names
    );
    assert_eq!(enc.data.x[9][0], 12.5, "a decimal comma");
    let notes = enc.notes.join("\n");
    assert!(notes.contains("2 cell(s) are not numbers"), "{notes}");
    assert!(
        notes.contains("line 7: \"abc\"") && notes.contains("line 22: \"n.a.\""),
        "{notes}"
    );
}

/// A GBK file is read as GBK (not decoded lossily into "no column", as it was), an empty
/// file's error says it is empty.
#[test]
fn a_gbk_file_is_read_and_an_empty_file_is_called_empty() {
    let dir = std::env::temp_dir().join(format!("srm-ml-gbk-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = small_table(90, 5)
        .replace("target", "结果")
        .replace("fail", "不及格");
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    let file = dir.join("gbk.csv");
    std::fs::write(&file, &bytes).unwrap();
    let opts = Options {
        target: "结果".into(),
        positive: "不及格".parse().unwrap(),
        ..options(Choice::Only(ModelKind::Logistic), 3, 1)
    };
    let r = evaluate_file(&file, None, &opts).unwrap();
    assert_eq!(r.rows, 90);
    assert!(r.notes.iter().any(|n| n.contains("GBK")), "{:?}", r.notes);
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "\n  \n").unwrap();
    let err = evaluate_file(&empty, None, &opts).unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
}

/// The ± figures are the spread across single folds (what other tools print), which is far
/// wider than the spread of the repeats' pooled figures that was printed before.
#[test]
fn the_printed_spread_is_across_folds_and_labelled() {
    let opts = setup('C', Choice::Only(ModelKind::Logistic), 3, 1);
    let r = evaluate_file(&uci("student-mat.csv"), None, &opts).unwrap();
    let c = r.chosen().unwrap();
    assert!(
        c.fold_sd.accuracy > 2.0 * c.accuracy_std,
        "folds {} vs repeats {}",
        c.fold_sd.accuracy,
        c.accuracy_std
    );
    let text = srm::mining::cli::report_text(&r);
    assert!(
        text.contains("± = standard deviation across the 30 single folds"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "{:.1} ± {:.1}",
        c.accuracy * 100.0,
        c.fold_sd.accuracy * 100.0
    )));
}
