//! The second target, leaving the university: its definition on small known data (and that no
//! feature reads it), the demo generator's dated leavers, the GPA trend in the training terms,
//! and the leaving model on the demo university (its future leavers flagged far more often).

use crate::common::{Backend, TestApp};
use chrono::{Duration, NaiveDate};
use rocket::http::{Method, Status};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use srm::entity::{mining_runs, risk_flags, student_history, students, terms};
use srm::mining::features::{self, EnrolRow, SectionRow, Snapshot, StudentRow};
use srm::mining::{run, settings};
use std::collections::{HashMap, HashSet};

use super::portal::{at, term};
use crate::common::demo_options;

/// Two terms (T1 Sep–Jan, T2 from 23 Feb to 1 Jul); five students enrolled in T1.
fn snapshot() -> Snapshot {
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    let mut s = Snapshot {
        default_pass_mark: 60.0,
        ..Default::default()
    };
    s.terms = vec![
        term(1, 1, d(2025, 9, 1), d(2026, 1, 15)),
        term(2, 2, d(2026, 2, 23), d(2026, 7, 1)),
    ];
    s.sections.insert(
        10,
        SectionRow {
            term: 1,
            course: 100,
            teacher: None,
            scale: None,
        },
    );
    s.credits.insert(100, 3.0);
    for id in 1..=5 {
        s.students.push(StudentRow {
            id,
            student_no: format!("S{id}"),
            name: format!("S{id}"),
            department: 1,
            gender: "F".into(),
            status: "active".into(),
            advisor: None,
        });
        s.enrol_by_student.insert(
            id,
            vec![EnrolRow {
                section: 10,
                status: "enrolled".into(),
                created_at: at(2025, 8, 20),
                dropped_at: None,
            }],
        );
    }
    s
}

#[test]
fn leaving_is_a_withdrawal_after_the_date_and_before_the_next_term_and_no_feature_reads_it() {
    let mut s = snapshot();
    let (t1, t2) = (s.terms[0].clone(), s.terms[1].clone());
    let week4 = features::as_of_in(&t1, Duration::weeks(4));
    let before: Vec<Vec<f64>> = (1..=5)
        .map(|id| features::features(&s, id, &t1, week4))
        .collect();
    // 1: before the date (already known: not an outcome); 2: in week 10; 3: between the terms;
    // 4: after T2 began (T2's outcome, not T1's); 5: never.
    s.withdrawn_at.insert(1, vec![at(2025, 9, 15)]);
    s.withdrawn_at.insert(2, vec![at(2025, 11, 10)]);
    s.withdrawn_at.insert(3, vec![at(2026, 2, 10)]);
    s.withdrawn_at.insert(4, vec![at(2026, 3, 2)]);
    let leaves: Vec<bool> = (1..=5)
        .map(|id| features::leaves(&s, id, &t1, week4))
        .collect();
    assert_eq!(leaves, [false, true, true, false, false]);
    assert_eq!(
        features::leave_deadline(&s, &t1),
        features::as_of_in(&t2, Duration::zero()),
        "T1's window ends when T2 begins"
    );
    // The latest term has no next term: the window ends LEAVE_GRACE_DAYS after its last day.
    let t2_week4 = features::as_of_in(&t2, Duration::weeks(4));
    assert!(
        !features::leaves(&s, 4, &t2, t2_week4),
        "withdrew in T2's second week: before the date, not an outcome"
    );
    s.withdrawn_at.insert(5, vec![at(2026, 8, 1)]);
    assert!(features::leaves(&s, 5, &t2, t2_week4), "within the grace");
    s.withdrawn_at.insert(5, vec![at(2026, 10, 1)]);
    assert!(!features::leaves(&s, 5, &t2, t2_week4), "past the grace");
    // No leakage: the withdrawals (all after the date but one) change no feature.
    let after: Vec<Vec<f64>> = (1..=5)
        .map(|id| features::features(&s, id, &t1, week4))
        .collect();
    assert_eq!(before, after);
}

