//! Registration: every refusal code, waitlists, swaps, idempotent retries, and races that must
//! never over-fill a section, on SQLite and PostgreSQL, with one app instance or two.

use crate::common::{Backend, TestApp, on_each_backend};
use chrono::{Duration, Utc};
use rocket::http::{ContentType, Header, Method, Status};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use srm::entity::{
    course_prerequisites, courses, enrolments, grades, holds, section_meetings, sections, students,
    terms,
};
use srm::error::AppError;
use srm::registration::service;

pub async fn course(db: &DatabaseConnection, code: &str, credits: f64) -> i64 {
    let dept = srm::entity::departments::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id;
    courses::ActiveModel {
        code: Set(code.into()),
        department_id: Set(dept),
        title_zh: Set(format!("课程{code}")),
        title_en: Set(format!("Course {code}")),
        credits: Set(credits),
        description: Set(String::new()),
        is_active: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

pub async fn current_term(db: &DatabaseConnection) -> i64 {
    terms::Entity::find()
        .filter(terms::Column::IsCurrent.eq(true))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A section meeting on (weekday, first period, last period) in weeks 1-16.
pub async fn section(
    db: &DatabaseConnection,
    term: i64,
    course: i64,
    no: &str,
    cap: i64,
    wl: i64,
    meets: &[(i64, i64, i64)],
) -> i64 {
    let id = sections::ActiveModel {
        term_id: Set(term),
        course_id: Set(course),
        section_no: Set(no.into()),
        teacher_id: Set(None),
        capacity: Set(cap),
        waitlist_capacity: Set(wl),
        room: Set("B201".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    for (d, a, b) in meets {
        section_meetings::ActiveModel {
            section_id: Set(id),
            weekday: Set(*d),
            start_period: Set(*a),
            end_period: Set(*b),
            start_week: Set(1),
            end_week: Set(16),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    id
}

async fn students(db: &DatabaseConnection, n: usize) -> Vec<i64> {
    let proto = students::Entity::find().one(db).await.unwrap().unwrap();
    let now = Utc::now().fixed_offset();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let rows: Vec<students::ActiveModel> = (0..n)
        .map(|i| students::ActiveModel {
            user_id: Set(None),
            student_no: Set(format!("S{}{i:05}", &tag[..8])),
            national_id: Set(None),
            name_zh: Set(format!("学生{i}")),
            name_en: Set(format!("Student {i}")),
            gender: Set("M".into()),
            birth_date: Set(None),
            phone: Set(None),
            email: Set(None),
            address: Set(None),
            department_id: Set(proto.department_id),
            major_id: Set(proto.major_id),
            cohort_year: Set(2025),
            status: Set(srm::entity::students::StudentStatus::Active),
            status_changed_at: Set(now),
            advisor_id: Set(None),
            merged_into_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(200) {
        students::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    students::Entity::find()
        .filter(students::Column::StudentNo.starts_with(format!("S{}", &tag[..8])))
        .order_by_asc(students::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

fn code(r: Result<service::Registration, AppError>) -> String {
    match r {
        Ok(reg) => reg.status.to_string(),
        Err(e) => e.code().to_string(),
    }
}

/// Enrolled and waitlisted rows agree with the section's counters, the section is not
/// over-filled and the waitlist tickets are distinct.
async fn assert_invariants(db: &DatabaseConnection, section_id: i64) -> (u64, u64) {
    let s = sections::Entity::find_by_id(section_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let enrolled = enrolments::Entity::find()
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(enrolments::Column::Status.eq("enrolled"))
        .count(db)
        .await
        .unwrap();
    let waiting = enrolments::Entity::find()
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(enrolments::Column::Status.eq("waitlisted"))
        .order_by_asc(enrolments::Column::WaitlistPosition)
        .all(db)
        .await
        .unwrap();
    assert_eq!(enrolled as i64, s.enrolled_count, "enrolled counter");
    assert_eq!(waiting.len() as i64, s.waitlist_count, "waitlist counter");
    assert!(
        s.enrolled_count <= s.capacity + s.override_count,
        "over-filled"
    );
    assert!(s.waitlist_count <= s.waitlist_capacity);
    let mut tickets: Vec<i64> = waiting
        .iter()
        .map(|w| w.waitlist_position.unwrap())
        .collect();
    tickets.dedup();
    assert_eq!(tickets.len(), waiting.len(), "duplicate waitlist tickets");
    (enrolled, waiting.len() as u64)
}

/// The clash and credit checks run before the write lock; a student's own concurrent adds must
/// still never end in two clashing seats (the locked part re-checks when their sections moved).
#[rocket::async_test]
async fn one_students_racing_adds_never_end_in_a_clash() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        for round in 0..10 {
            let student = students(db, 1).await[0];
            let left = section(
                db,
                term,
                course(db, &format!("R{round}A"), 2.0).await,
                "01",
                30,
                0,
                &[(2, 5, 6)],
            )
            .await;
            let right = section(
                db,
                term,
                course(db, &format!("R{round}B"), 2.0).await,
                "01",
                30,
                0,
                &[(2, 5, 6)],
            )
            .await;
            let (a, b) = tokio::join!(
                service::add(db, student, left, None),
                service::add(db, student, right, None)
            );
            let codes = [code(a), code(b)];
            assert_eq!(
                codes.iter().filter(|c| *c == "enrolled").count(),
                1,
                "round {round}: {codes:?}"
            );
            assert!(
                codes.contains(&"time_conflict".to_string()),
                "round {round}: {codes:?}"
            );
        }
    })
    .await;
}

/// A promotion checks the waiting student's timetable; that student's own add racing it must
/// not slip in a clashing section between the check and the seat (on PostgreSQL both run at
/// once; the promotion locks the student's row as an add does).
#[rocket::async_test]
async fn a_promotion_racing_the_students_own_add_never_ends_in_a_clash() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        for round in 0..10 {
            let ss = students(db, 2).await;
            let (leaver, waiter) = (ss[0], ss[1]);
            let full = section(
                db,
                term,
                course(db, &format!("P{round}A"), 2.0).await,
                "01",
                1,
                1,
                &[(3, 1, 2)],
            )
            .await;
            let same_time = section(
                db,
                term,
                course(db, &format!("P{round}B"), 2.0).await,
                "01",
                30,
                0,
                &[(3, 1, 2)],
            )
            .await;
            let seat = service::add(db, leaver, full, None).await.unwrap();
            assert_eq!(
                code(service::add(db, waiter, full, None).await),
                "waitlisted"
            );
            let (dropped, added) = tokio::join!(
                service::drop(db, leaver, seat.id, None),
                service::add(db, waiter, same_time, None)
            );
            dropped.unwrap();
            let added = code(added);
            let enrolled: Vec<i64> = service::list_for_student(db, waiter, None)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.status.as_str() == "enrolled")
                .map(|r| r.section_id)
                .collect();
            assert_eq!(
                enrolled.len(),
                1,
                "round {round}: {added}, enrolled in {enrolled:?}"
            );
            assert_invariants(db, full).await;
        }
    })
    .await;
}

#[rocket::async_test]
async fn each_refusal_has_its_own_code() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let ss = students(db, 4).await;
        let (a, b, c, d) = (ss[0], ss[1], ss[2], ss[3]);

        let tiny = section(
            db,
            term,
            course(db, "T100", 2.0).await,
            "01",
            1,
            0,
            &[(1, 1, 2)],
        )
        .await;
        assert_eq!(code(service::add(db, a, tiny, None).await), "enrolled");
        assert_eq!(
            code(service::add(db, a, tiny, None).await),
            "already_registered"
        );
        assert_eq!(code(service::add(db, b, tiny, None).await), "section_full");

        let small = section(
            db,
            term,
            course(db, "T200", 2.0).await,
            "01",
            1,
            1,
            &[(2, 1, 2)],
        )
        .await;
        assert_eq!(code(service::add(db, a, small, None).await), "enrolled");
        let r = service::add(db, b, small, None).await.unwrap();
        assert_eq!(
            (r.status.as_str(), r.waitlist_position),
            ("waitlisted", Some(1))
        );
        assert_eq!(
            code(service::add(db, c, small, None).await),
            "waitlist_full"
        );

        // Same time as T100 (Monday 1-2): refused, naming the clashing section.
        let clash = section(
            db,
            term,
            course(db, "T300", 2.0).await,
            "01",
            10,
            0,
            &[(1, 2, 3)],
        )
        .await;
        match service::add(db, a, clash, None).await {
            Err(e) => {
                assert_eq!(e.code(), "time_conflict");
                assert!(
                    e.public_message().contains("T100-01"),
                    "{}",
                    e.public_message()
                );
            }
            Ok(_) => panic!("clash accepted"),
        }

        // A prerequisite that must be passed with 60 first.
        let basic = course(db, "T400", 2.0).await;
        let advanced = course(db, "T500", 2.0).await;
        course_prerequisites::ActiveModel {
            course_id: Set(advanced),
            prerequisite_id: Set(basic),
            min_score: Set(60.0),
        }
        .insert(db)
        .await
        .unwrap();
        let adv = section(db, term, advanced, "01", 10, 0, &[(3, 1, 2)]).await;
        match service::add(db, d, adv, None).await {
            Err(e) => {
                assert_eq!(e.code(), "prerequisite_missing");
                assert!(e.public_message().contains("T400"));
            }
            Ok(_) => panic!("prerequisite ignored"),
        }
        // Passing it (a published grade in a past section) opens the door.
        let past = terms::ActiveModel {
            code: Set("2025-fall".into()),
            name_zh: Set("2025秋".into()),
            name_en: Set("Fall 2025".into()),
            seq: Set(0),
            starts_on: Set(Utc::now().date_naive() - Duration::days(400)),
            ends_on: Set(Utc::now().date_naive() - Duration::days(300)),
            registration_opens_at: Set((Utc::now() - Duration::days(420)).fixed_offset()),
            registration_closes_at: Set((Utc::now() - Duration::days(410)).fixed_offset()),
            add_drop_deadline: Set((Utc::now() - Duration::days(390)).fixed_offset()),
            credit_limit: Set(25.0),
            is_current: Set(false),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let past_basic = section(db, past.id, basic, "01", 10, 0, &[]).await;
        grades::ActiveModel {
            section_id: Set(past_basic),
            student_id: Set(d),
            score: Set(71.0),
            letter: Set("C+".into()),
            points: Set(2.3),
            status: Set(grades::GradeStatus::Published),
            entered_by: Set(None),
            updated_at: Set(Utc::now().fixed_offset()),
            published_at: Set(Some(Utc::now().fixed_offset())),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        assert_eq!(code(service::add(db, d, adv, None).await), "enrolled");

        // Registration closed: the past term's window is over.
        let old = section(db, past.id, course(db, "T600", 2.0).await, "01", 10, 0, &[]).await;
        assert_eq!(
            code(service::add(db, c, old, None).await),
            "registration_closed"
        );

        // Credit limit: 25 in the term; a 24-credit course on top of 2 already held.
        let heavy = section(
            db,
            term,
            course(db, "T700", 24.0).await,
            "01",
            10,
            0,
            &[(4, 1, 2)],
        )
        .await;
        assert_eq!(code(service::add(db, a, heavy, None).await), "credit_limit");

        // A hold.
        holds::ActiveModel {
            student_id: Set(c),
            reason: Set("unpaid fees".into()),
            placed_by: Set(None),
            placed_at: Set(Utc::now().fixed_offset()),
            lifted_by: Set(None),
            lifted_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let open = section(
            db,
            term,
            course(db, "T800", 2.0).await,
            "01",
            10,
            0,
            &[(5, 1, 2)],
        )
        .await;
        match service::add(db, c, open, None).await {
            Err(e) => {
                assert_eq!(e.code(), "hold");
                assert!(e.public_message().contains("unpaid fees"));
            }
            Ok(_) => panic!("hold ignored"),
        }
        for s in [tiny, small, clash, adv, open] {
            assert_invariants(db, s).await;
        }

        // Over HTTP: the status codes and the error body.
        let token = app.token(app.people.student).await;
        let (s, body) = app
            .send_json(
                Method::Post,
                "/api/v1/registrations",
                Some(&token),
                json!({"section_id": tiny}),
            )
            .await;
        assert_eq!(s, Status::Conflict);
        assert_eq!(body["error"]["code"], "section_full");
        let light = section(
            db,
            term,
            course(db, "T900", 2.0).await,
            "01",
            10,
            0,
            &[(6, 1, 2)],
        )
        .await;
        let (s, body) = app
            .send_json(
                Method::Post,
                "/api/v1/registrations",
                Some(&token),
                json!({"section_id": light}),
            )
            .await;
        assert_eq!(
            (s, body["status"].as_str()),
            (Status::Created, Some("enrolled"))
        );
        let (s, body) = app
            .send_json(
                Method::Post,
                "/api/v1/registrations",
                Some(&token),
                json!({"section_id": heavy}),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("credit_limit"))
        );
        let (s, body) = app
            .send_json(
                Method::Post,
                "/api/v1/registrations",
                Some(&token),
                json!({"section_id": old}),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("registration_closed"))
        );
    })
    .await;
}

#[rocket::async_test]
async fn a_freed_seat_goes_to_the_first_waitlisted_student_who_still_fits() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let ss = students(db, 4).await;
        let popular = section(
            db,
            term,
            course(db, "P100", 3.0).await,
            "01",
            1,
            3,
            &[(1, 3, 4)],
        )
        .await;
        let other = section(
            db,
            term,
            course(db, "P200", 3.0).await,
            "01",
            5,
            0,
            &[(1, 4, 5)],
        )
        .await;
        assert_eq!(
            code(service::add(db, ss[0], popular, None).await),
            "enrolled"
        );
        // ss[1] waits first but then takes a clashing section; ss[2] and ss[3] wait behind.
        assert_eq!(
            service::add(db, ss[1], popular, None)
                .await
                .unwrap()
                .waitlist_position,
            Some(1)
        );
        assert_eq!(
            service::add(db, ss[2], popular, None)
                .await
                .unwrap()
                .waitlist_position,
            Some(2)
        );
        assert_eq!(
            service::add(db, ss[3], popular, None)
                .await
                .unwrap()
                .waitlist_position,
            Some(3)
        );
        assert_eq!(code(service::add(db, ss[1], other, None).await), "enrolled");

        let first = enrolments::Entity::find()
            .filter(enrolments::Column::StudentId.eq(ss[0]))
            .filter(enrolments::Column::SectionId.eq(popular))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let promoted = service::drop(db, ss[0], first.id, None).await.unwrap();
        assert_eq!(
            promoted,
            Some(ss[2]),
            "the clash skips ss[1], order otherwise kept"
        );
        let mine = service::list_for_student(db, ss[1], None).await.unwrap();
        let waiting = mine.iter().find(|r| r.section_id == popular).unwrap();
        assert_eq!(
            (waiting.status.as_str(), waiting.waitlist_position),
            ("waitlisted", Some(1)),
            "ss[1] keeps first place"
        );
        let mine = service::list_for_student(db, ss[3], None).await.unwrap();
        assert_eq!(mine[0].waitlist_position, Some(2), "no gap left behind");
        assert_eq!(assert_invariants(db, popular).await, (1, 2));
        use srm::entity::notifications;
        let _ = notifications::Entity::find().count(db).await.unwrap();
    })
    .await;
}

#[rocket::async_test]
async fn a_swap_keeps_the_old_seat_when_the_new_one_cannot_be_had() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let ss = students(db, 3).await;
        let c = course(db, "W100", 3.0).await;
        let a = section(db, term, c, "01", 1, 2, &[(2, 1, 2)]).await;
        let full = section(db, term, c, "02", 1, 0, &[(3, 1, 2)]).await;
        let open = section(db, term, c, "03", 5, 0, &[(4, 1, 2)]).await;
        let mine = service::add(db, ss[0], a, None).await.unwrap();
        assert_eq!(code(service::add(db, ss[1], full, None).await), "enrolled");
        assert_eq!(code(service::add(db, ss[2], a, None).await), "waitlisted");

        match service::swap(db, ss[0], mine.id, full, None).await {
            Err(e) => assert_eq!(e.code(), "section_full"),
            Ok(_) => panic!("swapped into a full section"),
        }
        let now = service::list_for_student(db, ss[0], None).await.unwrap();
        assert_eq!(
            (now.len(), now[0].section_id, now[0].status.as_str()),
            (1, a, "enrolled"),
            "old seat kept"
        );

        let new = service::swap(db, ss[0], mine.id, open, None).await.unwrap();
        assert_eq!(new.status.as_str(), "enrolled");
        let now = service::list_for_student(db, ss[0], None).await.unwrap();
        assert_eq!(
            now.iter().map(|r| r.section_id).collect::<Vec<_>>(),
            vec![open]
        );
        let waiting = service::list_for_student(db, ss[2], None).await.unwrap();
        assert_eq!(
            waiting[0].status.as_str(),
            "enrolled",
            "the old seat went to the waitlist"
        );
        for s in [a, full, open] {
            assert_invariants(db, s).await;
        }
    })
    .await;
}

