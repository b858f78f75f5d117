//! Retention, satisfaction over time and the course portfolio (issue 22): shares computed
//! right on small constructed cases, scope, the anonymity floor, CSV neutralised, students
//! refused.

use crate::common::{TestApp, extra_student, on_each_backend};
use chrono::{Duration, NaiveDate, Utc};
use rocket::http::{Method, Status};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
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
        // Read from the analysis store once a snapshot was taken: the same answer, filtered too.
        srm::analytics::store::snapshot(app.db(), None)
            .await
            .unwrap();
        let (_, stored) = app
            .get_json("/api/v1/analytics/retention", Some(&admin))
            .await;
        assert_eq!(stored, r);
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
async fn a_student_is_refused_the_retention_pages_and_api() {
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

mod courses_and_feedback {
    use super::*;
    use srm::entity::{courses, enrolments, feedback_answers, grades, sections};

    async fn course(app: &TestApp, code: &str, title: &str) -> i64 {
        let dept = srm::entity::departments::Entity::find()
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .id;
        courses::ActiveModel {
            code: Set(code.into()),
            department_id: Set(dept),
            title_zh: Set(title.into()),
            title_en: Set(title.into()),
            credits: Set(2.0),
            description: Set(String::new()),
            is_active: Set(true),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap()
        .id
    }

    async fn section(app: &TestApp, term: i64, course: i64) -> i64 {
        sections::ActiveModel {
            term_id: Set(term),
            course_id: Set(course),
            section_no: Set("01".into()),
            teacher_id: Set(Some(app.people.teacher)),
            capacity: Set(30),
            waitlist_capacity: Set(5),
            room: Set("B201".into()),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap()
        .id
    }

    async fn enrolment(app: &TestApp, student: i64, section: i64, status: &str, pos: i64) {
        let now = Utc::now().fixed_offset();
        enrolments::ActiveModel {
            student_id: Set(student),
            section_id: Set(section),
            status: Set(status.parse().unwrap()),
            waitlist_position: Set((status == "waitlisted").then_some(pos)),
            created_at: Set(now),
            updated_at: Set(now),
            dropped_at: Set((status == "dropped").then_some(now)),
            override_reason: Set(None),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap();
    }

    async fn grade(app: &TestApp, student: i64, section: i64, score: f64) {
        let now = Utc::now().fixed_offset();
        grades::ActiveModel {
            section_id: Set(section),
            student_id: Set(student),
            score: Set(score),
            letter: Set(if score >= 60.0 { "C" } else { "F" }.into()),
            points: Set(if score >= 60.0 { 2.0 } else { 0.0 }),
            status: Set(grades::GradeStatus::Published),
            entered_by: Set(Some(app.people.teacher)),
            updated_at: Set(now),
            published_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap();
    }

    async fn answers(app: &TestApp, section: i64, overall: &[i64]) {
        for o in overall {
            feedback_answers::ActiveModel {
                id: Set(rand_id()),
                section_id: Set(section),
                teaching: Set(4),
                content: Set(4),
                workload: Set(3),
                overall: Set(*o),
                comment: Set(String::new()),
            }
            .insert(app.db())
            .await
            .unwrap();
        }
    }

    fn rand_id() -> i64 {
        (uuid::Uuid::new_v4().as_u128() >> 80) as i64
    }

    /// Two past terms; in the later one course A (title starting with `=`) has 3 enrolled, 1
    /// waitlisted and 1 dropped, grades 90, 70 and 40 (50 the term before) and 5 feedback
    /// answers; course B has 4 answers (below the floor). Returns (spring id, A id, B id).
    async fn constructed(app: &TestApp) -> (i64, i64, i64) {
        let today = Utc::now().date_naive();
        let autumn = past_term(
            app,
            "2025-fall",
            -1,
            today - Duration::days(400),
            today - Duration::days(250),
        )
        .await;
        let spring = spring(app, "2026-spring").await;
        let a = course(app, "PF101", "=HYPERLINK(\"http://x\")").await;
        let b = course(app, "PF102", "Quiet course").await;
        let (sa, sb, old) = (
            section(app, spring, a).await,
            section(app, spring, b).await,
            section(app, autumn, a).await,
        );
        let p = app.people.clone();
        let mut s = vec![p.student_record, p.other_student_record];
        for no in ["2025000021", "2025000022", "2025000023"] {
            s.push(extra_student(app, no).await.1);
        }
        for (i, st) in s.iter().enumerate() {
            let status = match i {
                0..=2 => "enrolled",
                3 => "waitlisted",
                _ => "dropped",
            };
            enrolment(app, *st, sa, status, 1).await;
        }
        enrolment(app, s[0], sb, "enrolled", 0).await;
        for (st, score) in s.iter().zip([90.0, 70.0, 40.0]) {
            grade(app, *st, sa, score).await;
        }
        grade(app, s[0], old, 50.0).await;
        answers(app, sa, &[5, 4, 4, 3, 4]).await;
        answers(app, sb, &[1, 1, 1, 1]).await;
        (spring, a, b)
    }

    #[rocket::async_test]
    async fn the_portfolio_counts_demand_and_outcomes_directly() {
        on_each_backend(|app| async move {
            let admin = app.token(app.people.admin).await;
            let (spring, a, b) = constructed(&app).await;
            let (s, r) = app
                .get_json(
                    &format!("/api/v1/analytics/portfolio?term={spring}&sort=code"),
                    Some(&admin),
                )
                .await;
            assert_eq!(s, Status::Ok, "{r}");
            assert_eq!(r["term"]["code"], "2026-spring");
            assert_eq!(r["previous_term"]["code"], "2025-fall");
            let courses = r["courses"].as_array().unwrap();
            assert_eq!(courses.len(), 2, "{r}");
            let ca = &courses[0];
            assert_eq!(ca["course_id"], a);
            assert_eq!(ca["registrations"], 3);
            assert_eq!(ca["waitlisted"], 1);
            assert_eq!(ca["drops"], 1);
            assert_eq!(ca["demand"], 4);
            assert_eq!(ca["graded"], 3);
            assert_eq!(ca["passed"], 2);
            assert_eq!(ca["pass_rate"], 66.7);
            assert_eq!(ca["trend"], 16.7);
            assert_eq!(ca["satisfaction"], 4.0);
            assert_eq!(ca["satisfaction_answers"], 5);
            // Course B's 4 answers are below the anonymity floor: not shown.
            let cb = &courses[1];
            assert_eq!(cb["course_id"], b);
            assert_eq!(cb["satisfaction"], Value::Null, "{r}");
            assert_eq!(cb["satisfaction_answers"], 0);
            assert_eq!(cb["pass_rate"], Value::Null);
            // Read from the analysis store once a snapshot was taken: the same answer.
            srm::analytics::store::snapshot(app.db(), None)
                .await
                .unwrap();
            let (_, stored) = app
                .get_json(
                    &format!("/api/v1/analytics/portfolio?term={spring}&sort=code"),
                    Some(&admin),
                )
                .await;
            assert_eq!(stored, r);
            // Sorted by demand (the default, highest first); an unknown column is refused.
            let (_, by_demand) = app
                .get_json(
                    &format!("/api/v1/analytics/portfolio?term={spring}"),
                    Some(&admin),
                )
                .await;
            assert_eq!(by_demand["courses"][0]["course_id"], a);
            let (_, asc) = app
                .get_json(
                    &format!("/api/v1/analytics/portfolio?term={spring}&sort=demand&dir=asc"),
                    Some(&admin),
                )
                .await;
            assert_eq!(asc["courses"][0]["course_id"], b);
            let (s, _) = app
                .get_json("/api/v1/analytics/portfolio?sort=title", Some(&admin))
                .await;
            assert_eq!(s, Status::UnprocessableEntity);
            let (s, _) = app
                .get_json("/api/v1/analytics/portfolio?term=999999", Some(&admin))
                .await;
            assert_eq!(s, Status::NotFound);
            // The page: the scatter, the sortable headings, the numbers in the table.
            let page = app
                .page_in(&format!("/analytics/portfolio?term={spring}"), &admin, "en")
                .await;
            assert!(
                page.contains(r#"class="chart scatter" role="img""#),
                "{page}"
            );
            assert!(page.contains("66.7% (2/3)"), "{page}");
            assert!(page.contains(r#"aria-sort="descending""#));
            assert!(page.contains("sort=pass_rate"));
        })
        .await;
    }

    #[rocket::async_test]
    async fn the_portfolio_csv_neutralises_a_title_starting_with_equals() {
        on_each_backend(|app| async move {
            let admin = app.token(app.people.admin).await;
            let (spring, _, _) = constructed(&app).await;
            let res = app
                .get(
                    &format!("/analytics/portfolio.csv?term={spring}"),
                    Some(&admin),
                )
                .await;
            assert_eq!(res.status(), Status::Ok);
            let csv = res.into_string().await.unwrap();
            assert!(csv.contains("'=HYPERLINK"), "{csv}");
            assert!(!csv.contains(",=HYPERLINK"), "{csv}");
            assert!(!csv.contains(",\"=HYPERLINK"), "{csv}");
            assert!(csv.contains("PF101"), "{csv}");
        })
        .await;
    }

    #[rocket::async_test]
    async fn a_student_is_refused_the_portfolio() {
        on_each_backend(|app| async move {
            let student = app.token(app.people.student).await;
            for path in [
                "/analytics/portfolio",
                "/analytics/portfolio.csv",
                "/api/v1/analytics/portfolio",
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

    async fn closed_case(app: &TestApp, student: i64, rating: Option<i64>) {
        use srm::entity::{case_ratings, cases};
        let at = (Utc::now() - Duration::days(100)).fixed_offset();
        let id = cases::ActiveModel {
            student_id: Set(student),
            category: Set("inquiry".into()),
            topic: Set("other".into()),
            subject: Set("A question".into()),
            body: Set("Body".into()),
            department_id: Set(None),
            queue: Set("general".into()),
            status: Set(cases::CaseStatus::Closed),
            assigned_to: Set(None),
            created_at: Set(at),
            due_at: Set(at),
            first_response_at: Set(Some(at)),
            closed_at: Set(Some(at)),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap()
        .id;
        if let Some(r) = rating {
            case_ratings::ActiveModel {
                case_id: Set(id),
                rating: Set(r),
                comment: Set(String::new()),
                at: Set(at),
            }
            .insert(app.db())
            .await
            .unwrap();
        }
    }

    #[rocket::async_test]
    async fn satisfaction_shows_scores_only_at_or_above_the_anonymity_floor() {
        on_each_backend(|app| async move {
            use srm::entity::{departments, feedback_submissions};
            let admin = app.token(app.people.admin).await;
            let (spring, _, _) = constructed(&app).await;
            let p = app.people.clone();
            // Two of the three enrolled in course A answered (who answered is stored apart).
            let sa = sections::Entity::find()
                .all(app.db())
                .await
                .unwrap()
                .into_iter()
                .find(|s| s.term_id == spring)
                .unwrap()
                .id;
            for st in [p.student_record, p.other_student_record] {
                feedback_submissions::ActiveModel {
                    section_id: Set(sa),
                    student_id: Set(st),
                }
                .insert(app.db())
                .await
                .unwrap();
            }
            // Another department whose only section has 4 answers: below the floor of 5.
            let ee = departments::ActiveModel {
                code: Set("EE".into()),
                name_zh: Set("电子工程学院".into()),
                name_en: Set("Electrical Engineering".into()),
                ..Default::default()
            }
            .insert(app.db())
            .await
            .unwrap()
            .id;
            let c = course(&app, "EE101", "Circuits").await;
            courses::ActiveModel {
                id: Set(c),
                department_id: Set(ee),
                ..Default::default()
            }
            .update(app.db())
            .await
            .unwrap();
            let se = section(&app, spring, c).await;
            answers(&app, se, &[2, 2, 2, 2]).await;
            // Two cases closed in the spring, one rated.
            closed_case(&app, p.student_record, Some(5)).await;
            closed_case(&app, p.student_record, None).await;
            let (s, r) = app
                .get_json("/api/v1/analytics/satisfaction", Some(&admin))
                .await;
            assert_eq!(s, Status::Ok, "{r}");
            assert_eq!(r["floor"], 5);
            let row = |dept: &str| {
                r["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["term_code"] == "2026-spring" && x["department_code"] == dept)
                    .cloned()
                    .unwrap_or_else(|| panic!("{dept} in {r}"))
            };
            let cs = row("CS");
            // Course A's 5 answers count (mean 4); course B's 4 do not.
            assert_eq!(cs["survey_answers_counted"], 5, "{cs}");
            assert_eq!(cs["survey_mean"], 4.0);
            assert_eq!(cs["survey_sections"], 2);
            assert_eq!(cs["survey_enrolled"], 4);
            assert_eq!(cs["survey_submitted"], 2);
            assert_eq!(cs["survey_response_rate"], 50.0);
            assert_eq!(cs["cases_closed"], 2);
            assert_eq!(cs["cases_rated"], 1);
            assert_eq!(cs["case_response_rate"], 50.0);
            // One rating is below the floor too: no mean.
            assert_eq!(cs["case_mean"], Value::Null);
            let e = row("EE");
            assert_eq!(e["survey_mean"], Value::Null, "{e}");
            assert_eq!(e["survey_answers_counted"], 0);
            // Read from the analysis store once a snapshot was taken: the same answer, the
            // floor applied to each section's answers as they were stored.
            srm::analytics::store::snapshot(app.db(), None)
                .await
                .unwrap();
            let (_, stored) = app
                .get_json("/api/v1/analytics/satisfaction", Some(&admin))
                .await;
            assert_eq!(stored, r);
            // The page and the CSV say the same.
            let page = app.page_in("/analytics/satisfaction", &admin, "en").await;
            assert!(page.contains("4.00 (5)"), "{page}");
            assert!(page.contains(r#"role="img""#));
            let csv = app
                .get("/analytics/satisfaction.csv", Some(&admin))
                .await
                .into_string()
                .await
                .unwrap();
            assert!(csv.contains("2026-spring,CS,"), "{csv}");
            let student = app.token(p.student).await;
            for path in [
                "/analytics/satisfaction",
                "/analytics/satisfaction.csv",
                "/api/v1/analytics/satisfaction",
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
}