#[rocket::async_test]
async fn the_leaving_model_flags_the_demos_future_leavers_far_more_often_and_the_trend_is_used() {
    let app = TestApp::setup(Backend::Sqlite, false).await;
    let db = app.db();
    let summary = srm::seed::seed_demo(db, &demo_options(&app, 2000))
        .await
        .unwrap()
        .expect("seeded");

    // The generator's past leavers: withdrawn, dated, with their history row, in past terms.
    let csv = std::fs::read_to_string(srm::seed::leavers_file(&app.dir.join("demo"))).unwrap();
    let all_terms = terms::Entity::find().all(db).await.unwrap();
    let current_seq = all_terms.iter().map(|t| t.seq).max().unwrap();
    let (mut past, mut future) = (HashSet::new(), HashSet::new());
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let seq: i64 = cols[1].parse().unwrap();
        if cols[2].is_empty() {
            assert_eq!(seq, current_seq);
            future.insert(cols[0].to_string());
        } else {
            assert!(seq < current_seq);
            past.insert(cols[0].to_string());
        }
    }
    assert_eq!(past.len(), summary.leavers);
    let withdrawn = students::Entity::find()
        .filter(students::Column::Status.eq("withdrawn"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(withdrawn.len(), past.len());
    let history = student_history::Entity::find()
        .filter(student_history::Column::Field.eq("status"))
        .filter(student_history::Column::NewValue.eq("withdrawn"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(history.len(), past.len(), "one history row per leaver");
    // About 2% a term: 40 to 400 leavers over four past terms of 2,000 students.
    assert!(
        (40..=400).contains(&past.len()),
        "{} past leavers",
        past.len()
    );
    assert!(future.len() >= 15, "{} future leavers", future.len());

    rules_and_run(&app).await;
    let r = mining_runs::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!(
        r.status,
        srm::entity::job_status::JobStatus::Done,
        "{}",
        r.message
    );
    let m: Value = serde_json::from_str(&r.metrics).unwrap();
    let leaving = &m["leaving"];
    assert!(leaving["error"].is_null(), "{leaving}");
    let names: Vec<&str> = leaving["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"logistic") && names.contains(&"forest") && names.contains(&"majority"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("rule: prior_gpa")));
    let chosen = leaving["chosen"].as_str().unwrap();
    let row = leaving["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == chosen)
        .unwrap();
    eprintln!("leaving model {chosen}: {row}");
    for v in leaving["models"].as_array().unwrap() {
        eprintln!(
            "leaving {}: f1 {} threshold {}",
            v["name"], v["f1"], v["threshold"]
        );
    }
    for v in m["models"].as_array().unwrap() {
        eprintln!(
            "risk {}: f1 {} threshold {}",
            v["name"], v["f1"], v["threshold"]
        );
    }
    eprintln!(
        "leaving tuning {} {}",
        leaving["threshold_tuning"], leaving["against_rules"]
    );
    eprintln!(
        "risk tuning {} {}",
        m["threshold_tuning"], m["against_rules"]
    );
    eprintln!("timing {} leaving {}", m["timing_ms"], leaving["timing_ms"]);
    assert!(row["roc_auc"].as_f64().unwrap() > 0.65, "{row}");

    // GPA trend: nonzero for a real share of the training rows (it was 0 for all of them
    // when the demo had only three past terms).
    let trend_pct = m["train_with_gpa_trend_pct"].as_f64().unwrap();
    eprintln!("training rows with a GPA trend: {trend_pct}%");
    assert!(
        trend_pct >= 10.0,
        "{trend_pct}% of training rows have a trend"
    );
    let plan = srm::mining::plan::plan(&all_terms, r.as_of).unwrap();
    let snap = run::load_snapshot(db, &plan).await.unwrap();
    let (train, leave_y, who) = srm::mining::plan::term_dataset(&snap, &plan.train, plan.offset);
    let trend: Vec<f64> = train.x.iter().map(|x| x[features::GPA_TREND]).collect();
    let spread = trend.iter().cloned().fold(f64::MIN, f64::max)
        - trend.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 1.0, "the trend varies across students: {spread}");
    // The decision thresholds are chosen without the test term: the same rows with the test
    // term's labels rotated (another term's worth of outcomes) give the same thresholds, for
    // both targets, while the held-out figures change.
    let set = settings::get(db).await.unwrap();
    let relabelled = |rotate: usize| {
        let mut p = run::prepare(&snap, &plan);
        p.test.y.rotate_left(rotate);
        p.test_leave.rotate_left(rotate);
        // NOTE: nothing to score: only the thresholds matter here (and it is faster).
        p.current.clear();
        p.rows.clear();
        run::compute_prepared(p, &plan, &set).unwrap().metrics
    };
    let other = relabelled(leave_y.len() / 3 + 7);
    for (a, b) in [(&m, &other), (&m["leaving"], &other["leaving"])] {
        assert!(
            a["threshold_tuning"]
                .as_array()
                .is_some_and(|t| t.len() == 3),
            "{a}"
        );
        assert_eq!(a["threshold_tuning"], b["threshold_tuning"]);
        assert_ne!(a["models"], b["models"], "the test labels did change");
        // The chosen model's threshold is its tuned one, chosen on unseen training rows.
        let chosen = a["chosen"].as_str().unwrap();
        let tuning = a["threshold_tuning"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["model"] == chosen)
            .unwrap();
        assert_eq!(a["threshold"], tuning["threshold"]);
        assert!(["out_of_bag", "out_of_fold"].contains(&tuning["source"].as_str().unwrap()));
        assert!(tuning["f1"].as_f64().unwrap() >= tuning["f1_fixed"].as_f64().unwrap());
        let row = a["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == chosen)
            .unwrap();
        assert_eq!(row["threshold"], tuning["threshold"]);
    }

    // In the training terms, every leaver had left after that term's as-of date: none of them
    // is counted as a leaver in a later term too (a leaver takes part in no later term).
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for (s, y) in who.iter().zip(&leave_y) {
        if *y {
            *seen.entry(*s).or_default() += 1;
        }
    }
    assert!(seen.values().all(|n| *n == 1));
    assert!(!seen.is_empty());
    // Past leavers are not scored in the current term (they are gone).
    let numbers: HashMap<i64, String> = students::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.student_no))
        .collect();
    let flags = risk_flags::Entity::find()
        .filter(risk_flags::Column::RunId.eq(r.id))
        .all(db)
        .await
        .unwrap();
    assert!(
        flags
            .iter()
            .all(|f| !past.contains(&numbers[&f.student_id]))
    );

    // The future leavers (never in the database) are flagged far more often than the rest.
    let (mut l, mut ln, mut o, mut on) = (0, 0, 0, 0);
    for f in &flags {
        let detail: run::FlagDetail = serde_json::from_str(&f.reasons).unwrap();
        let leave = detail.leave.expect("every flag has a leaving score");
        assert!((0.0..=100.0).contains(&leave.score));
        assert_eq!(leave.level, set.leave_level(leave.score));
        if leave.level != "low" {
            assert!(!leave.factors.is_empty(), "reasons for {}", leave.score);
        }
        let flagged = usize::from(leave.level != "low");
        if future.contains(&numbers[&f.student_id]) {
            ln += 1;
            l += flagged;
        } else {
            on += 1;
            o += flagged;
        }
    }
    let (lr, or) = (l as f64 / ln.max(1) as f64, o as f64 / on.max(1) as f64);
    eprintln!(
        "future leavers flagged by the leaving model {l}/{ln} = {:.1}%, others {o}/{on} = {:.1}%",
        lr * 100.0,
        or * 100.0
    );
    assert!(ln >= 10, "{ln} future leavers scored");
    assert!(lr >= 2.0 * or, "leavers {lr:.3} vs others {or:.3}");

    // The API's flags and the flags page carry the leaving score and level.
    let (s, body) = app
        .send_json(
            Method::Post,
            "/api/v1/auth/login",
            None,
            json!({"username": "admin", "password": "demo-pass-1"}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let token = body["token"].as_str().unwrap().to_string();
    let (s, v) = app
        .get_json("/api/v1/mining/flags?per_page=5", Some(&token))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let item = &v["items"][0];
    assert!(item["leave_score"].is_number(), "{item}");
    assert!(
        ["low", "medium", "high"].contains(&item["leave_level"].as_str().unwrap()),
        "{item}"
    );
    assert!(item["leave_reasons"].is_array());
    let res = app
        .get(&format!("/mining/runs/{}", r.id), Some(&token))
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("id=\"leaving\""),
        "the report has the leaving section"
    );
    // The report says which threshold was chosen, and plainly whether the model beats the
    // best simple rule on the held-out term.
    assert!(
        html.contains("id=\"leave-threshold\""),
        "the leaving threshold is shown"
    );
    assert!(html.contains("id=\"risk-threshold\""));
    let beats = leaving["against_rules"]["model_matches_rule"]
        .as_bool()
        .unwrap();
    let below = html.contains("id=\"leave-vs-rule\" class=\"below-rule\"");
    assert_eq!(below, !beats, "the page says so when the rule wins");
    assert!(html.contains("id=\"leave-vs-rule\""));
    // `srm mine run` prints the leaving figures next to the fail/drop ones.
    let text = srm::mining::cli::run_summary(r.id, r.model.as_deref(), 1.0, &m);
    eprintln!("{text}");
    assert!(text.contains("fails or drops (held-out term)"), "{text}");
    assert!(text.contains("leaves (held-out term)"), "{text}");
    assert!(text.contains(&format!("{chosen} *")), "{text}");
    let f1 = format!("{:>9.3}", row["f1"].as_f64().unwrap());
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("leaves (held-out term)"))
        .find(|l| l.starts_with(&format!("{chosen} *")))
        .unwrap_or_default();
    assert!(line.contains(&f1), "{line}");
    assert!(
        text.contains("threshold of forest") && text.contains("out-of-bag"),
        "{text}"
    );
}

async fn rules_and_run(app: &TestApp) {
    let db = app.db();
    srm::mining::rules::ensure_seeded(db).await.unwrap();
    let id = run::create(db, &srm::jobs::Jobs::default(), None, "test")
        .await
        .unwrap();
    run::execute(db, &srm::jobs::Jobs::default(), id)
        .await
        .unwrap();
    // The same rows and seed give the same leaving scores (determinism).
    let r = mining_runs::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let all_terms = terms::Entity::find().all(db).await.unwrap();
    let plan = srm::mining::plan::plan(&all_terms, r.as_of).unwrap();
    let snap = run::load_snapshot(db, &plan).await.unwrap();
    let again = run::compute(&snap, &plan, &settings::get(db).await.unwrap()).unwrap();
    let stored: HashMap<i64, String> = risk_flags::Entity::find()
        .filter(risk_flags::Column::RunId.eq(id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.student_id, f.reasons))
        .collect();
    for (s, _, _, detail, _) in &again.flags {
        let old: run::FlagDetail = serde_json::from_str(&stored[s]).unwrap();
        let (a, b) = (old.leave.unwrap(), detail.leave.clone().unwrap());
        assert_eq!((a.score, a.level), (b.score, b.level), "student {s}");
    }
}
