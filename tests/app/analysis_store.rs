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
