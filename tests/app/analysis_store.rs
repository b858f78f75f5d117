//! The analysis store (issue 22): a snapshot of the history in summary tables that the
//! lifecycle page and the summary by term read. What the store answers equals what the whole
//! history says when the snapshot is taken, for everyone and for an advisor's scope; the summary
//! is filtered, scoped, exported as neutralised CSV; a snapshot is an administrator's action.

use crate::common::{Backend, TestApp, demo_app, demo_token, postgres_url};
use rocket::http::{Header, Method, Status};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use srm::analytics::{analysis, scope::Reach, store};

/// The demo university on each backend (its seed takes a first snapshot).
async fn each_demo<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    test(demo_app(Backend::Sqlite, 150).await).await;
    if postgres_url().is_some() {
        test(demo_app(Backend::Postgres, 150).await).await;
    }
}

/// A number from one SQL query (the same text on both backends).
async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let db = app.db();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[rocket::async_test]
async fn the_store_answers_what_the_whole_history_says_for_everyone_and_an_advisor() {
    each_demo(|app| async move {
        let db = app.db();
        assert!(
            store::latest(db).await.unwrap().is_some(),
            "the demo opens with a snapshot"
        );
        let advisor = scalar(
            &app,
            "SELECT advisor_id FROM students WHERE advisor_id IS NOT NULL \
             GROUP BY advisor_id ORDER BY COUNT(*) DESC, advisor_id LIMIT 1",
        )
        .await;
        for reach in [Reach::All, Reach::Advisor(advisor)] {
            let stored = store::lifecycle(db, reach).await.unwrap();
            let live = analysis::live_report(db, reach).await.unwrap();
            assert!(stored.taken_at.is_some() && live.taken_at.is_none());
            let counts = |r: &analysis::LifecycleReport| {
                r.terms.iter().map(|t| t.counts.clone()).collect::<Vec<_>>()
            };
            assert_eq!(counts(&stored), counts(&live), "{reach:?}");
            assert!(counts(&live).iter().flatten().sum::<i64>() > 0);
            assert_eq!(
                serde_json::to_value(&stored.funnel).unwrap(),
                serde_json::to_value(&live.funnel).unwrap()
            );
            assert_eq!(
                serde_json::to_value(&stored.recovery).unwrap(),
                serde_json::to_value(&live.recovery).unwrap()
            );
        }
        // The summary's counts are the tables' own.
        let s = store::summary(db, Reach::All, 0, 0, 0).await.unwrap();
        let graded: i64 = s.terms.iter().map(|t| t.graded).sum();
        assert_eq!(
            graded,
            scalar(
                &app,
                "SELECT COUNT(*) FROM grades WHERE status = 'published'"
            )
            .await
        );
        let registrations: i64 = s.terms.iter().map(|t| t.registrations).sum();
        assert_eq!(
            registrations,
            scalar(
                &app,
                "SELECT COUNT(*) FROM enrolments WHERE status = 'enrolled'"
            )
            .await
        );
        let cells: i64 = s.terms.iter().flat_map(|t| t.cells.iter()).sum();
        assert_eq!(
            cells,
            scalar(&app, "SELECT COUNT(*) FROM value_cells").await
        );
        // Until the next snapshot the store keeps what it had; the snapshot brings it up to date.
        let before = store::lifecycle(db, Reach::All).await.unwrap();
        let student = scalar(&app, "SELECT MIN(id) FROM students").await;
        sea_orm::ActiveModelTrait::insert(
            srm::entity::lifecycle_transitions::ActiveModel {
                student_id: sea_orm::Set(student),
                from_stage: sea_orm::Set(None),
                to_stage: sea_orm::Set("left".into()),
                at: sea_orm::Set(chrono::Utc::now().fixed_offset()),
                rule: sea_orm::Set("test".into()),
                source: sea_orm::Set(srm::analytics::transitions::STATUS_CHANGE.into()),
                ..Default::default()
            },
            db,
        )
        .await
        .unwrap();
        let live = analysis::live_report(db, Reach::All).await.unwrap();
        let stored = store::lifecycle(db, Reach::All).await.unwrap();
        assert_eq!(
            serde_json::to_value(&stored.terms).unwrap(),
            serde_json::to_value(&before.terms).unwrap()
        );
        store::snapshot(db, None).await.unwrap();
        let stored = store::lifecycle(db, Reach::All).await.unwrap();
        assert_eq!(
            serde_json::to_value(&stored.terms).unwrap(),
            serde_json::to_value(&live.terms).unwrap()
        );
    })
    .await;
}