#[rocket::async_test]
async fn a_retried_request_with_the_same_key_registers_once() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let s = section(
            db,
            term,
            course(db, "I100", 2.0).await,
            "01",
            10,
            0,
            &[(6, 1, 2)],
        )
        .await;
        let token = app.token(app.people.student).await;
        let mut answers = Vec::new();
        for _ in 0..3 {
            let res = app
                .client
                .post("/api/v1/registrations")
                .header(ContentType::JSON)
                .header(Header::new("Authorization", format!("Bearer {token}")))
                .header(Header::new("Idempotency-Key", "click-42"))
                .body(json!({"section_id": s}).to_string())
                .dispatch()
                .await;
            answers.push((res.status(), res.into_string().await.unwrap()));
        }
        assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
        assert_eq!(answers[0].0, Status::Created);
        assert_eq!(assert_invariants(db, s).await, (1, 0));
        // Without a key the second click is told it is already registered, and still one row.
        let (st, body) = app
            .send_json(
                Method::Post,
                "/api/v1/registrations",
                Some(&token),
                json!({"section_id": s}),
            )
            .await;
        assert_eq!(
            (st, body["error"]["code"].as_str()),
            (Status::Conflict, Some("already_registered"))
        );
        // The page form is safe to resubmit too.
        let csrf = app.page_login(app.people.student).await;
        for _ in 0..2 {
            let res = app
                .client
                .post("/registrations")
                .header(ContentType::Form)
                .body(format!("section_id={s}&_csrf={csrf}"))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::SeeOther);
        }
        assert_eq!(assert_invariants(db, s).await, (1, 0));
        let html = app
            .client
            .get("/registrations")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(html.contains("I100"), "my registrations page lists it");
        let (st, list) = app.get_json("/api/v1/registrations", Some(&token)).await;
        assert_eq!(st, Status::Ok);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|r| r["section_id"] == s)
        );
    })
    .await;
}

