//! Retention, satisfaction over time and the course portfolio (issue 22): shares computed
//! right on small constructed cases, scope, the anonymity floor, CSV neutralised, students
//! refused.

use crate::common::{TestApp, extra_student, on_each_backend};
use chrono::{Duration, NaiveDate, Utc};
use rocket::http::{Method, Status};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use srm::entity::terms;

/// A past term (before the fixture's current one), with this code.
async fn past_term(app: &TestApp, code: &str, seq: i64, starts: NaiveDate, ends: NaiveDate) -> i64 {
    let at = |d: NaiveDate| d.and_hms_opt(8, 0, 0).unwrap().and_utc().fixed_offset();
    terms::ActiveModel {
        code: Set(code.into()),
        name_zh: Set(format!("{code} 学期")),
        name_en: Set(format!("Term {code}")),
        seq: Set(seq),
        starts_on: Set(starts),
        ends_on: Set(ends),
        registration_opens_at: Set(at(starts) - Duration::days(20)),
        registration_closes_at: Set(at(starts) + Duration::days(5)),
        add_drop_deadline: Set(at(starts) + Duration::days(10)),
        credit_limit: Set(25.0),
        is_current: Set(false),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap()
    .id
}

async fn patch_student(app: &TestApp, admin: &str, id: i64, body: Value) {
    let (s, v) = app
        .send_json(
            Method::Patch,
            &format!("/api/v1/students/{id}"),
            Some(admin),
            body,
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
}

/// The spring before the fixture's current term (which starts today).
async fn spring(app: &TestApp, code: &str) -> i64 {
    let today = Utc::now().date_naive();
    past_term(
        app,
        code,
        0,
        today - Duration::days(200),
        today - Duration::days(60),
    )
    .await
}

#[rocket::async_test]
async fn retention_is_the_share_of_the_cohort_still_enrolled_each_term() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        spring(&app, "2026-spring").await;
        // A cohort of 6 (the fixture's two and four more); 2 withdraw this term.
        let mut ids = vec![p.student_record, p.other_student_record];
        for no in ["2025000011", "2025000012", "2025000013", "2025000014"] {
            ids.push(extra_student(&app, no).await.1);
        }
        for id in &ids[4..] {
            patch_student(&app, &admin, *id, json!({"status": "withdrawn"})).await;
        }
        let (s, r) = app
            .get_json("/api/v1/analytics/retention", Some(&admin))
            .await;
        assert_eq!(s, Status::Ok, "{r}");
        assert_eq!(r["terms"].as_array().unwrap().len(), 2, "{r}");
        assert_eq!(r["terms"][0]["code"], "2026-spring");
        let cohort = &r["cohorts"][0];
        assert_eq!(cohort["cohort_year"], 2025);
        assert_eq!(cohort["students"], 6);
        assert_eq!(cohort["cells"][0]["retained"], 6, "{r}");
        assert_eq!(cohort["cells"][0]["share"], 100.0);
        assert_eq!(cohort["cells"][1]["retained"], 4, "{r}");
        assert_eq!(cohort["cells"][1]["share"], 66.7);
        assert_eq!(
            r["reasons"],
            json!([{"cohort_year": 2025, "reason": "withdrawn", "students": 2}])
        );
        // The page shows the same, with a chart and the CSV link.
        let page = app.page_in("/analytics/retention", &admin, "en").await;
        assert!(page.contains("66.7% (4)"), "{page}");
        assert!(page.contains(r#"role="img""#));
        assert!(page.contains("retention.csv"));
        // Filtering by another department leaves nobody; an id out of range is refused.
        let (s, none) = app
            .get_json(
                "/api/v1/analytics/retention?department=999999",
                Some(&admin),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(none["cohorts"], json!([]));
        let (s, _) = app
            .get_json("/api/v1/analytics/retention?major=0", Some(&admin))
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
    })
    .await;
}

#[rocket::async_test]
async fn an_advisors_retention_counts_only_their_advisees() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        patch_student(
            &app,
            &admin,
            p.other_student_record,
            json!({"advisor": TestApp::username(p.teacher)}),
        )
        .await;
        let teacher = app.token(p.teacher).await;
        let (s, r) = app
            .get_json("/api/v1/analytics/retention", Some(&teacher))
            .await;
        assert_eq!(s, Status::Ok, "{r}");
        assert_eq!(r["cohorts"][0]["students"], 1, "{r}");
        let (_, all) = app
            .get_json("/api/v1/analytics/retention", Some(&admin))
            .await;
        assert_eq!(all["cohorts"][0]["students"], 2);
        let other = app.token(p.other_teacher).await;
        let (_, none) = app
            .get_json("/api/v1/analytics/retention", Some(&other))
            .await;
        assert_eq!(none["cohorts"], json!([]));
        let csv = app
            .get("/analytics/retention.csv", Some(&teacher))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(csv.contains("\n2025,1,"), "{csv}");
    })
    .await;
}

#[rocket::async_test]
async fn the_retention_csv_is_neutralised() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        spring(&app, "=HYPERLINK(1)").await;
        let res = app.get("/analytics/retention.csv", Some(&admin)).await;
        assert_eq!(res.status(), Status::Ok);
        assert!(
            res.headers()
                .get_one("Content-Type")
                .unwrap()
                .starts_with("text/csv")
        );
        let csv = res.into_string().await.unwrap();
        assert!(csv.contains("'=HYPERLINK(1)"), "{csv}");
        assert!(!csv.contains(",=HYPERLINK"), "{csv}");
    })
    .await;
}

#[rocket::async_test]
async fn a_student_is_refused_the_retention_satisfaction_and_portfolio_pages_and_apis() {
    on_each_backend(|app| async move {
        let student = app.token(app.people.student).await;
        for path in [
            "/analytics/retention",
            "/analytics/retention.csv",
            "/api/v1/analytics/retention",
        ] {
            assert_eq!(
                app.get(path, Some(&student)).await.status(),
                Status::Forbidden,
                "{path}"
            );
        }
    })
    .await;
}
