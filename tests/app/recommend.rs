//! Course recommendations (issue 22): what students with the same record took and passed,
//! each with its reason; only courses open to the student; measured offline on the latest
//! completed term against a popularity baseline, on the mining report.

use crate::common::{Backend, demo_app, demo_token};
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use srm::entity::{
    course_prerequisites, courses, enrolments, section_meetings, sections, students, terms, users,
};
use srm::mining::recommend::{Prereqs, Taken, band, eligible, learn, rank};
use std::collections::{HashMap, HashSet};

fn t(student: i64, course: i64, seq: i64, score: f64) -> Taken {
    Taken {
        student,
        course,
        seq,
        score,
        passed: score >= 60.0,
    }
}

#[test]
fn students_with_the_same_record_lead_the_ranking_with_their_reason() {
    let mut rows = Vec::new();
    // Ten strong students in course 1 went on to course 2 and passed; ten weak ones took 3.
    for s in 0..10 {
        rows.push(t(s, 1, 1, 90.0));
        rows.push(t(s, 2, 2, 80.0));
    }
    for s in 10..20 {
        rows.push(t(s, 1, 1, 50.0));
        rows.push(t(s, 3, 2, if s < 17 { 65.0 } else { 50.0 }));
    }
    let stats = learn(&rows, 3);
    let strong = [t(99, 1, 2, 92.0)];
    let recs = rank(&stats, &strong, &[2, 3], 2);
    assert_eq!(recs[0].course, 2);
    let reason = recs[0].reason.clone().expect("a reason");
    assert_eq!(
        (reason.from_course, reason.band, reason.students),
        (1, band(92.0), 10)
    );
    assert!((reason.pass_rate - 1.0).abs() < 1e-9);
    let weak = [t(98, 1, 2, 40.0)];
    assert_eq!(rank(&stats, &weak, &[2, 3], 1)[0].course, 3);
    // Nothing is learned from the term being recommended for, or later.
    assert!(learn(&rows, 2).pairs.is_empty());
}

#[test]
fn a_course_passed_or_without_its_prerequisite_passed_well_enough_is_not_offered() {
    let history = [t(1, 1, 1, 90.0), t(1, 2, 1, 40.0)];
    let prereqs: Prereqs = [
        (4, vec![(2, 60.0)]),
        (5, vec![(1, 80.0)]),
        (6, vec![(1, 95.0)]),
    ]
    .into();
    assert_eq!(eligible(&[1, 2, 3, 4, 5, 6], &history, &prereqs), [2, 3, 5]);
}