/// 500 students race for 30 seats and a waitlist of 100, through `instances` separate
/// connection pools (as separate app instances would).
async fn race(dbs: &[srm::db::Db]) {
    let db = &dbs[0];
    let term = current_term(db).await;
    let s = section(
        db,
        term,
        course(
            db,
            &format!("R{}", &uuid::Uuid::new_v4().simple().to_string()[..6]),
            2.0,
        )
        .await,
        "01",
        30,
        100,
        &[(7, 1, 2)],
    )
    .await;
    let ss = students(db, 500).await;
    let mut tasks = Vec::new();
    for (i, student) in ss.into_iter().enumerate() {
        let conn = dbs[i % dbs.len()].clone();
        tasks.push(tokio::spawn(async move {
            code(service::add(&conn, student, s, None).await)
        }));
    }
    let mut counts = std::collections::BTreeMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(counts.get("enrolled"), Some(&30), "{counts:?}");
    assert_eq!(counts.get("waitlisted"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("waitlist_full"), Some(&370), "{counts:?}");
    assert_eq!(assert_invariants(db, s).await, (30, 100));
    // Waitlist ranks run 1..=100 with no gap.
    let waiting = enrolments::Entity::find()
        .filter(enrolments::Column::SectionId.eq(s))
        .filter(enrolments::Column::Status.eq("waitlisted"))
        .all(db)
        .await
        .unwrap();
    let mut ranks = Vec::new();
    for w in &waiting {
        ranks.push(
            service::waitlist_rank(db, s, w.waitlist_position.unwrap())
                .await
                .unwrap(),
        );
    }
    ranks.sort();
    assert_eq!(ranks, (1..=100).collect::<Vec<u64>>());
}

#[rocket::async_test]
async fn five_hundred_racing_adds_never_overfill_a_thirty_seat_section() {
    on_each_backend(|app| async move {
        for _ in 0..2 {
            race(&[app.db().clone()]).await;
        }
    })
    .await;
}

#[rocket::async_test]
async fn two_app_instances_on_one_postgresql_never_overfill_a_section() {
    if crate::common::postgres_url().is_none() {
        eprintln!("SKIPPED: SRM_TEST_POSTGRES_URL is not set");
        return;
    }
    let app = TestApp::new(Backend::Postgres).await;
    let url = app.config.effective_database_url();
    let second = srm::db::Db::open(srm::db::connect_url(&url, 8).await.unwrap())
        .await
        .unwrap();
    race(&[app.db().clone(), second.clone()]).await;
    second.close().await.ok();
    if let Some(name) = &app.pg_database {
        crate::common::drop_pg_database(name).await;
    }
}

#[rocket::async_test]
async fn registrars_place_holds_and_grant_overrides_with_a_reason_in_the_audit_log() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let admin = app.token(app.people.admin).await;
        let student = app.token(app.people.student).await;
        let me = app.people.student_record;
        let full = section(db, term, course(db, "H100", 2.0).await, "01", 1, 0, &[(3, 5, 6)]).await;
        let filler = students(db, 1).await[0];
        assert_eq!(code(service::add(db, filler, full, None).await), "enrolled");

        let (s, hold) = app.send_json(Method::Post, &format!("/api/v1/students/{me}/holds"), Some(&admin), json!({"reason": "library fine"})).await;
        assert_eq!(s, Status::Created);
        let (s, body) = app.send_json(Method::Post, "/api/v1/registrations", Some(&student), json!({"section_id": full})).await;
        assert_eq!((s, body["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("hold")));
        let (s, _) = app.send_json(Method::Delete, &format!("/api/v1/holds/{}", hold["id"]), Some(&admin), json!({})).await;
        assert_eq!(s, Status::Ok);
        let (s, body) = app.send_json(Method::Post, "/api/v1/registrations", Some(&student), json!({"section_id": full})).await;
        assert_eq!((s, body["error"]["code"].as_str()), (Status::Conflict, Some("section_full")));

        let (s, e) = app.send_json(Method::Post, &format!("/api/v1/students/{me}/overrides"), Some(&admin),
            json!({"section_id": full, "kind": "capacity", "reason": " "})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("invalid_reason")));
        let (s, _) = app.send_json(Method::Post, &format!("/api/v1/students/{me}/overrides"), Some(&admin),
            json!({"section_id": full, "kind": "capacity", "reason": "final-year student needs it to graduate"})).await;
        assert_eq!(s, Status::Created);
        let (s, body) = app.send_json(Method::Post, "/api/v1/registrations", Some(&student), json!({"section_id": full})).await;
        assert_eq!((s, body["status"].as_str()), (Status::Created, Some("enrolled")));
        let sec = sections::Entity::find_by_id(full).one(db).await.unwrap().unwrap();
        assert_eq!((sec.enrolled_count, sec.capacity, sec.override_count), (2, 1, 1));
        assert_invariants(db, full).await;
        for action in ["registration.hold_placed", "registration.hold_lifted", "registration.override_granted"] {
            assert_eq!(app.audit_count(action, "ok").await, 1, "{action}");
        }
        // A student cannot grant themselves anything.
        let (s, _) = app.send_json(Method::Post, &format!("/api/v1/students/{me}/holds"), Some(&student), json!({"reason": "x"})).await;
        assert_eq!(s, Status::Forbidden);
    })
    .await;
}