#[rocket::async_test]
async fn the_summary_is_filtered_scoped_exported_and_refreshed_by_an_administrator() {
    let app = demo_app(Backend::Sqlite, 150).await;
    let admin = demo_token(&app, "admin").await;
    let (s, all) = app
        .get_json("/api/v1/analytics/summary", Some(&admin))
        .await;
    assert_eq!(s, Status::Ok, "{all}");
    let total = |v: &Value, field: &str| -> i64 {
        v["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[field].as_i64().unwrap())
            .sum()
    };
    assert!(total(&all, "enrolled") > 0);
    let cohort = scalar(&app, "SELECT MIN(cohort_year) FROM students").await;
    let (_, one) = app
        .get_json(
            &format!("/api/v1/analytics/summary?cohort={cohort}"),
            Some(&admin),
        )
        .await;
    assert!(total(&one, "enrolled") > 0 && total(&one, "enrolled") < total(&all, "enrolled"));
    let (s, _) = app
        .get_json("/api/v1/analytics/summary?cohort=12", Some(&admin))
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    // A teacher who advises nobody sees nothing of it; a student is refused.
    let teacher = demo_token(&app, "teacher1").await;
    let advises = scalar(
        &app,
        "SELECT COUNT(*) FROM students st JOIN users u ON u.id = st.advisor_id \
         WHERE u.username = 'teacher1'",
    )
    .await;
    let (s, mine) = app
        .get_json("/api/v1/analytics/summary", Some(&teacher))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(total(&mine, "enrolled") <= advises * mine["terms"].as_array().unwrap().len() as i64);
    assert!(total(&mine, "enrolled") < total(&all, "enrolled"));
    let (s, _) = app
        .send_json(
            Method::Post,
            "/api/v1/analytics/snapshots",
            Some(&teacher),
            json!({}),
        )
        .await;
    assert_eq!(s, Status::Forbidden);
    // The administrator takes a snapshot; it is audited.
    let (s, snap) = app
        .send_json(
            Method::Post,
            "/api/v1/analytics/snapshots",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{snap}");
    assert!(snap["term_rows"].as_i64().unwrap() > 0);
    assert!(app.audit_count("analytics.snapshot", "ok").await >= 1);
    // The page in Chinese with its chart, and the CSV.
    let page = app.page_in("/analytics/summary", &admin, "zh-CN").await;
    assert!(
        page.contains("分学期汇总") && page.contains("<svg"),
        "{page}"
    );
    let res = app
        .client
        .get("/analytics/summary.csv")
        .header(Header::new("Authorization", format!("Bearer {admin}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let csv = res.into_string().await.unwrap();
    assert!(
        csv.trim_start_matches('\u{feff}')
            .starts_with("term,name_zh,name_en,enrolled"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        all["terms"].as_array().unwrap().len() + 1
    );
}

/// An SQL statement run as it is (the same text on both backends).
async fn exec(app: &TestApp, sql: &str) -> u64 {
    let db = app.db();
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .rows_affected()
}

/// What the value matrix, retention, satisfaction and the portfolio (this term and `previous`)
/// answer through the API.
async fn api_answers(app: &TestApp, admin: &str, term: i64, previous: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/analytics/value-matrix".to_string(),
        "/api/v1/analytics/retention".to_string(),
        "/api/v1/analytics/satisfaction".to_string(),
        format!("/api/v1/analytics/portfolio?term={term}&sort=code"),
        format!("/api/v1/analytics/portfolio?term={previous}&sort=code"),
    ] {
        let (s, v) = app.get_json(&path, Some(admin)).await;
        assert_eq!(s, Status::Ok, "{path}: {v}");
        out.push(v);
    }
    out
}

/// The same, computed live from the whole history (the matrix as its API shows it).
async fn live_answers(app: &TestApp, term: i64, previous: i64) -> Vec<Value> {
    use srm::analytics::{portfolio, retention, satisfaction, value};
    let db = app.db();
    let m = value::matrix(db, Reach::All).await.unwrap();
    let mut api = app
        .get_json(
            "/api/v1/analytics/value-matrix",
            Some(&demo_token(app, "admin").await),
        )
        .await
        .1;
    // The matrix's answer with the live counts, movement and terms put in.
    for c in api["cells"].as_array_mut().unwrap() {
        let code = c["code"].as_str().unwrap().to_string();
        c["count"] = json!(m.counts.iter().find(|(k, _)| *k == code).unwrap().1);
    }
    api["total"] = json!(m.total);
    api["movement"] = serde_json::to_value(&m.flows).unwrap();
    api["term"] = serde_json::to_value(&m.term).unwrap();
    api["previous_term"] = serde_json::to_value(&m.previous).unwrap();
    let q = |t: i64| portfolio::PortfolioQuery {
        term: Some(t),
        sort: Some("code".into()),
        dir: None,
    };
    vec![
        api,
        serde_json::to_value(
            retention::report(db, Reach::All, Default::default())
                .await
                .unwrap(),
        )
        .unwrap(),
        serde_json::to_value(satisfaction::report(db).await.unwrap()).unwrap(),
        serde_json::to_value(portfolio::report(db, &q(term)).await.unwrap()).unwrap(),
        serde_json::to_value(portfolio::report(db, &q(previous)).await.unwrap()).unwrap(),
    ]
}

#[rocket::async_test]
async fn the_matrix_portfolio_satisfaction_and_retention_answer_from_the_store_as_the_history_does()
{
    use srm::analytics::{facts, retention, stored, value};
    each_demo(|app| async move {
        let db = app.db();
        let admin = demo_token(&app, "admin").await;
        let snap = store::latest(db).await.unwrap().unwrap();
        assert_eq!(
            snap.facts,
            facts::FACTS,
            "the demo's snapshot wrote the facts"
        );
        let term = scalar(&app, "SELECT id FROM terms WHERE is_current = TRUE").await;
        let previous = scalar(
            &app,
            "SELECT id FROM terms WHERE seq < (SELECT seq FROM terms WHERE is_current = TRUE) \
             ORDER BY seq DESC LIMIT 1",
        )
        .await;
        let advisor = scalar(
            &app,
            "SELECT advisor_id FROM students WHERE advisor_id IS NOT NULL \
             GROUP BY advisor_id ORDER BY COUNT(*) DESC, advisor_id LIMIT 1",
        )
        .await;
        let department = scalar(&app, "SELECT MIN(department_id) FROM students").await;
        // In every scope and filter, the store's answer is the live one.
        for reach in [Reach::All, Reach::Advisor(advisor)] {
            let stored = stored::matrix(db, reach).await.unwrap().unwrap();
            let live = value::matrix(db, reach).await.unwrap();
            assert_eq!(
                serde_json::to_value(&stored).unwrap(),
                serde_json::to_value(&live).unwrap(),
                "{reach:?}"
            );
            assert!(live.total > 0 && !live.flows.is_empty());
            for q in [
                retention::RetentionQuery::default(),
                retention::RetentionQuery {
                    department: Some(department),
                    major: None,
                },
            ] {
                let stored = stored::retention(db, reach, q).await.unwrap().unwrap();
                let live = retention::report(db, reach, q).await.unwrap();
                assert_eq!(
                    serde_json::to_value(&stored).unwrap(),
                    serde_json::to_value(&live).unwrap(),
                    "{reach:?} {q:?}"
                );
                assert!(!live.cohorts.is_empty());
            }
        }
        let before = api_answers(&app, &admin, term, previous).await;
        for (i, (b, l)) in before
            .iter()
            .zip(&live_answers(&app, term, previous).await)
            .enumerate()
        {
            assert_eq!(b, l, "answer {i}");
        }
        // The history changes: a registration dropped in each term, a student withdrawn, a
        // cell moved. The pages keep the snapshot's answers until the next one.
        // NOTE: the term before's survey has closed, so satisfaction counts its enrolments.
        for t in [term, previous] {
            assert_eq!(
                exec(
                    &app,
                    &format!(
                        "UPDATE enrolments SET status = 'dropped' WHERE id = (SELECT MIN(e.id) \
                         FROM enrolments e JOIN sections s ON s.id = e.section_id \
                         WHERE s.term_id = {t} AND e.status = 'enrolled')"
                    ),
                )
                .await,
                1
            );
        }
        let student = scalar(
            &app,
            "SELECT MIN(id) FROM students WHERE merged_into_id IS NULL AND status = 'active'",
        )
        .await;
        sea_orm::ActiveModelTrait::insert(
            srm::entity::student_history::ActiveModel {
                student_id: sea_orm::Set(student),
                at: sea_orm::Set(chrono::Utc::now().fixed_offset()),
                field: sea_orm::Set("status".into()),
                old_value: sea_orm::Set(Some("active".into())),
                new_value: sea_orm::Set(Some("withdrawn".into())),
                ..Default::default()
            },
            db,
        )
        .await
        .unwrap();
        assert_eq!(
            exec(
                &app,
                &format!(
                    "UPDATE value_cells SET cell = CASE WHEN cell = 'rescue' THEN 'develop' \
                     ELSE 'rescue' END WHERE id = (SELECT MIN(id) FROM value_cells \
                     WHERE term_id = {term})"
                ),
            )
            .await,
            1
        );
        let live = live_answers(&app, term, previous).await;
        for (i, (b, l)) in before.iter().zip(&live).enumerate() {
            assert_ne!(b, l, "the history changed ({i})");
        }
        assert_eq!(api_answers(&app, &admin, term, previous).await, before);
        store::snapshot(db, None).await.unwrap();
        assert_eq!(api_answers(&app, &admin, term, previous).await, live);
        // Computing the matrix writes its facts in the same transaction.
        exec(&app, "DELETE FROM analysis_value_facts").await;
        value::compute_current(db, None).await.unwrap();
        let stored = stored::matrix(db, Reach::All).await.unwrap().unwrap();
        let live = value::matrix(db, Reach::All).await.unwrap();
        assert_eq!(
            serde_json::to_value(&stored).unwrap(),
            serde_json::to_value(&live).unwrap()
        );
    })
    .await;
}

/// The statistics API's figures that both ways of counting give.
fn figures(v: &Value) -> Value {
    json!({"statistics": v["statistics"], "trend": v["trend"]})
}

#[rocket::async_test]
async fn wide_grade_statistics_answer_from_the_store_as_the_grades_do_until_the_next_snapshot() {
    use srm::grades::stats::{self, Scope};
    each_demo(|app| async move {
        let db = app.db();
        let admin = demo_token(&app, "admin").await;
        let term = scalar(
            &app,
            "SELECT s.term_id FROM grades g JOIN sections s ON s.id = g.section_id \
             WHERE g.status = 'published' GROUP BY s.term_id ORDER BY COUNT(*) DESC, s.term_id \
             LIMIT 1",
        )
        .await;
        let department = scalar(
            &app,
            "SELECT c.department_id FROM grades g JOIN sections s ON s.id = g.section_id \
             JOIN courses c ON c.id = s.course_id WHERE g.status = 'published' \
             GROUP BY c.department_id ORDER BY COUNT(*) DESC, c.department_id LIMIT 1",
        )
        .await;
        let scopes = [
            (String::new(), Scope::default()),
            (
                format!("term={term}"),
                Scope {
                    term: Some(term),
                    ..Scope::default()
                },
            ),
            (
                format!("department={department}"),
                Scope {
                    department: Some(department),
                    ..Scope::default()
                },
            ),
            (
                format!("term={term}&department={department}"),
                Scope {
                    term: Some(term),
                    department: Some(department),
                    ..Scope::default()
                },
            ),
        ];
        // What the grades say now, counted live.
        let live = |scope: Scope| async move {
            let trend = if scope.department.is_some() {
                let whole = Scope {
                    term: None,
                    ..scope
                };
                stats::by_term(db, &whole).await.unwrap()
            } else {
                Vec::new()
            };
            json!({"statistics": stats::stats(db, &scope).await.unwrap(), "trend": trend})
        };
        let answers = |query: String| {
            let admin = admin.clone();
            let app = &app;
            async move {
                let (s, v) = app
                    .get_json(&format!("/api/v1/statistics?{query}"), Some(&admin))
                    .await;
                assert_eq!(s, Status::Ok, "{v}");
                v
            }
        };
        let mut before = Vec::new();
        for (query, scope) in &scopes {
            let v = answers(query.clone()).await;
            assert!(v["as_of"].is_string(), "{query}: {v}");
            assert_eq!(figures(&v), live(*scope).await, "{query}");
            assert!(v["statistics"]["count"].as_i64().unwrap() > 0, "{query}");
            before.push(figures(&v));
        }
        assert!(before[2]["trend"].as_array().unwrap().len() > 1);
        // A course's statistics stay live.
        let course = scalar(
            &app,
            &format!(
                "SELECT s.course_id FROM grades g JOIN sections s ON s.id = g.section_id \
                 JOIN courses c ON c.id = s.course_id WHERE g.status = 'published' \
                 AND s.term_id = {term} AND c.department_id = {department} \
                 ORDER BY g.id LIMIT 1"
            ),
        )
        .await;
        let (_, v) = app
            .get_json(&format!("/api/v1/statistics?course={course}"), Some(&admin))
            .await;
        assert!(v["as_of"].is_null(), "{v}");
        // A published grade of that course is corrected: the course's figures move at once,
        // the wide ones at the next snapshot, to what the grades then say.
        exec(
            &app,
            &format!(
                "UPDATE grades SET score = CASE WHEN score >= 50 THEN score - 50 ELSE score + 50 END \
                 WHERE id = (SELECT g.id FROM grades g JOIN sections s ON s.id = g.section_id \
                 WHERE g.status = 'published' AND s.course_id = {course} AND s.term_id = {term} \
                 ORDER BY g.id LIMIT 1)"
            ),
        )
        .await;
        let (_, moved) = app
            .get_json(&format!("/api/v1/statistics?course={course}"), Some(&admin))
            .await;
        assert_ne!(moved["statistics"], v["statistics"]);
        for ((query, _), was) in scopes.iter().zip(&before) {
            assert_eq!(&figures(&answers(query.clone()).await), was, "{query}");
        }
        store::snapshot(db, None).await.unwrap();
        for ((query, scope), was) in scopes.iter().zip(&before) {
            let now = figures(&answers(query.clone()).await);
            assert_eq!(now, live(*scope).await, "{query}");
            assert_ne!(&now["statistics"], &was["statistics"], "{query}");
        }
        // The page says when.
        let page = app.page_in("/grades/statistics", &admin, "en").await;
        assert!(page.contains("as of the analysis store"), "{page}");
    })
    .await;
}

/// The lifecycle report's stage counts (the whole university's, and an advisor's) are read from
/// an index of the store's term facts alone, not from its rows.
#[rocket::async_test]
async fn the_lifecycle_reports_stage_counts_are_read_from_an_index_alone() {
    let app = TestApp::new(Backend::Sqlite).await;
    for reach in [Reach::All, Reach::Advisor(2)] {
        let stmt = Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            store::STAGE_COUNTS_SQL,
            reach.values(),
        );
        let plan = app.sqlite_plan(stmt).await;
        assert!(
            plan.iter().any(|step| step.contains("COVERING INDEX")),
            "{plan:#?}"
        );
    }
}
