//! The portal side of mining: features as of a date (no leakage), the run on the demo
//! university (decliners flagged far more often; deterministic), scope of flags and
//! suggestions, feedback counts, the formula trial and the suggestion rules.

use crate::common::{TestApp, demo_options, on_each_backend, on_each_backend_with};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rocket::http::{Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use srm::entity::{mining_runs, risk_flags, sections, terms};
use srm::mining::features::{
    self, AssessmentRow, EnrolRow, GradeRow, ScoreRow, SectionRow, Snapshot, StudentRow,
};
use srm::mining::formula::{self, Formula, Scored};
use srm::mining::{rules, run, settings};
use std::collections::{HashMap, HashSet};

type Ts = chrono::DateTime<chrono::FixedOffset>;

pub(super) fn at(y: i32, m: u32, d: u32) -> Ts {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
        .unwrap()
        .fixed_offset()
}

pub(super) fn term(id: i64, seq: i64, start: NaiveDate, end: NaiveDate) -> terms::Model {
    let t = at(2020, 1, 1);
    terms::Model {
        id,
        code: format!("T{seq}"),
        name_zh: format!("T{seq}"),
        name_en: format!("T{seq}"),
        seq,
        starts_on: start,
        ends_on: end,
        registration_opens_at: t,
        registration_closes_at: t,
        add_drop_deadline: t,
        credit_limit: 25.0,
        is_current: false,
    }
}

fn idx(name: &str) -> usize {
    features::FEATURES.iter().position(|f| *f == name).unwrap()
}

/// Two terms; student 1 passed term 1 (80, 3.0 points), scored 48 on the first assessment of
/// term 2 (due in week 2) and 100 on one due in week 10, failed term 2 (published after it) and
/// dropped a course in week 7; a hold before week 4 and one after.
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
    for id in [1, 2] {
        s.students.push(StudentRow {
            id,
            student_no: format!("S{id}"),
            name: format!("S{id}"),
            department: 1,
            gender: "F".into(),
            status: "active".into(),
            advisor: None,
        });
    }
    let sec = |term| SectionRow {
        term,
        course: 100,
        teacher: None,
        scale: None,
    };
    s.sections.insert(10, sec(1));
    s.sections.insert(20, sec(2));
    s.sections.insert(
        21,
        SectionRow {
            term: 2,
            course: 101,
            teacher: None,
            scale: None,
        },
    );
    s.credits.insert(100, 3.0);
    s.credits.insert(101, 2.0);
    let enrol = |section, status: &str, created, dropped| EnrolRow {
        section,
        status: status.into(),
        created_at: created,
        dropped_at: dropped,
    };
    s.enrol_by_student.insert(
        1,
        vec![
            enrol(10, "enrolled", at(2025, 8, 20), None),
            enrol(20, "enrolled", at(2026, 2, 20), None),
            enrol(21, "dropped", at(2026, 2, 20), Some(at(2026, 4, 10))),
        ],
    );
    s.enrol_by_student.insert(
        2,
        vec![
            enrol(21, "dropped", at(2026, 2, 20), Some(at(2026, 4, 10))),
            enrol(20, "enrolled", at(2026, 2, 20), None),
        ],
    );
    s.grades_by_student.insert(
        1,
        vec![
            GradeRow {
                section: 10,
                score: 80.0,
                points: 3.0,
                published_at: Some(at(2026, 1, 20)),
            },
            GradeRow {
                section: 20,
                score: 40.0,
                points: 0.0,
                published_at: Some(at(2026, 7, 5)),
            },
        ],
    );
    s.grades_by_student.insert(
        2,
        vec![GradeRow {
            section: 20,
            score: 75.0,
            points: 2.7,
            published_at: Some(at(2026, 7, 5)),
        }],
    );
    s.assessments.insert(
        1,
        AssessmentRow {
            section: 20,
            weight: 0.2,
            due_at: Some(at(2026, 3, 6)),
            max_score: 100.0,
        },
    );
    s.assessments.insert(
        2,
        AssessmentRow {
            section: 20,
            weight: 0.3,
            due_at: Some(at(2026, 5, 1)),
            max_score: 100.0,
        },
    );
    s.scores_by_student.insert(
        1,
        vec![
            ScoreRow {
                assessment: 1,
                score: Some(48.0),
                status: "submitted".into(),
            },
            ScoreRow {
                assessment: 2,
                score: Some(100.0),
                status: "submitted".into(),
            },
        ],
    );
    s.holds_by_student
        .insert(1, vec![at(2026, 3, 1), at(2026, 5, 1)]);
    s
}