#[rocket::async_test]
async fn a_teacher_reads_the_roster_of_their_own_sections_only() {
    on_each_backend(|app| async move {
        let teacher = app.token(app.people.teacher).await;
        let other = app.token(app.people.other_teacher).await;
        let (s, roster) = app
            .get_json(
                &format!("/api/v1/sections/{}/roster", app.people.section),
                Some(&teacher),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(roster[0]["student_no"], "2025000001");
        assert_eq!(roster[0]["status"], "enrolled");
        let (s, _) = app
            .get_json(
                &format!("/api/v1/sections/{}/roster", app.people.section),
                Some(&other),
            )
            .await;
        assert_eq!(s, Status::Forbidden);
        assert_eq!(app.audit_count("sections.roster.read", "ok").await, 1);
        assert_eq!(app.audit_count("sections.roster.read", "denied").await, 1);
        // The teacher reaches the roster page from their dashboard.
        app.page_login(app.people.teacher).await;
        let dash = app
            .client
            .get("/dashboard")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(dash.contains(&format!("/sections/{}/roster", app.people.section)));
        let page = app
            .client
            .get(format!("/sections/{}/roster", app.people.section))
            .dispatch()
            .await;
        assert_eq!(page.status(), Status::Ok);
        let html = page.into_string().await.unwrap();
        assert!(html.contains("2025000001") && html.contains("李华"));
    })
    .await;
}

#[rocket::async_test]
async fn staff_build_the_catalogue_that_students_then_browse() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let student = app.token(app.people.student).await;
        let dept = srm::entity::departments::Entity::find().one(app.db()).await.unwrap().unwrap().id;
        let (s, c) = app
            .send_json(Method::Post, "/api/v1/courses", Some(&admin),
                json!({"code": "ds201", "department_id": dept, "title_zh": "数据结构", "title_en": "Data Structures", "credits": 4}))
            .await;
        assert_eq!(s, Status::Created, "{c}");
        assert_eq!(c["code"], "DS201");
        let (s, e) = app
            .send_json(Method::Post, "/api/v1/courses", Some(&admin),
                json!({"code": "DS201", "department_id": dept, "title_zh": "重复", "title_en": "Dup", "credits": 4}))
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::Conflict, Some("duplicate")));
        let (_, terms) = app.get_json("/api/v1/terms", Some(&student)).await;
        let term = terms.as_array().unwrap().iter().find(|t| t["is_current"] == true).unwrap()["id"].as_i64().unwrap();
        let body = json!({"term_id": term, "course_id": c["id"], "section_no": "01", "teacher_id": app.people.teacher,
                          "capacity": 2, "waitlist_capacity": 2, "room": "C305",
                          "meetings": [{"weekday": 2, "start_period": 3, "end_period": 4}]});
        let (s, sec) = app.send_json(Method::Post, "/api/v1/sections", Some(&admin), body.clone()).await;
        assert_eq!(s, Status::Created, "{sec}");
        let (s, e) = app.send_json(Method::Post, "/api/v1/sections", Some(&admin),
            json!({"term_id": term, "course_id": c["id"], "section_no": "02", "capacity": 5,
                   "meetings": [{"weekday": 9, "start_period": 3, "end_period": 4}]})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("invalid_meeting")));

        let (s, list) = app.get_json("/api/v1/sections?term=current&q=Data", Some(&student)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(list["total"], 1);
        let row = &list["items"][0];
        assert_eq!((row["course_code"].as_str(), row["capacity"].as_i64(), row["enrolled_count"].as_i64()), (Some("DS201"), Some(2), Some(0)));
        assert_eq!(row["meetings"][0]["weekday"], 2);
        assert!(row["teacher"].as_str().is_some());

        // Two students take both seats; capacity cannot drop below them.
        let ss = students(app.db(), 2).await;
        for st in &ss {
            assert_eq!(code(service::add(app.db(), *st, sec["id"].as_i64().unwrap(), None).await), "enrolled");
        }
        let mut smaller = body.clone();
        smaller["capacity"] = json!(1);
        let (s, e) = app.send_json(Method::Put, &format!("/api/v1/sections/{}", sec["id"]), Some(&admin), smaller).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("capacity_below_enrolled")));
        let mut bigger = body.clone();
        bigger["capacity"] = json!(40);
        let (s, _) = app.send_json(Method::Put, &format!("/api/v1/sections/{}", sec["id"]), Some(&admin), bigger).await;
        assert_eq!(s, Status::Ok);
        let (_, list) = app.get_json("/api/v1/sections?term=current&q=DS201&open_only=true", Some(&student)).await;
        assert_eq!(list["items"][0]["enrolled_count"], 2);
        assert_eq!(list["items"][0]["capacity"], 40);
        // The catalogue page lists it in both languages.
        app.page_login(app.people.student).await;
        let html = app.client.get("/courses?q=DS201").header(Header::new("Accept-Language", "zh")).dispatch().await.into_string().await.unwrap();
        assert!(html.contains("数据结构") && html.contains("周二 第3-4节 09:50–11:25"));
        assert_eq!(app.audit_count("sections.update", "ok").await, 1);
    })
    .await;
}

