//! The demo university: deterministic, big enough to mine, consistent, seeded only once.

use crate::common::{Backend, TestApp, on_each_backend_with};
use rocket::http::{Method, Status};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use srm::entity::{courses, departments, grades, sections, students, terms, users};
use srm::seed::{decliners_file, seed_demo};

async fn scalar(db: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[rocket::async_test]
async fn the_demo_university_is_complete_consistent_and_seeded_once() {
    on_each_backend_with(false, |app| async move {
        let db = app.db();
        let opts = crate::common::demo_options(&app, 2000);
        let summary = seed_demo(db, &opts).await.unwrap().expect("seeded");
        assert!(seed_demo(db, &opts).await.unwrap().is_none(), "a second run seeds nothing");

        assert_eq!(students::Entity::find().count(db).await.unwrap(), 2000);
        assert!(departments::Entity::find().count(db).await.unwrap() >= 5);
        assert!(courses::Entity::find().count(db).await.unwrap() >= 60);
        let current = terms::Entity::find().filter(terms::Column::IsCurrent.eq(true)).one(db).await.unwrap().unwrap();
        let now = chrono::Utc::now().fixed_offset();
        assert!(current.registration_opens_at <= now && now <= current.registration_closes_at, "registration is open");
        let in_current = sections::Entity::find().filter(sections::Column::TermId.eq(current.id)).count(db).await.unwrap();
        assert!(in_current >= 150, "{in_current} sections this term");
        assert!(terms::Entity::find().filter(terms::Column::IsCurrent.eq(false)).count(db).await.unwrap() >= 3);
        assert!(grades::Entity::find().filter(grades::Column::Status.eq("published")).count(db).await.unwrap() > 10_000);
        assert_eq!(summary.students, 2000);

        // Counters agree with the rows, and no section is over-filled.
        let bad = scalar(
            db,
            "SELECT COUNT(*) FROM sections s WHERE s.enrolled_count <> (SELECT COUNT(*) FROM enrolments e WHERE e.section_id = s.id AND e.status = 'enrolled') \
             OR s.waitlist_count <> (SELECT COUNT(*) FROM enrolments e WHERE e.section_id = s.id AND e.status = 'waitlisted') \
             OR s.enrolled_count > s.capacity + s.override_count",
        )
        .await;
        assert_eq!(bad, 0);

        // teacher1 teaches this term; everyone logs in with the demo password.
        let t1 = users::Entity::find().filter(users::Column::Username.eq("teacher1")).one(db).await.unwrap().unwrap();
        let taught = sections::Entity::find()
            .filter(sections::Column::TeacherId.eq(t1.id))
            .filter(sections::Column::TermId.eq(current.id))
            .count(db)
            .await
            .unwrap();
        assert!(taught >= 2);
        let some_student = students::Entity::find().one(db).await.unwrap().unwrap();
        for name in ["admin", "teacher1", some_student.student_no.as_str()] {
            let (s, _) = app
                .send_json(Method::Post, "/api/v1/auth/login", None, serde_json::json!({"username": name, "password": "demo-pass-1"}))
                .await;
            assert_eq!(s, Status::Ok, "demo login {name}");
        }

        // The decline list is written for the tests (the portal never reads it).
        let list = std::fs::read_to_string(decliners_file(&opts.out_dir)).unwrap();
        let n = list.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        assert!((120..=400).contains(&n), "{n} decliners");
    })
    .await;
}

#[rocket::async_test]
async fn the_same_seed_gives_the_same_university() {
    let mut digests = Vec::new();
    for _ in 0..2 {
        let app = TestApp::setup(Backend::Sqlite, false).await;
        let db = app.db();
        seed_demo(db, &crate::common::demo_options(&app, 300))
            .await
            .unwrap()
            .expect("seeded");
        let d = scalar(
            db,
            "SELECT COALESCE(SUM(CAST(score * 10 AS INTEGER) * (id % 97 + 1)), 0) FROM grades",
        )
        .await;
        let s = scalar(
            db,
            "SELECT COALESCE(SUM(LENGTH(name_zh) * id + cohort_year), 0) FROM students",
        )
        .await;
        let list = std::fs::read_to_string(decliners_file(&app.dir.join("demo"))).unwrap();
        digests.push((d, s, list));
    }
    assert_eq!(digests[0], digests[1]);
}

#[rocket::async_test]
async fn the_demo_history_takes_prerequisites_first_and_never_retakes_a_passed_course() {
    on_each_backend_with(false, |app| async move {
        let db = app.db();
        seed_demo(db, &crate::common::demo_options(&app, 1000)).await.unwrap().expect("seeded");
        // Every enrolment in a course with prerequisites follows a recorded pass of each of
        // them (at the minimum score) in an earlier term: nobody passes CS201 "needing" CS101.
        let missing = scalar(
            db,
            "SELECT COUNT(*) FROM enrolments e \
             JOIN sections s ON s.id = e.section_id \
             JOIN terms t ON t.id = s.term_id \
             JOIN course_prerequisites cp ON cp.course_id = s.course_id \
             WHERE NOT EXISTS (SELECT 1 FROM grades g \
                 JOIN sections s2 ON s2.id = g.section_id \
                 JOIN terms t2 ON t2.id = s2.term_id \
                 WHERE g.student_id = e.student_id AND s2.course_id = cp.prerequisite_id \
                   AND g.score >= cp.min_score AND t2.seq < t.seq)",
        )
        .await;
        assert_eq!(missing, 0, "enrolments without their prerequisites passed before");
        let with_prerequisites = scalar(
            db,
            "SELECT COUNT(*) FROM grades g JOIN sections s ON s.id = g.section_id \
             JOIN course_prerequisites cp ON cp.course_id = s.course_id",
        )
        .await;
        assert!(with_prerequisites > 100, "{with_prerequisites} graded courses with prerequisites");
        // Nobody holds or queues for a seat this term in a course they have passed.
        let retaken = scalar(
            db,
            "SELECT COUNT(*) FROM enrolments e \
             JOIN sections s ON s.id = e.section_id \
             JOIN terms t ON t.id = s.term_id \
             WHERE t.is_current = TRUE AND e.status <> 'dropped' AND EXISTS (SELECT 1 FROM grades g \
                 JOIN sections s2 ON s2.id = g.section_id \
                 WHERE g.student_id = e.student_id AND s2.course_id = s.course_id \
                   AND g.score >= (SELECT MIN(pass_mark) FROM grading_scales WHERE is_default = TRUE))",
        )
        .await;
        assert_eq!(retaken, 0, "current enrolments in passed courses");
    })
    .await;
}
