//! The administrator's side of mining: suggestion rules added, changed, disabled and deleted
//! (page and API), and saved scoring formulas that every later run applies.

use crate::common::{TestApp, on_each_backend, on_each_backend_with};
use rocket::http::{ContentType, Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use srm::entity::{mining_runs, risk_flags, scoring_formulas, students, suggestion_rules};
use srm::mining::features::FEATURES;
use srm::mining::formula::{self, FlagInput, Formula};
use srm::mining::{rules, run, settings};
use std::collections::{BTreeMap, HashMap};

fn idx(name: &str) -> usize {
    FEATURES.iter().position(|f| *f == name).unwrap()
}

/// A finished run on the fixtures: the teacher's student is high (2 missed, average 45), the
/// other student is low (nothing missed, average 85).
async fn fixture_run(app: &TestApp) -> i64 {
    let db = app.db();
    let p = &app.people;
    let run = super::portal::finished_run(app).await;
    let mut weak = vec![0.0; FEATURES.len()];
    weak[idx("term_missed")] = 2.0;
    weak[idx("term_score")] = 45.0;
    let mut strong = vec![0.0; FEATURES.len()];
    strong[idx("term_score")] = 85.0;
    for (student, level, factors, feats) in [
        (
            p.student_record,
            "high",
            json!([{"feature": "term_missed", "value": 2.0, "contribution": 0.4,
                "zh": "本学期缺交 2 次作业/测验", "en": "2 missed assessment(s) this term"}]),
            weak,
        ),
        (p.other_student_record, "low", json!([]), strong),
    ] {
        risk_flags::ActiveModel {
            run_id: Set(run.id),
            student_id: Set(student),
            score: Set(if level == "high" { 80.0 } else { 10.0 }),
            level: Set(level.into()),
            reasons: Set(json!({"factors": factors, "features": feats, "traits": []}).to_string()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    run.id
}

async fn my_codes(app: &TestApp, token: &str) -> Vec<String> {
    let (s, v) = app.get_json("/api/v1/me/suggestions", Some(token)).await;
    assert_eq!(s, Status::Ok, "{v}");
    v["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap().to_string())
        .collect()
}

async fn rule_count(app: &TestApp) -> u64 {
    suggestion_rules::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

async fn post_form(app: &TestApp, path: &str, body: &str) -> (Status, String, String) {
    let res = app
        .client
        .post(path.to_string())
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await;
    let status = res.status();
    let location = res
        .headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string();
    (
        status,
        location,
        res.into_string().await.unwrap_or_default(),
    )
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[rocket::async_test]
async fn administrators_add_disable_and_delete_rules_and_a_students_suggestions_follow() {
    on_each_backend(|app| async move {
        let db = app.db();
        rules::ensure_seeded(db).await.unwrap();
        let p = app.people.clone();
        fixture_run(&app).await;
        let admin = app.token(p.admin).await;
        let student = app.token(p.student).await;
        let teacher = app.token(p.teacher).await;
        let before = my_codes(&app, &student).await;
        assert!(before.contains(&"submit_on_time".to_string()), "{before:?}");
        let seeded = rule_count(&app).await;

        // Added over the API: the student with an average below 50 gets it first.
        let new_rule = json!({"code": "writing_centre", "priority": 1000,
            "trigger": {"feature": "term_score", "lt": 50}, "text_zh": "欢迎到写作中心预约辅导。",
            "text_en": "The writing centre can help you with your assignments."});
        let (s, created) = app
            .send_json(Method::Post, "/api/v1/mining/rules", Some(&admin), new_rule.clone())
            .await;
        assert_eq!(s, Status::Created, "{created}");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(my_codes(&app, &student).await[0], "writing_centre");
        let (s, _) = app
            .send_json(Method::Post, "/api/v1/mining/rules", Some(&teacher), new_rule.clone())
            .await;
        assert_eq!(s, Status::Forbidden);

        // The list says which students it matches on the latest run: the weak one only.
        let (s, v) = app.get_json("/api/v1/mining/rules", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        let listed = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap();
        assert_eq!(listed["matches"], 1, "{listed}");
        assert_eq!(listed["match_sample"][0]["student_id"], p.student_record);
        let low = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["trigger"] == json!({"level": ["low"]}))
            .cloned()
            .unwrap();
        assert_eq!(low["matches"], 1, "the other student only: {low}");
        assert_eq!(low["match_sample"][0]["student_id"], p.other_student_record);

        // Refused, with nothing stored: a bad trigger, a trigger that is not JSON, a code in
        // use, a bad code, a missing text.
        let refusals = [
            (json!({"feature": "term_score"}), "writing_2", "x", Status::UnprocessableEntity, "bad_trigger"),
            (json!("{not json"), "writing_2", "x", Status::UnprocessableEntity, "bad_trigger"),
            (json!({"level": ["severe"]}), "writing_2", "x", Status::UnprocessableEntity, "bad_trigger"),
            (json!({"factor": "term_missed"}), "writing_centre", "x", Status::Conflict, "duplicate_code"),
            (json!({"factor": "term_missed"}), "Bad Code!", "x", Status::UnprocessableEntity, "bad_code"),
            (json!({"factor": "term_missed"}), "writing_2", " ", Status::UnprocessableEntity, "empty_text"),
        ];
        for (trigger, code, text, status, err) in refusals {
            let (s, v) = app
                .send_json(
                    Method::Post,
                    "/api/v1/mining/rules",
                    Some(&admin),
                    json!({"code": code, "trigger": trigger, "text_zh": text, "text_en": "x"}),
                )
                .await;
            assert_eq!((s, v["error"]["code"].as_str()), (status, Some(err)), "{v}");
        }
        assert_eq!(rule_count(&app).await, seeded + 1, "nothing stored by a refusal");

        // A bad trigger on a change leaves the rule as it was.
        let path = format!("/api/v1/mining/rules/{id}");
        let (s, v) = app
            .send_json(Method::Put, &path, Some(&admin), json!({"trigger": {"gt": 3}}))
            .await;
        assert_eq!((s, v["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("bad_trigger")));
        let row = suggestion_rules::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
        assert_eq!(row.trigger, json!({"feature": "term_score", "lt": 50}).to_string());

        // Disabled: gone from the student's suggestions; enabled: back.
        let (s, v) = app
            .send_json(Method::Put, &path, Some(&admin), json!({"is_active": false}))
            .await;
        assert_eq!((s, v["is_active"].as_bool()), (Status::Ok, Some(false)), "{v}");
        assert!(!my_codes(&app, &student).await.contains(&"writing_centre".to_string()));
        let (s, _) = app
            .send_json(Method::Put, &path, Some(&admin), json!({"is_active": true}))
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(my_codes(&app, &student).await[0], "writing_centre");

        // Deleted: gone, and a second delete is a 404.
        let (s, _) = app.send_json(Method::Delete, &path, Some(&admin), json!({})).await;
        assert_eq!(s, Status::NoContent);
        assert!(!my_codes(&app, &student).await.contains(&"writing_centre".to_string()));
        let (s, v) = app.send_json(Method::Delete, &path, Some(&admin), json!({})).await;
        assert_eq!((s, v["error"]["code"].as_str()), (Status::NotFound, Some("not_found")));
        let (s, _) = app
            .send_json(Method::Put, &path, Some(&admin), json!({"priority": 3}))
            .await;
        assert_eq!(s, Status::NotFound);
        assert_eq!(app.audit_count("mining.rule_create", "ok").await, 1);
        assert_eq!(app.audit_count("mining.rule_update", "ok").await, 2);
        assert_eq!(app.audit_count("mining.rule_delete", "ok").await, 1);

        // The page: a bad trigger comes back in the form (422) with what was typed, and
        // nothing is stored; then add, disable and delete with CSRF forms.
        let csrf = app.page_login(p.admin).await;
        let page = app.get("/mining/rules", None).await.into_string().await.unwrap();
        assert!(page.contains("action=\"/mining/rules\""), "the add form");
        let body = |code: &str, trigger: &str| {
            format!(
                "_csrf={csrf}&code={code}&priority=900&trigger={}&text_zh={}&text_en={}&is_active=true",
                enc(trigger),
                enc("每周和学习小组见面一次。"),
                enc("Meet your study group once a week.")
            )
        };
        let (s, _, html) = post_form(&app, "/mining/rules", &body("study_weekly", "{\"feature\": 3}")).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(html.contains("role=\"alert\"") && html.contains("study_weekly"), "error and input shown");
        assert_eq!(rule_count(&app).await, seeded);
        let (s, _, _) = post_form(&app, "/mining/rules", "code=x&priority=1&trigger=%7B%7D&text_zh=x&text_en=x&is_active=true&_csrf=forged").await;
        assert_eq!(s, Status::Forbidden, "a forged CSRF token is refused");
        let (s, loc, _) = post_form(&app, "/mining/rules", &body("study_weekly", "{\"level\": [\"high\"]}")).await;
        assert_eq!((s, loc.as_str()), (Status::SeeOther, "/mining/rules"));
        assert_eq!(my_codes(&app, &student).await[0], "study_weekly");
        let (s, _, html) = post_form(
            &app,
            "/mining/rules",
            &body("study_weekly", "{\"level\": [\"low\"]}"),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity, "a code in use");
        assert!(html.contains("role=\"alert\""));
        assert_eq!(rule_count(&app).await, seeded + 1);
        let rule = suggestion_rules::Entity::find()
            .filter(suggestion_rules::Column::Code.eq("study_weekly"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let page = app.get("/mining/rules", None).await.into_string().await.unwrap();
        assert!(page.contains("2025000001") || page.contains(&format!("/students/{}", p.student_record)));
        // An existing rule's form with a priority that is not a number comes back in place,
        // with what was typed and the rule's code, and nothing stored.
        let (s, _, html) = post_form(
            &app,
            &format!("/mining/rules/{}", rule.id),
            &format!("_csrf={csrf}&trigger=%7B%22level%22%3A%5B%22high%22%5D%7D&text_zh=z&text_en=typed%20again&priority=soon&is_active=true"),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(html.contains("优先级须为整数"), "the refusal in the page's language: {html}");
        assert!(html.contains("typed again") && html.contains("<code>study_weekly</code>"), "{html}");
        let kept = suggestion_rules::Entity::find_by_id(rule.id).one(db).await.unwrap().unwrap();
        assert_eq!((kept.priority, kept.text_en.as_str()), (rule.priority, rule.text_en.as_str()));
        let (s, _, _) = post_form(&app, &format!("/mining/rules/{}/active", rule.id), &format!("_csrf={csrf}&active=false")).await;
        assert_eq!(s, Status::SeeOther);
        assert!(!my_codes(&app, &student).await.contains(&"study_weekly".to_string()));
        let (s, _, _) = post_form(&app, &format!("/mining/rules/{}/delete", rule.id), &format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::SeeOther);
        assert!(suggestion_rules::Entity::find_by_id(rule.id).one(db).await.unwrap().is_none());

        // Deleting a seeded rule changes the suggestions too, and the seed does not return.
        let seeded_rule = suggestion_rules::Entity::find()
            .filter(suggestion_rules::Column::Code.eq("submit_on_time"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let (s, _, _) = post_form(&app, &format!("/mining/rules/{}/delete", seeded_rule.id), &format!("_csrf={csrf}")).await;
        assert_eq!(s, Status::SeeOther);
        assert!(!my_codes(&app, &student).await.contains(&"submit_on_time".to_string()));
        suggestion_rules::Entity::delete_many().exec(db).await.unwrap();
        rules::ensure_seeded(db).await.unwrap();
        assert_eq!(rule_count(&app).await, 0, "rules deleted by an administrator stay deleted");
    })
    .await;
}

#[test]
fn a_formula_scores_each_student_with_their_departments_formula_else_the_general_one() {
    let mk = |dep: Option<i64>, feature: &str, threshold: f64| Formula {
        name: feature.into(),
        department_id: dep,
        weights: BTreeMap::from([(feature.to_string(), 1.0)]),
        threshold,
    };
    let mut a = vec![0.0; FEATURES.len()];
    a[idx("term_missed")] = 2.0;
    a[idx("prior_failed")] = 0.0;
    let mut b = vec![0.0; FEATURES.len()];
    b[idx("prior_failed")] = 3.0;
    let rows = vec![
        FlagInput {
            flag_id: 1,
            department_id: 7,
            features: a.clone(),
            model_flagged: true,
        },
        FlagInput {
            flag_id: 2,
            department_id: 8,
            features: a.clone(),
            model_flagged: false,
        },
        FlagInput {
            flag_id: 3,
            department_id: 8,
            features: b.clone(),
            model_flagged: true,
        },
        FlagInput {
            flag_id: 4,
            department_id: 9,
            features: b,
            model_flagged: false,
        },
    ];
    // Department 8 has its own formula (prior_failed ≥ 1); the others use term_missed ≥ 1.
    let formulas = vec![
        (10, mk(None, "term_missed", 1.0)),
        (11, mk(Some(8), "prior_failed", 1.0)),
    ];
    let (out, summary) = formula::apply(&formulas, &rows);
    let got: Vec<(i64, i64, f64, bool)> = out
        .iter()
        .map(|a| (a.flag_id, a.formula_id, a.score, a.flagged))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 10, 2.0, true),
            (2, 11, 0.0, false),
            (3, 11, 3.0, true),
            (4, 10, 0.0, false)
        ]
    );
    assert_eq!(
        (
            summary["both"].as_u64(),
            summary["formula_only"].as_u64(),
            summary["model_only"].as_u64(),
            summary["neither"].as_u64(),
            summary["agreement_pct"].as_f64()
        ),
        (Some(2), Some(0), Some(0), Some(2), Some(100.0))
    );
    // Only a department formula: the other departments' students are not scored.
    let (out, summary) = formula::apply(&formulas[1..], &rows);
    assert_eq!(out.len(), 2);
    assert_eq!(summary["not_scored"], 2);
    assert!(formula::apply(&[], &rows).0.is_empty());
}

async fn flags_of(app: &TestApp, run_id: i64) -> Vec<risk_flags::Model> {
    risk_flags::Entity::find()
        .filter(risk_flags::Column::RunId.eq(run_id))
        .all(app.db())
        .await
        .unwrap()
}

async fn finished_run(app: &TestApp) -> (i64, Value) {
    let db = app.db();
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
    (id, serde_json::from_str(&r.metrics).unwrap())
}

#[rocket::async_test]
async fn an_active_saved_formula_scores_the_next_run_and_a_deactivated_one_does_not() {
    on_each_backend_with(false, |app| async move {
        let db = app.db();
        srm::seed::seed_demo(db, &crate::common::demo_options(&app, 300))
            .await
            .unwrap()
            .expect("seeded");
        rules::ensure_seeded(db).await.unwrap();
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/auth/login",
                None,
                json!({"username": "admin", "password": "demo-pass-1"}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let admin = v["token"].as_str().unwrap().to_string();

        // Two active formulas: one for all, one for the first department.
        let department: HashMap<i64, i64> = students::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.department_id))
            .collect();
        let first_dep = *department.values().min().unwrap();
        // A formula is saved only after a passed trial on the latest finished run.
        finished_run(&app).await;
        let save = |mut body: Value| {
            let app = &app;
            let admin = admin.clone();
            async move {
                let mut trial = body.clone();
                trial.as_object_mut().unwrap().remove("name");
                let (s, t) = app
                    .send_json(
                        Method::Post,
                        "/api/v1/mining/formula/trial",
                        Some(&admin),
                        trial,
                    )
                    .await;
                assert_eq!((s, &t["passes"]), (Status::Ok, &json!(true)), "{t}");
                body["trial_token"] = t["trial_token"].clone();
                let (s, v) = app
                    .send_json(Method::Post, "/api/v1/mining/formulas", Some(&admin), body)
                    .await;
                assert_eq!(s, Status::Created, "{v}");
                v["id"].as_i64().unwrap()
            }
        };
        let general =
            save(json!({"name": "missed work", "weights": {"term_missed": 1.0}, "threshold": 1.0}))
                .await;
        let local = save(
            json!({"name": "failed before", "weights": {"prior_failed": 1.0},
            "threshold": 1.0, "department_id": first_dep}),
        )
        .await;
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/formulas",
                Some(&admin),
                json!({"name": "x", "weights": {"gender": 1.0}, "threshold": 1.0}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity, "{v}");
        let (_, listed) = app.get_json("/api/v1/mining/formulas", Some(&admin)).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 2);
        assert!(
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["is_active"] == true && f["created_by_name"].is_string())
        );

        let (run_a, metrics) = finished_run(&app).await;
        let flags = flags_of(&app, run_a).await;
        assert!(flags.len() > 100, "{} scored", flags.len());
        let mut counts = (0, 0, 0, 0);
        for f in &flags {
            let detail: run::FlagDetail = serde_json::from_str(&f.reasons).unwrap();
            let (fid, feature) = if department[&f.student_id] == first_dep {
                (local, "prior_failed")
            } else {
                (general, "term_missed")
            };
            let want = detail.features[idx(feature)];
            assert_eq!(f.formula_id, Some(fid), "student {}", f.student_id);
            assert!(
                (f.formula_score.unwrap() - want).abs() < 1e-6,
                "{:?} vs {want}",
                f.formula_score
            );
            assert_eq!(f.formula_flagged, Some(want >= 1.0));
            match (want >= 1.0, f.level != "low") {
                (true, true) => counts.0 += 1,
                (true, false) => counts.1 += 1,
                (false, true) => counts.2 += 1,
                (false, false) => counts.3 += 1,
            }
        }
        let m = &metrics["formula"];
        assert_eq!(
            (
                m["both"].as_u64(),
                m["formula_only"].as_u64(),
                m["model_only"].as_u64(),
                m["neither"].as_u64()
            ),
            (
                Some(counts.0),
                Some(counts.1),
                Some(counts.2),
                Some(counts.3)
            ),
            "{m}"
        );
        assert!(counts.0 + counts.1 > 0, "the formula flags someone: {m}");
        eprintln!("formula vs model on {} students: {m}", flags.len());

        // The API shows the formula's score and verdict, and filters on it.
        let (s, v) = app
            .get_json("/api/v1/mining/flags?per_page=5", Some(&admin))
            .await;
        assert_eq!(s, Status::Ok);
        assert!(
            v["items"][0]["formula_score"].is_number()
                && v["items"][0]["formula_flagged"].is_boolean(),
            "{v}"
        );
        let (s, v) = app
            .get_json(
                "/api/v1/mining/flags?formula=only&per_page=100",
                Some(&admin),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(v["total"].as_u64(), Some(counts.1));
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["formula_flagged"] == true && f["level"] == "low")
        );
        // A value the document does not list is refused by the document's own check.
        let (s, v) = app
            .get_json("/api/v1/mining/flags?formula=maybe", Some(&admin))
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("invalid_parameter"))
        );
        // The document names the values the filter takes, so a client (or schemathesis) that
        // follows it never sends another.
        let (_, doc) = app.get_json("/api/v1/openapi.json", None).await;
        let formula = doc["paths"]["/api/v1/mining/flags"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "formula")
            .unwrap()
            .clone();
        assert_eq!(
            formula["schema"]["enum"],
            json!(["flagged", "only", "model_only"]),
            "{formula}"
        );
        let page = app
            .get(&format!("/mining/runs/{run_a}"), Some(&admin))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            page.contains("missed work") && page.contains("/mining/flags?formula=only"),
            "agreement on the report"
        );
        let page = app
            .get("/mining/flags?formula=flagged", Some(&admin))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            page.contains("name=\"formula\""),
            "the formula filter on the flags page"
        );

        // Deactivated: the next run stores no formula scores; the earlier run keeps its own.
        for id in [general, local] {
            let (s, v) = app
                .send_json(
                    Method::Put,
                    &format!("/api/v1/mining/formulas/{id}"),
                    Some(&admin),
                    json!({"is_active": false}),
                )
                .await;
            assert_eq!(s, Status::Ok, "{v}");
        }
        let (run_b, metrics) = finished_run(&app).await;
        assert!(metrics["formula"].is_null(), "{}", metrics["formula"]);
        assert!(
            flags_of(&app, run_b)
                .await
                .iter()
                .all(|f| f.formula_score.is_none() && f.formula_flagged.is_none())
        );

        // Only the general one again, with a higher threshold: fewer flagged, nobody by the
        // department formula.
        let (s, _) = app
            .send_json(
                Method::Put,
                &format!("/api/v1/mining/formulas/{general}"),
                Some(&admin),
                json!({"is_active": true}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        let stricter = save(
            json!({"name": "missed a lot", "weights": {"term_missed": 1.0}, "threshold": 2.0}),
        )
        .await;
        let active: Vec<i64> = scoring_formulas::Entity::find()
            .filter(scoring_formulas::Column::IsActive.eq(true))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(
            active,
            vec![stricter],
            "saving switches off the scope's active formula"
        );
        let (run_c, _) = finished_run(&app).await;
        let flags_c = flags_of(&app, run_c).await;
        assert!(flags_c.iter().all(|f| f.formula_id == Some(stricter)));
        let flagged = |fl: &[risk_flags::Model]| {
            fl.iter()
                .filter(|f| f.formula_flagged == Some(true))
                .count()
        };
        assert!(flagged(&flags_c) <= flagged(&flags));

        // Deleted: gone from the list; runs keep what they stored; a second delete is a 404.
        let path = format!("/api/v1/mining/formulas/{local}");
        let (s, _) = app
            .send_json(Method::Delete, &path, Some(&admin), json!({}))
            .await;
        assert_eq!(s, Status::NoContent);
        let (s, v) = app
            .send_json(Method::Delete, &path, Some(&admin), json!({}))
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::NotFound, Some("not_found"))
        );
        assert!(
            flags_of(&app, run_a)
                .await
                .iter()
                .any(|f| f.formula_id == Some(local))
        );
        assert_eq!(app.audit_count("mining.formula_active", "ok").await, 3);
        assert_eq!(app.audit_count("mining.formula_delete", "ok").await, 1);
    })
    .await;
}

#[rocket::async_test]
async fn the_formula_page_lists_saved_formulas_with_who_saved_them_and_switches_them() {
    on_each_backend(|app| async move {
        let db = app.db();
        let p = app.people.clone();
        let csrf = app.page_login(p.admin).await;
        fixture_run(&app).await;
        let weights = enc("term_missed = 1\nprior_failed = 2");
        let fields = format!("_csrf={csrf}&name=Missed&department=&weights={weights}&threshold=1");
        let (s, _, html) =
            post_form(&app, "/mining/formula", &format!("{fields}&action=trial")).await;
        assert_eq!(s, Status::Ok);
        let token = hidden_value(&html, "trial_token").expect("a passed trial offers to save");
        let (s, loc, _) = post_form(
            &app,
            "/mining/formula",
            &format!("{fields}&action=save&trial_token={token}"),
        )
        .await;
        assert_eq!((s, loc.as_str()), (Status::SeeOther, "/mining/formula"));
        let (s, _, html) = post_form(
            &app,
            "/mining/formula",
            &format!(
                "_csrf={csrf}&name=Bad&department=&weights={}&threshold=1&action=save",
                enc("gender = 1")
            ),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(html.contains("gender"), "the refused line is named");
        let saved = scoring_formulas::Entity::find().all(db).await.unwrap();
        assert_eq!(saved.len(), 1, "the refused formula is not stored");
        let f = &saved[0];
        assert!(f.is_active);
        let admin_name = srm::entity::users::Entity::find_by_id(p.admin)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .display_name;
        let page = app
            .get("/mining/formula", None)
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            page.contains("Missed") && page.contains(&admin_name),
            "listed with who saved it"
        );
        assert!(page.contains(&format!("/mining/formula/{}/active", f.id)));

        let (s, _, _) = post_form(
            &app,
            &format!("/mining/formula/{}/active", f.id),
            &format!("_csrf={csrf}&active=false"),
        )
        .await;
        assert_eq!(s, Status::SeeOther);
        assert!(
            !scoring_formulas::Entity::find_by_id(f.id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .is_active
        );
        let (s, _, _) = post_form(
            &app,
            &format!("/mining/formula/{}/active", f.id),
            "_csrf=forged&active=true",
        )
        .await;
        assert_eq!(s, Status::Forbidden);
        let (s, _, _) = post_form(
            &app,
            &format!("/mining/formula/{}/delete", f.id),
            &format!("_csrf={csrf}"),
        )
        .await;
        assert_eq!(s, Status::SeeOther);
        assert_eq!(scoring_formulas::Entity::find().count(db).await.unwrap(), 0);
        let (s, _, _) = post_form(
            &app,
            "/mining/formula/999999/delete",
            &format!("_csrf={csrf}"),
        )
        .await;
        assert_eq!(s, Status::NotFound);
    })
    .await;
}

/// A finished run over `n` copies of the fixture student (plus the two fixture students) with
/// varied levels, features, factors and cluster traits; returns the run's id.
async fn varied_run(app: &TestApp, n: usize, salt: usize) -> i64 {
    let db = app.db();
    let run_id = fixture_run(app).await;
    let base = students::Entity::find_by_id(app.people.student_record)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    for i in 0..n {
        let no = format!("9{salt}{i:05}");
        let existing = students::Entity::find()
            .filter(students::Column::StudentNo.eq(no.clone()))
            .one(db)
            .await
            .unwrap();
        let sid = match existing {
            Some(s) => s.id,
            None => {
                let mut am: students::ActiveModel = base.clone().into();
                am.id = sea_orm::ActiveValue::NotSet;
                am.user_id = Set(None);
                am.national_id = Set(None);
                am.student_no = Set(no);
                am.insert(db).await.unwrap().id
            }
        };
        let k = i * 7 + salt * 3;
        let mut feats = vec![0.0; FEATURES.len()];
        feats[idx("term_missed")] = (k % 4) as f64;
        feats[idx("term_score")] = 30.0 + (k * 13 % 70) as f64;
        let level = ["low", "medium", "high"][k % 3];
        let factors = if k.is_multiple_of(2) {
            json!([{"feature": "term_missed", "value": 1.0, "contribution": 0.2, "zh": "x", "en": "x"}])
        } else {
            json!([])
        };
        let traits = if k.is_multiple_of(5) {
            json!(["term_missed+"])
        } else {
            json!([])
        };
        risk_flags::ActiveModel {
            run_id: Set(run_id),
            student_id: Set(sid),
            score: Set((k % 100) as f64),
            level: Set(level.into()),
            reasons: Set(
                json!({"factors": factors, "features": feats, "traits": traits}).to_string(),
            ),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    run_id
}

/// Each rule's matches on a run's flags, counted directly (no cache, no page).
async fn direct_counts(app: &TestApp, run_id: i64) -> HashMap<i64, usize> {
    let flags = flags_of(app, run_id).await;
    rules::all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let t: Value = serde_json::from_str(&r.trigger).unwrap();
            let n = flags
                .iter()
                .filter(|f| rules::matches(&t, &rules::subject_of(&f.level, &f.reasons)))
                .count();
            (r.id, n)
        })
        .collect()
}

async fn api_counts(app: &TestApp, token: &str) -> (i64, HashMap<i64, usize>) {
    let (s, v) = app.get_json("/api/v1/mining/rules", Some(token)).await;
    assert_eq!(s, Status::Ok, "{v}");
    let counts = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["matches"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    (v["match_run"].as_i64().unwrap(), counts)
}

#[rocket::async_test]
async fn rule_match_counts_equal_a_direct_count_are_kept_per_run_and_trigger_and_follow_changes() {
    on_each_backend(|app| async move {
        let db = app.db();
        rules::ensure_seeded(db).await.unwrap();
        let admin = app.token(app.people.admin).await;
        let run1 = varied_run(&app, 40, 1).await;
        let direct = direct_counts(&app, run1).await;
        assert!(direct.values().any(|n| *n > 0) && direct.values().any(|n| *n < 42), "{direct:?}");

        // The API and the page show the direct counts.
        let (run, counts) = api_counts(&app, &admin).await;
        assert_eq!((run, &counts), (run1, &direct));
        let csrf = app.page_login(app.people.admin).await;
        let page = app.get("/mining/rules", None).await.into_string().await.unwrap();
        for r in rules::all(db).await.unwrap() {
            let at = page.find(&format!("id=\"rule-{}\"", r.id)).unwrap();
            let section = &page[at..at + page[at..].find("</section>").unwrap()];
            let cell = format!("data-matches=\"{}\"", direct[&r.id]);
            assert!(section.contains(&cell), "rule {} shows {}", r.code, direct[&r.id]);
        }

        // Counted once per run and trigger: a second visit counts nothing again.
        let all = rules::all(db).await.unwrap();
        let m = rules::matches_on_latest(db, &all).await.unwrap().unwrap();
        assert_eq!(m.computed, 0, "the counts were kept");
        let from_cache: HashMap<i64, usize> = m.by_rule.iter().map(|(k, v)| (*k, v.count)).collect();
        assert_eq!(from_cache, direct);

        // A new rule is counted alone; a change of text only is not recounted; a new trigger is.
        let (s, created) = app
            .send_json(Method::Post, "/api/v1/mining/rules", Some(&admin),
                json!({"code": "low_scores", "priority": 5, "trigger": {"feature": "term_score", "lt": 60},
                    "text_zh": "复习基础。", "text_en": "Review the basics."}))
            .await;
        assert_eq!(s, Status::Created, "{created}");
        let id = created["id"].as_i64().unwrap();
        let all = rules::all(db).await.unwrap();
        assert_eq!(rules::matches_on_latest(db, &all).await.unwrap().unwrap().computed, 1);
        let (_, counts) = api_counts(&app, &admin).await;
        assert_eq!(counts, direct_counts(&app, run1).await);
        let (s, _) = app
            .send_json(Method::Put, &format!("/api/v1/mining/rules/{id}"), Some(&admin),
                json!({"text_en": "Go over the basics again.", "is_active": false}))
            .await;
        assert_eq!(s, Status::Ok);
        let all = rules::all(db).await.unwrap();
        assert_eq!(rules::matches_on_latest(db, &all).await.unwrap().unwrap().computed, 0);
        let (s, _) = app
            .send_json(Method::Put, &format!("/api/v1/mining/rules/{id}"), Some(&admin),
                json!({"trigger": {"all": [{"feature": "term_score", "lt": 60}, {"level": ["high"]}]}}))
            .await;
        assert_eq!(s, Status::Ok);
        let (_, counts) = api_counts(&app, &admin).await;
        let direct = direct_counts(&app, run1).await;
        assert_eq!(counts, direct);
        assert!(direct[&id] > 0, "{direct:?}");
        // The same through the page form.
        let (s, _, _) = post_form(&app, &format!("/mining/rules/{id}"), &format!(
            "_csrf={csrf}&trigger={}&text_zh={}&text_en={}&priority=5",
            enc("{\"level\": [\"medium\"]}"), enc("复习基础。"), enc("Review the basics."))).await;
        assert_eq!(s, Status::SeeOther);
        let (_, counts) = api_counts(&app, &admin).await;
        assert_eq!(counts, direct_counts(&app, run1).await);

        // A newer run: counted afresh on its own flags.
        let run2 = varied_run(&app, 25, 2).await;
        let (run, counts) = api_counts(&app, &admin).await;
        assert_eq!(run, run2);
        assert_eq!(counts, direct_counts(&app, run2).await);
        assert_ne!(counts, direct_counts(&app, run1).await);
    })
    .await;
}

#[rocket::async_test]
async fn leaving_levels_are_settings_validated_on_the_form_and_bad_values_keep_the_old_ones() {
    on_each_backend(|app| async move {
        let db = app.db();
        let defaults = settings::get(db).await.unwrap();
        assert_eq!((defaults.leave_medium_at, defaults.leave_high_at), (10.0, 25.0));
        assert_eq!(
            [5.0, 10.0, 24.9, 25.0].map(|s| defaults.leave_level(s)),
            ["low", "medium", "medium", "high"]
        );
        let csrf = app.page_login(app.people.admin).await;
        let page = app.get("/mining", None).await.into_string().await.unwrap();
        assert!(page.contains("name=\"leave_medium_at\"") && page.contains("name=\"leave_high_at\""));
        let form = |lm: &str, lh: &str, m: &str| {
            format!(
                "_csrf={csrf}&medium_at={m}&high_at=70&leave_medium_at={lm}&leave_high_at={lh}&schedule_hours=0&students_see_level=false"
            )
        };
        for (lm, lh, m, why) in [
            ("30", "20", "40", "leaving medium above high"),
            ("20", "20", "40", "leaving medium equal to high"),
            ("-1", "20", "40", "below 0"),
            ("10", "101", "40", "above 100"),
            ("abc", "20", "40", "not a number"),
            ("10", "20", "80", "risk medium above high"),
        ] {
            let (s, _, html) = post_form(&app, "/mining/settings", &form(lm, lh, m)).await;
            assert_eq!(s, Status::UnprocessableEntity, "{why}");
            assert!(html.contains("role=\"alert\""), "{why}: the message is shown");
            assert!(html.contains(&format!("name=\"leave_medium_at\" type=\"number\" step=\"any\" min=\"0\" max=\"100\" value=\"{lm}\"")), "{why}: the input is kept");
            assert_eq!(settings::get(db).await.unwrap(), defaults, "{why}: nothing stored");
        }
        let (s, _, _) = post_form(&app, "/mining/settings", &form("5", "15", "40").replace(&csrf, "forged")).await;
        assert_eq!(s, Status::Forbidden);
        assert_eq!(settings::get(db).await.unwrap(), defaults);
        let (s, loc, _) = post_form(&app, "/mining/settings", &form("5", "15.5", "40")).await;
        assert_eq!((s, loc.as_str()), (Status::SeeOther, "/mining"));
        let set = settings::get(db).await.unwrap();
        assert_eq!((set.leave_medium_at, set.leave_high_at), (5.0, 15.5));
        assert_eq!((set.medium_at, set.high_at, set.seed), (40.0, 70.0, defaults.seed));
        assert_eq!([4.9, 5.0, 15.5].map(|s| set.leave_level(s)), ["low", "medium", "high"]);
        assert_eq!(app.audit_count("mining.settings", "ok").await, 1);
        let page = app.get("/mining", None).await.into_string().await.unwrap();
        assert!(page.contains("name=\"leave_high_at\" type=\"number\" step=\"any\" min=\"0\" max=\"100\" value=\"15.5\""));
        // Settings stored before the leaving levels existed read as the defaults.
        srm::settings::put(db, settings::KEY, json!({"medium_at": 30.0, "high_at": 60.0}).to_string())
            .await
            .unwrap();
        let old = settings::get(db).await.unwrap();
        assert_eq!((old.medium_at, old.leave_medium_at, old.leave_high_at), (30.0, 10.0, 25.0));
    })
    .await;
}

/// The value of a hidden input in a page.
fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    rest.split('"').next().map(str::to_string)
}

/// The formula brief: trial first, then store. A formula is saved only with the token of a
/// passed trial of exactly that formula on the latest finished run.
#[rocket::async_test]
async fn a_formula_is_saved_only_after_a_passed_trial_of_itself() {
    on_each_backend(|app| async move {
        let db = app.db();
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let formula = json!({"weights": {"term_missed": 1.0}, "threshold": 1.0});
        let named = |extra: Value| {
            let mut f = formula.clone();
            f["name"] = json!("missed work");
            for (k, v) in extra.as_object().unwrap() {
                f[k] = v.clone();
            }
            f
        };
        let save = |body: Value| {
            let app = &app;
            let admin = admin.clone();
            async move {
                app.send_json(Method::Post, "/api/v1/mining/formulas", Some(&admin), body)
                    .await
            }
        };
        // No run yet: nothing to try it on, so nothing can be saved.
        let (s, v) = save(named(json!({}))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("trial_required"))
        );
        fixture_run(&app).await;
        let (s, t) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/formula/trial",
                Some(&admin),
                formula.clone(),
            )
            .await;
        assert_eq!(s, Status::Ok, "{t}");
        assert_eq!(
            (t["passes"].as_bool(), t["flagged"].as_u64()),
            (Some(true), Some(1)),
            "{t}"
        );
        let token = t["trial_token"].as_str().unwrap().to_string();
        // Without the token, with a token of another formula, or with a forged one: refused.
        let (s, v) = save(named(json!({}))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("trial_required"))
        );
        let (s, v) = save(named(json!({"threshold": 0.5, "trial_token": token}))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("trial_stale"))
        );
        let (s, v) = save(named(json!({"trial_token": "0".repeat(32)}))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("trial_stale"))
        );
        assert_eq!(scoring_formulas::Entity::find().count(db).await.unwrap(), 0);
        // A trial that flags nobody does not pass and gives no token.
        let (s, t) = app
            .send_json(
                Method::Post,
                "/api/v1/mining/formula/trial",
                Some(&admin),
                json!({"weights": {"term_missed": 1.0}, "threshold": 99.0}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(
            (t["passes"].as_bool(), t["problem"].as_str()),
            (Some(false), Some("flags_nobody"))
        );
        assert!(t["trial_token"].is_null());
        // The right token saves; a newer finished run makes the old trial stale.
        let (s, v) = save(named(json!({"trial_token": token}))).await;
        assert_eq!(s, Status::Created, "{v}");
        fixture_run(&app).await;
        let (s, v) = save(named(json!({"trial_token": token}))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("trial_stale"))
        );
        assert_eq!(scoring_formulas::Entity::find().count(db).await.unwrap(), 1);
        // The page: saving without a trial shows the form again with the reason.
        let csrf = app.page_login(p.admin).await;
        let (s, _, html) = post_form(
            &app,
            "/mining/formula",
            &format!(
                "_csrf={csrf}&name=X&department=&weights={}&threshold=1&action=save",
                enc("term_missed = 1")
            ),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(
            html.contains("try") || html.contains("试算"),
            "the reason is shown"
        );
        assert_eq!(scoring_formulas::Entity::find().count(db).await.unwrap(), 1);
    })
    .await;
}