#[rocket::async_test]
async fn racing_drops_and_promotions_keep_counters_and_rows_in_step() {
    on_each_backend(|app| async move {
        let db = app.db().clone();
        let term = current_term(&db).await;
        let s = section(
            &db,
            term,
            course(&db, "D100", 2.0).await,
            "01",
            20,
            40,
            &[(5, 9, 10)],
        )
        .await;
        let ss = students(&db, 60).await;
        for st in &ss {
            service::add(&db, *st, s, None).await.unwrap();
        }
        assert_eq!(assert_invariants(&db, s).await, (20, 40));
        // Everyone drops at once, each enrolled student's drop next to the drop of the waitlisted
        // student it will promote, so promotions race with the promoted student's own drop.
        let order: Vec<i64> = (0..20)
            .flat_map(|i| [ss[i], ss[20 + i]])
            .chain(ss[40..].iter().copied())
            .collect();
        let mut tasks = Vec::new();
        for st in order {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let reg = enrolments::Entity::find()
                    .filter(enrolments::Column::StudentId.eq(st))
                    .filter(enrolments::Column::SectionId.eq(s))
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap();
                service::drop(&db, st, reg.id, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.code().to_string())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(assert_invariants(&db, s).await, (0, 0));
    })
    .await;
}

/// Posts a form with the page session's CSRF token; answers the status, the Location and the page.
async fn post_form(
    app: &TestApp,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (Status, String, String) {
    let mut body = format!("_csrf={}", srm::web::url_encode(csrf));
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", srm::web::url_encode(v)));
    }
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

#[rocket::async_test]
async fn the_catalogue_office_builds_terms_courses_prerequisites_and_sections_from_its_pages() {
    on_each_backend(|app| async move {
        let db = app.db();
        let csrf = app.page_login(app.people.admin).await;
        let dept = srm::entity::departments::Entity::find()
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id
            .to_string();
        let page = app
            .client
            .get("/courses/manage")
            .header(Header::new("Accept-Language", "en"))
            .dispatch()
            .await;
        assert_eq!(page.status(), Status::Ok);
        assert!(
            page.into_string()
                .await
                .unwrap()
                .contains("Catalogue office")
        );

        // A bad field comes back in the form, with nothing stored.
        let course = |code: &'static str, credits: &'static str, prereqs: &'static str| {
            vec![
                ("code", code),
                ("department", dept.as_str()),
                ("title_zh", "算法"),
                ("title_en", "Algorithms"),
                ("credits", credits),
                ("prerequisites", prereqs),
                ("is_active", "true"),
            ]
        };
        let (s, _, html) = post_form(
            &app,
            "/courses/manage/course",
            &csrf,
            &course("AL201", "four", ""),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(
            html.contains("not a number: four") && html.contains("value=\"AL201\""),
            "{html}"
        );
        let (s, _, html) = post_form(
            &app,
            "/courses/manage/course",
            &csrf,
            &course("AL201", "4", "NOPE101 60"),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(
            html.contains("没有代码为 NOPE101 的课程"),
            "the reason in the page's language"
        );
        assert_eq!(
            courses::Entity::find()
                .filter(courses::Column::Code.eq("AL201"))
                .count(db)
                .await
                .unwrap(),
            0
        );

        let (s, loc, _) = post_form(
            &app,
            "/courses/manage/course",
            &csrf,
            &course("AL101", "3", ""),
        )
        .await;
        assert_eq!(
            (s, loc.as_str()),
            (Status::SeeOther, "/courses/manage?saved=course")
        );
        let (s, _, _) = post_form(
            &app,
            "/courses/manage/course",
            &csrf,
            &course("AL201", "4", "AL101 70"),
        )
        .await;
        assert_eq!(s, Status::SeeOther);
        let al201 = courses::Entity::find()
            .filter(courses::Column::Code.eq("AL201"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let pre = course_prerequisites::Entity::find()
            .filter(course_prerequisites::Column::CourseId.eq(al201.id))
            .all(db)
            .await
            .unwrap();
        assert_eq!(pre.len(), 1);
        assert_eq!(pre[0].min_score, 70.0);
        let edit = app
            .client
            .get(format!("/courses/manage/course?id={}", al201.id))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            edit.contains("AL101 70"),
            "the edit form shows the prerequisites"
        );

        // A term, read in its own time zone.
        let term_fields = [
            ("code", "2027S"),
            ("name_zh", "2027春季"),
            ("name_en", "Spring 2027"),
            ("seq", "99"),
            ("starts_on", "2027-02-20"),
            ("ends_on", "2027-07-01"),
            ("registration_opens_at", "2027-01-10T09:00"),
            ("registration_closes_at", "2027-02-28T17:00"),
            ("add_drop_deadline", "2027-03-07T17:00"),
            ("utc_offset", "+08:00"),
            ("credit_limit", "28"),
        ];
        let (s, _, _) = post_form(&app, "/courses/manage/term", &csrf, &term_fields).await;
        assert_eq!(s, Status::SeeOther);
        let term = terms::Entity::find()
            .filter(terms::Column::Code.eq("2027S"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            term.registration_opens_at,
            chrono::DateTime::parse_from_rfc3339("2027-01-10T09:00:00+08:00").unwrap()
        );
        assert!(!term.is_current);

        // A section: an unreadable meeting line is named; then it is saved and listed.
        let teacher = TestApp::username(app.people.teacher);
        let term_id = term.id.to_string();
        let mut section = vec![
            ("term", term_id.as_str()),
            ("course", "al201"),
            ("section_no", "01"),
            ("teacher", teacher.as_str()),
            ("capacity", "30"),
            ("waitlist_capacity", "5"),
            ("room", "A101"),
            ("meetings", "2 3-4 1-16\n9 1-2"),
        ];
        let (s, _, html) = post_form(&app, "/courses/manage/section", &csrf, &section).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert!(html.contains("line 2"), "{html}");
        section[7] = ("meetings", "2 3-4 1-16\n4 1-2 1-8");
        let (s, _, _) = post_form(&app, "/courses/manage/section", &csrf, &section).await;
        assert_eq!(s, Status::SeeOther);
        let sec = sections::Entity::find()
            .filter(sections::Column::CourseId.eq(al201.id))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (sec.capacity, sec.teacher_id),
            (30, Some(app.people.teacher))
        );
        let edit = app
            .client
            .get(format!("/courses/manage/section?id={}", sec.id))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(edit.contains("2 3-4 1-16") && edit.contains("4 1-2 1-8"));
        assert_eq!(app.audit_count("sections.create", "ok").await, 1);
        assert_eq!(app.audit_count("courses.create", "ok").await, 2);

        // A student may not reach the office.
        app.page_logout().await;
        app.page_login(app.people.student).await;
        assert_eq!(
            app.client.get("/courses/manage").dispatch().await.status(),
            Status::Forbidden
        );
    })
    .await;
}

#[rocket::async_test]
async fn registrars_use_the_holds_page_and_students_swap_from_theirs() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let me = app.people.student_record;
        let c = course(db, "SW100", 2.0).await;
        let first = section(db, term, c, "01", 5, 0, &[(1, 9, 10)]).await;
        let second = section(db, term, c, "02", 5, 0, &[(2, 9, 10)]).await;

        let csrf = app.page_login(app.people.admin).await;
        let (s, loc, _) = post_form(
            &app,
            &format!("/students/{me}/holds"),
            &csrf,
            &[("reason", "")],
        )
        .await;
        assert_eq!(s, Status::SeeOther);
        assert!(loc.contains("error="), "an empty reason is refused: {loc}");
        let (_, loc, _) = post_form(
            &app,
            &format!("/students/{me}/holds"),
            &csrf,
            &[("reason", "Unpaid <fees>")],
        )
        .await;
        assert!(loc.ends_with("done=hold_placed"));
        let page = app
            .client
            .get(format!("/students/{me}/holds"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(page.contains("Unpaid &lt;fees&gt;"), "escaped: {page}");
        let hold = holds::Entity::find()
            .filter(holds::Column::StudentId.eq(me))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(code(service::add(db, me, first, None).await), "hold");
        let (_, loc, _) = post_form(&app, &format!("/holds/{}/lift", hold.id), &csrf, &[]).await;
        assert!(loc.ends_with("done=hold_lifted"));
        let (_, loc, _) = post_form(&app, &format!("/holds/{}/lift", hold.id), &csrf, &[]).await;
        assert!(loc.contains("error="), "lifting twice is refused");
        let (_, loc, _) = post_form(
            &app,
            &format!("/students/{me}/overrides"),
            &csrf,
            &[
                ("section", "NOPE-01"),
                ("kind", "capacity"),
                ("reason", "x"),
            ],
        )
        .await;
        assert!(loc.contains("error="));
        let (_, loc, _) = post_form(
            &app,
            &format!("/students/{me}/overrides"),
            &csrf,
            &[
                ("section", "sw100-02"),
                ("kind", "prerequisite"),
                ("reason", "transfer credit"),
            ],
        )
        .await;
        assert!(loc.ends_with("done=override_granted"), "{loc}");
        assert_eq!(
            app.audit_count("registration.override_granted", "ok").await,
            1
        );

        // The student swaps section 01 for 02 from the registrations page.
        let reg = service::add(db, me, first, None).await.unwrap();
        app.page_logout().await;
        let csrf = app.page_login(app.people.student).await;
        let page = app
            .client
            .get("/registrations")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            page.contains(&format!("/registrations/{}/swap", reg.id)) && page.contains("SW100-02")
        );
        let to = second.to_string();
        let (s, loc, _) = post_form(
            &app,
            &format!("/registrations/{}/swap", reg.id),
            &csrf,
            &[("to_section_id", to.as_str())],
        )
        .await;
        assert_eq!(
            (s, loc.as_str()),
            (Status::SeeOther, "/registrations?flash=swapped")
        );
        let now = service::list_for_student(db, me, Some(term)).await.unwrap();
        assert!(
            now.iter().any(|r| r.section_id == second)
                && !now.iter().any(|r| r.section_id == first)
        );
        // Swapping a registration that is no longer there is refused with a message.
        let (_, loc, _) = post_form(
            &app,
            &format!("/registrations/{}/swap", reg.id),
            &csrf,
            &[("to_section_id", to.as_str())],
        )
        .await;
        assert!(loc.starts_with("/registrations?error="));
        for s in [first, second] {
            assert_invariants(db, s).await;
        }
    })
    .await;
}

/// Two transactions that lock two rows in opposite orders deadlock on PostgreSQL; it ends one,
/// and `retrying_deadlocks` runs that one again, so both finish.
#[rocket::async_test]
async fn a_transaction_ended_by_a_deadlock_runs_again() {
    if crate::common::postgres_url().is_none() {
        eprintln!("SKIPPED: SRM_TEST_POSTGRES_URL is not set");
        return;
    }
    use sea_orm::{QuerySelect, TransactionTrait};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let app = TestApp::new(Backend::Postgres).await;
    let db = app.db().clone();
    let ids = students(&db, 2).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let both_hold_one = Arc::new(tokio::sync::Barrier::new(2));
    let run = |first: i64, second: i64| {
        let (db, attempts, barrier) = (db.clone(), attempts.clone(), both_hold_one.clone());
        srm::db::retrying_deadlocks(move || {
            let (db, attempts, barrier) = (db.clone(), attempts.clone(), barrier.clone());
            async move {
                let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                let txn = db.begin().await?;
                for (i, id) in [first, second].into_iter().enumerate() {
                    students::Entity::find_by_id(id)
                        .lock_exclusive()
                        .one(&txn)
                        .await?;
                    if i == 0 && attempt < 2 {
                        barrier.wait().await;
                    }
                }
                txn.commit().await?;
                Ok(())
            }
        })
    };
    let (a, b) = tokio::join!(run(ids[0], ids[1]), run(ids[1], ids[0]));
    a.unwrap();
    b.unwrap();
    // NOTE: at least one ran twice. It can take more: the survivor waits on the victim's
    // transaction, not in a queue on the row, so when the victim's retry locks the row first
    // (the survivor wakes late on a loaded machine) the two deadlock again and one runs again.
    let ran = attempts.load(Ordering::SeqCst);
    assert!(ran >= 3, "one of the two ran again: {ran} attempts");
    if let Some(name) = &app.pg_database {
        crate::common::drop_pg_database(name).await;
    }
}

/// Every mounted API route of the catalogue, registration and grades is in the document,
/// with a typed body for each JSON
/// request and an error body for its refusals.
#[rocket::async_test]
async fn every_catalogue_registration_and_grade_api_route_is_typed_in_the_document() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, doc) = app.get_json("/api/v1/openapi.json", None).await;
    let mut routes: Vec<(String, String, bool)> = Vec::new();
    for route in srm::courses::api_routes()
        .into_iter()
        .chain(srm::registration::api_routes())
        .chain(srm::grades::api_routes())
    {
        let path = route
            .uri
            .path()
            .to_string()
            .replace('<', "{")
            .replace('>', "}");
        routes.push((
            route.method.as_str().to_lowercase(),
            format!("/api/v1{path}"),
            route.format.is_some(),
        ));
    }
    assert!(routes.len() >= 38, "{routes:?}");
    for (method, path, json_body) in routes {
        let op = &doc["paths"][&path][&method];
        assert!(op.is_object(), "{method} {path} is in the document");
        let answers = op["responses"].as_object().cloned().unwrap_or_default();
        assert!(
            answers.keys().any(|s| s.starts_with('2')),
            "{method} {path} documents its answer"
        );
        assert!(
            answers.iter().any(|(s, a)| s.starts_with('4')
                && a["content"]["application/json"]["schema"]["$ref"]
                    == "#/components/schemas/ErrorBody"),
            "{method} {path} documents its error body"
        );
        if json_body {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(
                schema["$ref"].is_string(),
                "{method} {path} has a typed body: {schema}"
            );
        }
    }
    assert!(!doc.to_string().contains("\"password_hash\""));
}