#[test]
fn features_as_of_a_date_ignore_everything_later() {
    let mut s = snapshot();
    let t2 = s.terms[1].clone();
    let week4 = features::as_of_in(&t2, Duration::weeks(4));
    let f = features::features(&s, 1, &t2, week4);
    assert_eq!(f[idx("prior_gpa")], 3.0, "only term 1's grade counts");
    assert_eq!(f[idx("has_history")], 1.0);
    assert_eq!(f[idx("credits_attempted")], 3.0);
    assert_eq!(
        f[idx("prior_failed")],
        0.0,
        "the fail in term 2 is the future"
    );
    assert!(
        (f[idx("term_score")] - 48.0).abs() < 1e-9,
        "only the assessment due before week 4"
    );
    assert_eq!(f[idx("last_term_score")], 80.0);
    assert_eq!(f[idx("holds")], 1.0, "the later hold is not seen");
    assert_eq!(
        f[idx("term_changes")],
        0.0,
        "the drop in week 7 is not seen"
    );

    // Changing or adding anything dated after week 4 changes nothing.
    s.scores_by_student.get_mut(&1).unwrap()[1].score = Some(0.0);
    s.grades_by_student.get_mut(&1).unwrap().push(GradeRow {
        section: 20,
        score: 0.0,
        points: 0.0,
        published_at: Some(at(2026, 3, 30)),
    });
    s.holds_by_student
        .get_mut(&1)
        .unwrap()
        .push(at(2026, 3, 25));
    s.contacts_by_student.insert(1, vec![at(2026, 6, 1)]);
    assert_eq!(features::features(&s, 1, &t2, week4), f);

    // The target: failing, or dropping after the as-of date; a drop already known is a feature.
    assert!(features::failed_or_dropped(&s, 1, &t2, week4));
    assert!(
        features::failed_or_dropped(&s, 2, &t2, week4),
        "drops in week 7"
    );
    let week9 = features::as_of_in(&t2, Duration::weeks(9));
    assert!(
        !features::failed_or_dropped(&s, 2, &t2, week9),
        "the drop is already known in week 9"
    );
    assert_eq!(
        features::features(&s, 2, &t2, week9)[idx("term_changes")],
        0.0,
        "no registration event was recorded"
    );
    assert_eq!(features::participants(&s, 2, week4), vec![1, 2]);
}

#[test]
fn the_formula_trial_counts_a_constructed_example() {
    let row = |missed: f64, failed: f64| {
        let mut r = vec![0.0; features::FEATURES.len()];
        r[idx("term_missed")] = missed;
        r[idx("prior_failed")] = failed;
        r
    };
    let rows = [row(2.0, 0.0), row(0.0, 1.0), row(1.0, 0.0), row(0.0, 0.0)];
    let scored: Vec<Scored<'_>> = rows
        .iter()
        .zip([(1, true), (1, false), (2, true), (2, false)])
        .map(|(r, (d, m))| Scored {
            department_id: d,
            features: r,
            model_flagged: m,
        })
        .collect();
    let weights = Formula::parse_weights("term_missed = 1\nprior_failed: 2\n# comment").unwrap();
    let mut f = Formula {
        name: "t".into(),
        department_id: None,
        weights,
        threshold: 2.0,
    };
    let t = formula::trial(&f, &scored);
    assert_eq!(
        (
            t.students,
            t.flagged,
            t.both,
            t.formula_only,
            t.model_only,
            t.neither
        ),
        (4, 2, 1, 1, 1, 1)
    );
    assert_eq!(t.flagged_pct, 50.0);
    assert_eq!(t.agreement_pct, 50.0);
    assert_eq!((t.min, t.max, t.mean), (0.0, 2.0, 1.25));
    assert_eq!(t.histogram.iter().map(|b| b.1).sum::<usize>(), 4);
    f.department_id = Some(2);
    let t = formula::trial(&f, &scored);
    assert_eq!(
        (t.students, t.flagged, t.model_only, t.neither),
        (2, 0, 1, 1)
    );
    assert!(
        Formula::parse_weights("gender = 1").is_err(),
        "only the model's features"
    );
    assert!(Formula::parse_weights("term_missed = x").is_err());
    assert!(Formula::parse_weights("").is_err());
}