#[rocket::async_test]
async fn a_run_measures_the_recommendations_and_a_student_gets_open_courses_with_reasons() {
    let app = demo_app(Backend::Sqlite, 400).await;
    let db = app.db();
    // Before any run there is nothing learned, and the page says so.
    let active: Vec<users::Model> = users::Entity::find()
        .filter(users::Column::Kind.eq("student"))
        .filter(users::Column::IsActive.eq(true))
        .all(db)
        .await
        .unwrap();
    let token = demo_token(&app, &active[0].username).await;
    let (s, v) = app
        .get_json("/api/v1/me/recommendations", Some(&token))
        .await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["items"].as_array().map(Vec::len), Some(0), "{v}");

    let (id, m) = crate::common::mining_run(&app).await;
    let rec = &m["recommend"];
    eprintln!("offline: {rec}");
    assert!(rec["students"].as_u64().unwrap() >= 100, "{rec}");
    for way in ["recommended", "popularity"] {
        let hit = rec[way]["hit_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&hit));
    }
    // Measured on the held-out term: students take far more of what is recommended to them
    // than of the most popular open courses, and pass it at least as often.
    let ours = &rec["recommended"];
    let popular = &rec["popularity"];
    assert!(
        ours["hit_rate"].as_f64() > popular["hit_rate"].as_f64(),
        "{rec}"
    );
    assert!(
        ours["precision"].as_f64() > popular["precision"].as_f64(),
        "{rec}"
    );
    assert!(
        ours["pass_rate"].as_f64().unwrap() >= popular["pass_rate"].as_f64().unwrap() - 0.02,
        "{rec}"
    );

    // Every student with grades gets at most five courses, each open to them, with a reason.
    let current = terms::Entity::find()
        .filter(terms::Column::IsCurrent.eq(true))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let prereqs: Vec<course_prerequisites::Model> =
        course_prerequisites::Entity::find().all(db).await.unwrap();
    let codes: HashMap<String, i64> = courses::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.code, c.id))
        .collect();
    let mut with_items = 0;
    let mut reasons = 0;
    for user in active.iter().take(12) {
        let st = students::Entity::find()
            .filter(students::Column::UserId.eq(user.id))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let token = demo_token(&app, &user.username).await;
        let (s, v) = app
            .get_json("/api/v1/me/recommendations", Some(&token))
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["term"], current.code.as_str());
        let items = v["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        with_items += usize::from(!items.is_empty());
        let history = srm::mining::recommend_store::load_taken(db, Some(st.id))
            .await
            .unwrap();
        let mine: Vec<sections::Model> = sections::Entity::find()
            .inner_join(enrolments::Entity)
            .filter(enrolments::Column::StudentId.eq(st.id))
            .filter(enrolments::Column::Status.eq(enrolments::EnrolmentStatus::Enrolled))
            .filter(sections::Column::TermId.eq(current.id))
            .all(db)
            .await
            .unwrap();
        let holding: HashSet<i64> = mine.iter().map(|s| s.course_id).collect();
        for it in items {
            let course = codes[it["code"].as_str().unwrap()];
            assert!(
                !history.iter().any(|h| h.course == course && h.passed),
                "{it} was passed already"
            );
            assert!(!holding.contains(&course), "{it} is already held");
            for p in prereqs.iter().filter(|p| p.course_id == course) {
                assert!(
                    history.iter().any(|h| h.course == p.prerequisite_id
                        && h.passed
                        && h.score >= p.min_score),
                    "{it} needs a prerequisite the student has not passed"
                );
            }
            // One of its sections fits beside what the student holds.
            let secs = sections::Entity::find()
                .filter(sections::Column::TermId.eq(current.id))
                .filter(sections::Column::CourseId.eq(course))
                .all(db)
                .await
                .unwrap();
            let meets = |id: i64| async move {
                section_meetings::Entity::find()
                    .filter(section_meetings::Column::SectionId.eq(id))
                    .all(db)
                    .await
                    .unwrap()
            };
            let mut fits = false;
            for s in &secs {
                let these = meets(s.id).await;
                let mut clash = false;
                for m in &mine {
                    clash |= srm::registration::rules::sections_clash(&these, &meets(m.id).await);
                }
                fits |= !clash;
            }
            assert!(fits, "{it} clashes with the student's timetable");
            if let Some(reason) = it.get("reason").filter(|r| !r.is_null()) {
                reasons += 1;
                assert!(
                    reason["students"].as_i64().unwrap() >= srm::mining::recommend::MIN_SUPPORT
                );
                assert!(codes.contains_key(reason["course_code"].as_str().unwrap()));
            }
        }
    }
    assert!(
        with_items >= 9,
        "most students get recommendations: {with_items} of 12"
    );
    assert!(reasons >= 9, "recommendations come with reasons: {reasons}");

    // The student's page shows them in both languages; the report shows the offline figures.
    let en = app.page_in("/me/suggestions", &token, "en").await;
    assert!(en.contains("Courses recommended for you"));
    let zh = app.page_in("/me/suggestions", &token, "zh-CN").await;
    assert!(zh.contains("为您推荐的课程"));
    let admin = demo_token(&app, "admin").await;
    let report = app
        .page_in(&format!("/mining/runs/{id}"), &admin, "en")
        .await;
    assert!(
        report.contains("Course recommendations, measured offline")
            && report.contains("took one of the five"),
        "{report}"
    );
}

/// A mining run learns its recommendations from the grades its snapshot already holds; they
/// are the published grades a student's own recommendations read from the database, passed
/// or not by the same marks, including a section without a grading scale when two scales are
/// marked default (the lower pass mark counts).
#[rocket::async_test]
async fn a_run_learns_from_the_same_grades_as_a_students_recommendations() {
    use sea_orm::{ActiveModelTrait, QueryOrder, Set};
    use srm::entity::grading_scales;
    use srm::mining::recommend_store::{load_taken, taken_in};
    let app = demo_app(Backend::Sqlite, 200).await;
    let db = app.db();
    grading_scales::ActiveModel {
        name: Set("strict".into()),
        pass_mark: Set(75.0),
        is_default: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let unscaled = sections::Entity::update_many()
        .col_expr(
            sections::Column::GradingScaleId,
            sea_orm::sea_query::Expr::value(Option::<i64>::None),
        )
        .filter(sections::Column::Id.lte(40))
        .exec(db)
        .await
        .unwrap();
    assert!(unscaled.rows_affected > 0);
    let all = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await
        .unwrap();
    let plan = srm::mining::plan::plan(&all, chrono::Utc::now().fixed_offset()).unwrap();
    let snap = srm::mining::run::load_snapshot(db, &plan).await.unwrap();
    let key = |rows: Vec<Taken>| {
        let mut out: Vec<_> = rows
            .into_iter()
            .filter(|r| r.seq < plan.current.seq)
            .map(|r| (r.student, r.course, r.seq, r.score.to_bits(), r.passed))
            .collect();
        out.sort_unstable();
        out
    };
    let from_snapshot = key(taken_in(&snap));
    let from_table = key(load_taken(db, None).await.unwrap());
    assert!(from_table.len() > 1000, "{} grades", from_table.len());
    assert_eq!(from_snapshot, from_table);
}