/// Each statement is a round trip (on SQLite to sqlx's worker thread), and on registration day
/// the round trips were most of the server's time: the busy requests run a fixed, small number
/// of them, whatever the student's timetable holds. PostgreSQL's two more are the row locks of
/// the student and the section.
#[rocket::async_test]
async fn registration_day_requests_run_a_fixed_small_number_of_statements() {
    on_each_backend(|app| async move {
        let db = app.db();
        let term = current_term(db).await;
        let ss = students(db, 3).await;
        let actor = app.people.admin;
        // The student already holds three sections, and the course added has a prerequisite
        // they passed: every check has rows to read.
        let mut held = Vec::new();
        for (i, name) in ["N100", "N200", "N300"].iter().enumerate() {
            let s = section(
                db,
                term,
                course(db, name, 2.0).await,
                "01",
                5,
                5,
                &[(i as i64 + 1, 1, 2)],
            )
            .await;
            assert_eq!(code(service::add(db, ss[0], s, None).await), "enrolled");
            held.push(s);
        }
        let basic = course(db, "N400", 2.0).await;
        let done = section(db, term, basic, "01", 5, 0, &[(5, 5, 6)]).await;
        let advanced = course(db, "N500", 2.0).await;
        course_prerequisites::ActiveModel {
            course_id: Set(advanced),
            prerequisite_id: Set(basic),
            min_score: Set(60.0),
        }
        .insert(db)
        .await
        .unwrap();
        pass(db, ss[0], done, 75.0).await;
        let target = section(db, term, advanced, "01", 1, 0, &[(5, 1, 2)]).await;

        let (counted, log) = crate::common::counting(&app).await;
        // (request, statements run): the whole table is compared at the end, so a failure
        // shows every count.
        let mut ran: Vec<(&str, usize)> = Vec::new();
        let added = service::add_once(&counted, ss[0], target, actor, "n-1").await;
        assert!(matches!(added, Ok(service::Added::New(_))));
        ran.push(("an add that gets a seat", log.take().len()));

        let again = service::add_once(&counted, ss[0], target, actor, "n-1").await;
        assert!(matches!(again, Ok(service::Added::Replayed(201, _))));
        ran.push(("the same key again", log.take().len()));

        let full = service::add_once(&counted, ss[1], target, actor, "n-2").await;
        assert_eq!(full.err().map(|e| e.code()), Some("section_full"));
        ran.push(("an add to a full section", log.take().len()));

        let clash = section(
            db,
            term,
            course(db, "N600", 2.0).await,
            "01",
            5,
            0,
            &[(1, 2, 3)],
        )
        .await;
        let refused = service::add_once(&counted, ss[0], clash, actor, "n-3").await;
        assert_eq!(refused.err().map(|e| e.code()), Some("time_conflict"));
        ran.push(("an add that clashes", log.take().len()));

        let list = service::list_for_student(&counted, ss[0], Some(term))
            .await
            .unwrap();
        assert_eq!(list.len(), 4);
        ran.push(("the list of four", log.take().len()));

        service::drop(&counted, ss[0], list[0].id, Some(actor))
            .await
            .unwrap();
        ran.push(("a drop, nobody waiting", log.take().len()));

        // Seat-taking adds and drops run under the write lock; PostgreSQL's extra statements
        // are its row locks (the student and the section for an add; for a drop, the row is
        // found first to know which section to lock).
        let (add, drop) = match app.backend {
            Backend::Sqlite => (9, 5),
            Backend::Postgres => (11, 7),
        };
        let want = vec![
            ("an add that gets a seat", add),
            ("the same key again", 1),
            ("an add to a full section", 1),
            ("an add that clashes", 2),
            ("the list of four", 2),
            ("a drop, nobody waiting", drop),
        ];
        assert_eq!(ran, want, "{:?}", app.backend);
        counted.close().await.unwrap();
    })
    .await;
}