#[test]
fn the_seed_rules_are_valid_and_match_as_written() {
    let seed: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../seed/suggestion_rules.json")).unwrap();
    assert!(seed.len() >= 5);
    for r in &seed {
        rules::validate(&r["trigger"]).unwrap_or_else(|e| panic!("{}: {e}", r["code"]));
    }
    let s = rules::Subject {
        level: "high".into(),
        factors: vec!["term_missed".into()],
        features: HashMap::from([("term_score".into(), 50.0)]),
        cluster_traits: vec![],
    };
    assert!(rules::matches(&json!({"factor": "term_missed"}), &s));
    assert!(rules::matches(
        &json!({"all": [{"level": ["high"]}, {"feature": "term_score", "lt": 60}]}),
        &s
    ));
    assert!(!rules::matches(
        &json!({"feature": "term_score", "gte": 60}),
        &s
    ));
    assert!(!rules::matches(&json!({"all": []}), &s));
    assert!(rules::validate(&json!({"level": ["severe"]})).is_err());
    assert!(rules::validate(&json!({"feature": "x"})).is_err());
}

#[rocket::async_test]
async fn a_run_flags_the_generators_decliners_far_more_often_and_is_deterministic() {
    on_each_backend_with(false, |app| async move {
        let db = app.db();
        srm::seed::seed_demo(db, &demo_options(&app, 500))
            .await
            .unwrap()
            .expect("seeded");
        rules::ensure_seeded(db).await.unwrap();
        let id = run::create(db, &srm::jobs::Jobs::default(), None, "test")
            .await
            .unwrap();
        run::execute(db, &srm::jobs::Jobs::default(), id)
            .await
            .unwrap();
        let r = mining_runs::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            r.status,
            srm::entity::job_status::JobStatus::Done,
            "{}",
            r.message
        );
        let metrics: serde_json::Value = serde_json::from_str(&r.metrics).unwrap();
        let names: Vec<&str> = metrics["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"logistic") && names.contains(&"forest") && names.contains(&"majority")
        );
        assert!(
            names.iter().any(|n| n.starts_with("rule: prior_gpa")),
            "{names:?}"
        );
        let flags = risk_flags::Entity::find()
            .filter(risk_flags::Column::RunId.eq(id))
            .all(db)
            .await
            .unwrap();
        assert!(flags.len() > 200, "{} scored", flags.len());

        // The generator's own list of decliners (the portal never reads it).
        let csv =
            std::fs::read_to_string(srm::seed::decliners_file(&app.dir.join("demo"))).unwrap();
        let decliners: HashSet<String> = csv
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next())
            .map(String::from)
            .collect();
        let numbers: HashMap<i64, String> = srm::entity::students::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.student_no))
            .collect();
        let (mut d, mut dn, mut o, mut on) = (0, 0, 0, 0);
        for f in &flags {
            let flagged = f.level != "low";
            if decliners.contains(&numbers[&f.student_id]) {
                dn += 1;
                d += usize::from(flagged);
            } else {
                on += 1;
                o += usize::from(flagged);
            }
        }
        let (dr, or) = (d as f64 / dn.max(1) as f64, o as f64 / on.max(1) as f64);
        eprintln!(
            "decliners flagged {d}/{dn} = {:.1}%, others {o}/{on} = {:.1}%",
            dr * 100.0,
            or * 100.0
        );
        assert!(dn >= 10, "{dn} decliners scored");
        assert!(dr >= 2.0 * or, "decliners {dr:.3} vs others {or:.3}");
        // Every flag above low has its reasons, in both languages.
        for f in flags.iter().filter(|f| f.level != "low") {
            let detail: run::FlagDetail = serde_json::from_str(&f.reasons).unwrap();
            assert!(
                !detail.factors.is_empty()
                    && detail
                        .factors
                        .iter()
                        .all(|r| !r.zh.is_empty() && !r.en.is_empty()),
                "{} {} {:?}",
                f.score,
                f.level,
                detail.features
            );
        }

        // The same data, the same as-of date and seed: the same scores.
        let all_terms = terms::Entity::find().all(db).await.unwrap();
        let plan = srm::mining::plan::plan(&all_terms, r.as_of).unwrap();
        let snap = run::load_snapshot(db, &plan).await.unwrap();
        let again = run::compute(&snap, &plan, &settings::get(db).await.unwrap()).unwrap();
        let stored: HashMap<i64, (f64, String)> = flags
            .iter()
            .map(|f| (f.student_id, (f.score, f.level.clone())))
            .collect();
        assert_eq!(again.flags.len(), flags.len());
        for (s, score, level, _, _) in &again.flags {
            assert_eq!(stored.get(s), Some(&(*score, level.clone())), "student {s}");
        }
    })
    .await;
}