/// Almost half of registration day's requests are catalogue pages, and each statement is a
/// round trip to the database's thread: a page, with its sections' courses, teachers, meeting
/// times and the count of all that pass the filter, is one statement (before: three for a full
/// page: the page, its count, its meeting times).
#[rocket::async_test]
async fn a_catalogue_page_is_one_statement_with_its_meetings_teacher_and_count() {
    use srm::courses::service::{SectionFilter, list_sections, section_row};
    use srm::paging::PageReq;
    on_each_backend(|app| async move {
        let db = app.db();
        let term_id = current_term(db).await;
        let term = terms::Entity::find_by_id(term_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let c = course(db, "CAT101", 3.0).await;
        let first = section(
            db,
            term_id,
            c,
            "01",
            30,
            5,
            &[(3, 1, 2), (1, 5, 6), (3, 7, 8)],
        )
        .await;
        let second = section(db, term_id, c, "02", 30, 5, &[]).await;
        let third = section(db, term_id, c, "03", 30, 5, &[(5, 1, 1)]).await;
        let mut am: sections::ActiveModel = sections::Entity::find_by_id(first)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .into();
        am.teacher_id = Set(Some(app.people.teacher));
        sea_orm::ActiveModelTrait::update(am, db).await.unwrap();
        let teacher = srm::entity::users::Entity::find_by_id(app.people.teacher)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .display_name;

        let (counted, log) = crate::common::counting(&app).await;
        let f = SectionFilter {
            course: Some("CAT101".into()),
            ..Default::default()
        };
        let page = |n| PageReq::new(Some(n), Some(2));
        let one = list_sections(&counted, &term, &f, page(1)).await.unwrap();
        assert_eq!(log.take().len(), 1, "a full page");
        assert_eq!(one.total, 3);
        let ids: Vec<i64> = one.items.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![first, second]);
        let row = &one.items[0];
        assert_eq!(row.teacher.as_deref(), Some(teacher.as_str()));
        assert_eq!(row.teacher_id, Some(app.people.teacher));
        assert_eq!(
            (row.course_code.as_str(), row.title_en.as_str()),
            ("CAT101", "Course CAT101")
        );
        assert_eq!((row.credits, row.capacity, row.seats_left), (3.0, 30, 30));
        let meets: Vec<(i64, i64, i64, i64, i64)> = row
            .meetings
            .iter()
            .map(|m| {
                (
                    m.weekday,
                    m.start_period,
                    m.end_period,
                    m.start_week,
                    m.end_week,
                )
            })
            .collect();
        assert_eq!(
            meets,
            vec![(1, 5, 6, 1, 16), (3, 1, 2, 1, 16), (3, 7, 8, 1, 16)]
        );
        assert!(one.items[1].meetings.is_empty() && one.items[1].teacher.is_none());

        let two = list_sections(&counted, &term, &f, page(2)).await.unwrap();
        assert_eq!(log.take().len(), 1, "the last, short page");
        assert_eq!((two.total, two.items.len(), two.items[0].id), (3, 1, third));
        let past = list_sections(&counted, &term, &f, page(3)).await.unwrap();
        assert_eq!(log.take().len(), 2, "a page past the last counts apart");
        assert_eq!((past.total, past.items.len()), (3, 0));

        let by_teacher = SectionFilter {
            teacher: Some(teacher.clone()),
            ..f.clone()
        };
        let taught = list_sections(&counted, &term, &by_teacher, page(1))
            .await
            .unwrap();
        assert_eq!(log.take().len(), 1, "filtered by the teacher's name");
        assert_eq!((taught.total, taught.items.len()), (1, 1));
        assert_eq!(
            (taught.items[0].id, taught.items[0].meetings.len()),
            (first, 3)
        );

        let alone = section_row(&counted, first).await.unwrap();
        assert_eq!(log.take().len(), 1, "one section");
        assert_eq!(alone.meetings.len(), 3);
        assert_eq!(alone.teacher.as_deref(), Some(teacher.as_str()));
        counted.close().await.unwrap();
    })
    .await;
}

/// A published grade of `score` for the student in a section.
async fn pass(db: &DatabaseConnection, student: i64, section: i64, score: f64) {
    let now = Utc::now().fixed_offset();
    grades::ActiveModel {
        section_id: Set(section),
        student_id: Set(student),
        score: Set(score),
        letter: Set("C".into()),
        points: Set(2.0),
        status: Set(srm::entity::grades::GradeStatus::Published),
        entered_by: Set(None),
        updated_at: Set(now),
        published_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}