/// An empty finished run of the current term, for tests that write its flags themselves.
pub(super) async fn finished_run(app: &TestApp) -> mining_runs::Model {
    let db = app.db();
    let p = &app.people;
    let term_id = sections::Entity::find_by_id(p.section)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .term_id;
    let now = Utc::now().fixed_offset();
    mining_runs::ActiveModel {
        kind: Set("test".into()),
        status: Set(srm::entity::job_status::JobStatus::Done),
        progress: Set(1.0),
        message: Set(String::new()),
        as_of: Set(now),
        term_id: Set(Some(term_id)),
        model: Set(Some("logistic".into())),
        params: Set("{}".into()),
        metrics: Set("{}".into()),
        started_at: Set(now),
        finished_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// A finished run on the fixtures: the teacher's student and another student, both high.
async fn fixture_run(app: &TestApp) -> (i64, i64, i64) {
    let db = app.db();
    let p = &app.people;
    let run = finished_run(app).await;
    let mut feats = vec![0.0; features::FEATURES.len()];
    feats[idx("term_missed")] = 2.0;
    feats[idx("term_score")] = 45.0;
    let detail = json!({"factors": [{"feature": "term_missed", "value": 2.0, "contribution": 0.4,
        "zh": "本学期缺交 2 次作业/测验", "en": "2 missed assessment(s) this term"}], "features": feats, "traits": []});
    let mut ids = Vec::new();
    for (student, reasons) in [
        (p.student_record, detail.to_string()),
        (
            p.other_student_record,
            json!({"factors": [], "features": vec![0.0; 15], "traits": []}).to_string(),
        ),
    ] {
        let f = risk_flags::ActiveModel {
            run_id: Set(run.id),
            student_id: Set(student),
            score: Set(80.0),
            level: Set("high".into()),
            reasons: Set(reasons),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        ids.push(f.id);
    }
    (run.id, ids[0], ids[1])
}

#[rocket::async_test]
async fn flags_and_suggestions_are_scoped_and_feedback_is_counted() {
    on_each_backend(|app| async move {
        let db = app.db();
        rules::ensure_seeded(db).await.unwrap();
        let p = app.people.clone();
        let (run_id, mine, other) = fixture_run(&app).await;
        let teacher = app.token(p.teacher).await;
        let admin = app.token(p.admin).await;
        let student = app.token(p.student).await;

        let (s, v) = app.get_json("/api/v1/mining/flags", Some(&teacher)).await;
        assert_eq!(s, Status::Ok);
        let seen: Vec<i64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["student_id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            seen,
            vec![p.student_record],
            "a teacher sees only their students"
        );
        assert_eq!(
            v["items"][0]["reasons"][0],
            "2 missed assessment(s) this term"
        );
        let (_, v) = app
            .get_json("/api/v1/mining/flags?level=high", Some(&admin))
            .await;
        assert_eq!(v["total"], 2);
        let (s, _) = app.get_json("/api/v1/mining/flags", Some(&student)).await;
        assert_eq!(s, Status::Forbidden);
        let page = app
            .get("/mining/flags", Some(&teacher))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(page.contains("2025000001") || page.contains(&p.student_record.to_string()));
        assert!(
            !page.contains("2025000002"),
            "another teacher's student is not listed"
        );

        // A student sees their own suggestions, supportive, and no level by default.
        let (s, v) = app.get_json("/api/v1/me/suggestions", Some(&student)).await;
        assert_eq!(s, Status::Ok);
        let codes: Vec<&str> = v["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&"submit_on_time"), "{codes:?}");
        assert!(v["level"].is_null() && v["score"].is_null());
        let page = app
            .get("/me/suggestions", Some(&student))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            (page.contains("日历") || page.contains("calendar"))
                && !page.contains("你当前的风险等级")
                && !page.contains("Your current risk level"),
            "suggestions but no level on the student's page"
        );
        let record = app
            .get("/me/record", Some(&student))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            record.contains("日历") || record.contains("calendar"),
            "suggestions on the student's own record"
        );
        assert!(
            !record.contains("risk-high") && !record.contains("缺交 2 次"),
            "no level or reasons for the student"
        );
        let mut set = settings::get(db).await.unwrap();
        set.students_see_level = true;
        settings::set(db, p.admin, &set).await.unwrap();
        let (_, v) = app.get_json("/api/v1/me/suggestions", Some(&student)).await;
        assert_eq!(v["level"], "high");

        // Feedback: in scope only, known values only; counted on the run.
        let fb = |id: i64| format!("/api/v1/mining/flags/{id}/feedback");
        let (s, _) = app
            .send_json(
                Method::Post,
                &fb(other),
                Some(&teacher),
                json!({"feedback": "useful"}),
            )
            .await;
        assert_eq!(s, Status::NotFound, "another teacher's student's flag");
        let (s, _) = app
            .send_json(
                Method::Post,
                &fb(mine),
                Some(&teacher),
                json!({"feedback": "meh"}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
        let (s, _) = app
            .send_json(
                Method::Post,
                &fb(mine),
                Some(&teacher),
                json!({"feedback": "useful"}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        let (s, _) = app
            .send_json(
                Method::Post,
                &fb(other),
                Some(&admin),
                json!({"feedback": "wrong"}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        let (s, _) = app
            .send_json(
                Method::Post,
                &fb(mine),
                Some(&student),
                json!({"feedback": "wrong"}),
            )
            .await;
        assert_eq!(s, Status::Forbidden);
        let (s, v) = app
            .get_json(&format!("/api/v1/mining/runs/{run_id}"), Some(&admin))
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(
            v["feedback"],
            json!({"useful": 1, "not_useful": 0, "wrong": 1, "none": 0})
        );
        assert_eq!(app.audit_count("mining.flag_feedback", "ok").await, 2);

        // The formula trial on the run's students: term_missed ≥ 1 flags one of two.
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/formula/trial",
                Some(&admin),
                json!({"weights": {"term_missed": 1.0}, "threshold": 1.0}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(
            (
                v["students"].as_i64(),
                v["flagged"].as_i64(),
                v["both"].as_i64(),
                v["model_only"].as_i64()
            ),
            (Some(2), Some(1), Some(1), Some(1))
        );
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/formula/trial",
                Some(&admin),
                json!({"weights": {"gender": 1.0}, "threshold": 1.0}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);

        // The 360° view shows risk and reasons to staff.
        let page = app
            .get(&format!("/students/{}", p.student_record), Some(&admin))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            page.contains("2 missed assessment(s) this term")
                || page.contains("本学期缺交 2 次作业"),
            "reasons on the 360° view"
        );
    })
    .await;
}

#[rocket::async_test]
async fn a_run_started_from_the_api_runs_in_the_background_and_records_its_failure() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/runs",
                Some(&admin),
                json!({"confirm": true}),
            )
            .await;
        assert_eq!(s, Status::Accepted, "{v}");
        let id = v["id"].as_i64().unwrap();
        let mut status = String::new();
        for _ in 0..100 {
            let (_, r) = app
                .get_json(&format!("/api/v1/mining/runs/{id}"), Some(&admin))
                .await;
            status = r["status"].as_str().unwrap_or("").to_string();
            if status == "done" || status == "failed" {
                assert!(
                    r["message"]
                        .as_str()
                        .unwrap()
                        .contains("two completed terms"),
                    "{r}"
                );
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status, "failed", "the fixtures have one term only");
        assert_eq!(app.audit_count("mining.run_start", "ok").await, 1);
        let (_, list) = app.get_json("/api/v1/mining/runs", Some(&admin)).await;
        assert_eq!(list["total"], 1);
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/runs",
                Some(&admin),
                json!({"confirm": false}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
    })
    .await;
}

#[rocket::async_test]
async fn the_schedule_is_due_only_when_switched_on_and_the_last_run_is_old_enough() {
    on_each_backend(|app| async move {
        let db = app.db();
        assert!(!srm::mining::jobs::due(db).await.unwrap(), "off by default");
        let mut set = settings::get(db).await.unwrap();
        set.schedule_hours = 6;
        settings::set(db, app.people.admin, &set).await.unwrap();
        assert!(
            srm::mining::jobs::due(db).await.unwrap(),
            "on, and never run"
        );
        run::create(db, &srm::jobs::Jobs::default(), None, "test")
            .await
            .unwrap();
        assert!(
            !srm::mining::jobs::due(db).await.unwrap(),
            "a run started just now"
        );
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/runs",
                Some(&app.token(app.people.admin).await),
                json!({"confirm": true}),
            )
            .await;
        assert_eq!(s, Status::Conflict, "one run at a time");
        set.high_at = 10.0;
        assert!(
            settings::set(db, app.people.admin, &set).await.is_err(),
            "medium must stay below high"
        );
    })
    .await;
}

/// Flags a student high (or `level`) in `run`, with no reasons.
async fn flag(app: &TestApp, run: i64, student: i64, level: &str) {
    risk_flags::ActiveModel {
        run_id: Set(run),
        student_id: Set(student),
        score: Set(70.0),
        level: Set(level.into()),
        reasons: Set(json!({"factors": [], "features": [], "traits": []}).to_string()),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap();
}

#[rocket::async_test]
async fn a_teachers_at_risk_list_names_their_sections_and_the_care_list_has_the_same_students() {
    use crate::common::{enrol, extra_student};
    use srm::entity::{courses, enrolments, students};
    on_each_backend(|app| async move {
        let db = app.db();
        let p = app.people.clone();
        let (run, _, _) = fixture_run(&app).await;
        let here = sections::Entity::find_by_id(p.section)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let new_section = |course: i64, term: i64, no: &str, teacher: i64| sections::ActiveModel {
            term_id: Set(term),
            course_id: Set(course),
            section_no: Set(no.into()),
            teacher_id: Set(Some(teacher)),
            capacity: Set(30),
            waitlist_capacity: Set(5),
            room: Set("B202".into()),
            ..Default::default()
        };
        let base = courses::Entity::find_by_id(here.course_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let course = courses::ActiveModel {
            code: Set("MA201".into()),
            department_id: Set(base.department_id),
            title_zh: Set("线性代数".into()),
            title_en: Set("Linear Algebra".into()),
            credits: Set(3.0),
            description: Set(String::new()),
            is_active: Set(true),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        // The student is also in another teacher's section: not the teacher's to name.
        let others = new_section(course.id, here.term_id, "07", p.other_teacher)
            .insert(db)
            .await
            .unwrap();
        enrol(db, p.student_record, others.id).await;
        // The other student dropped the teacher's section: in neither list.
        enrol(db, p.other_student_record, p.section).await;
        enrolments::Entity::update_many()
            .col_expr(
                enrolments::Column::Status,
                sea_orm::sea_query::Expr::value("dropped"),
            )
            .filter(enrolments::Column::StudentId.eq(p.other_student_record))
            .exec(db)
            .await
            .unwrap();
        // A student the teacher taught in an earlier term: not in this run's scope.
        let past = terms::ActiveModel {
            code: Set("2025-spring".into()),
            name_zh: Set("2025 春季学期".into()),
            name_en: Set("Spring 2025".into()),
            seq: Set(0),
            starts_on: Set(here_date(-400)),
            ends_on: Set(here_date(-280)),
            registration_opens_at: Set(Utc::now().fixed_offset()),
            registration_closes_at: Set(Utc::now().fixed_offset()),
            add_drop_deadline: Set(Utc::now().fixed_offset()),
            credit_limit: Set(25.0),
            is_current: Set(false),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let old = new_section(course.id, past.id, "03", p.teacher)
            .insert(db)
            .await
            .unwrap();
        let (_, former) = extra_student(&app, "2025000010").await;
        enrol(db, former, old.id).await;
        flag(&app, run, former, "high").await;
        // An advisee in no section of the teacher's.
        let (_, advisee) = extra_student(&app, "2025000011").await;
        let mut s: students::ActiveModel = students::Entity::find_by_id(advisee)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .into();
        s.advisor_id = Set(Some(p.teacher));
        s.update(db).await.unwrap();
        flag(&app, run, advisee, "medium").await;

        let teacher = app.token(p.teacher).await;
        let ids = |v: &serde_json::Value, key: &str| -> Vec<i64> {
            let mut out: Vec<i64> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f[key].as_i64().unwrap())
                .collect();
            out.sort();
            out
        };
        let (s, flags) = app
            .get_json("/api/v1/mining/flags?lang=en", Some(&teacher))
            .await;
        assert_eq!(s, Status::Ok, "{flags}");
        let mut expected = vec![p.student_record, advisee];
        expected.sort();
        assert_eq!(ids(&flags, "student_id"), expected, "{flags}");
        let (s, care) = app.get_json("/api/v1/care/worklist", Some(&teacher)).await;
        assert_eq!(s, Status::Ok, "{care}");
        assert_eq!(
            ids(&care, "student_id"),
            expected,
            "the care list has the at-risk list's students"
        );
        let row = |id: i64| {
            flags["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["student_id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            row(p.student_record)["my_sections"],
            json!([{"section_id": p.section, "course_code": "CS101",
                "course_title": "Introduction to Programming", "section_no": "01"}])
        );
        assert_eq!(row(p.student_record)["advisee"], false);
        assert_eq!(row(advisee)["my_sections"], json!([]));
        assert_eq!(row(advisee)["advisee"], true);
        let (_, zh) = app
            .get_json("/api/v1/mining/flags?lang=zh", Some(&teacher))
            .await;
        assert!(zh.to_string().contains("程序设计基础"), "{zh}");
        // The admin sees everyone, with no section of their own named.
        let admin = app.token(p.admin).await;
        let (_, all) = app.get_json("/api/v1/mining/flags", Some(&admin)).await;
        assert_eq!(all["total"], 4);
        assert!(
            all["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["my_sections"] == json!([]))
        );

        for (lang, section, advised, note) in [
            (
                "en",
                "CS101 Introduction to Programming · Section 01",
                "Your advisee",
                "The same students as the at-risk list",
            ),
            (
                "zh-CN",
                "CS101 程序设计基础 · 教学班 01",
                "您指导的学生",
                "与“预警学生”名单相同的学生",
            ),
        ] {
            let html = app.page_in("/mining/flags", &teacher, lang).await;
            assert!(
                html.contains(section),
                "{lang}: the teacher's section is named"
            );
            assert!(html.contains(advised), "{lang}: the advisee is marked");
            assert!(
                !html.contains("MA201"),
                "{lang}: another teacher's section is not named"
            );
            let html = app.page_in("/care", &teacher, lang).await;
            assert!(
                html.contains(note),
                "{lang}: the care list says whom it lists"
            );
        }
    })
    .await;
}

fn here_date(days: i64) -> NaiveDate {
    Utc::now().date_naive() + Duration::days(days)
}
