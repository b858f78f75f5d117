//! Grades: weighted final scores and GPA against hand-computed examples (a retake and a
//! zero-credit course), statistics against known values, range and permission checks, drafts
//! hidden from students, the change-request flow with its history, CSV with bad rows, the
//! pages, and this module's rows of the route × role matrix.

use crate::access_matrix::{Ids, Request, Table};
use crate::common::{TestApp, on_each_backend};
use chrono::{Duration, Utc};
use rocket::http::{ContentType, Header, Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use srm::entity::{courses, enrolments, grade_history, grades, sections, students, terms};

/// This module's routes for `access_matrix` (same letters as there).
pub const MATRIX: Table = Table {
    rows: &[
        ("GET", "/api/v1/sections/<id>/grades", "LFAAF"),
        ("PUT", "/api/v1/sections/<id>/grades", "LFAFF"),
        ("POST", "/api/v1/sections/<id>/grades/import", "LFAFF"),
        ("POST", "/api/v1/sections/<id>/grades/publish", "LFAFF"),
        ("GET", "/api/v1/sections/<id>/grades/summary", "LFAAF"),
        (
            "POST",
            "/api/v1/sections/<id>/grades/fill-from-computed",
            "LFAFF",
        ),
        ("GET", "/api/v1/sections/<id>/assessments", "LFAAF"),
        ("POST", "/api/v1/sections/<id>/assessments", "LFAFF"),
        ("PUT", "/api/v1/assessments/<id>", "LFAAF"),
        ("GET", "/api/v1/assessments/<id>/scores", "LAAAA"),
        ("PUT", "/api/v1/assessments/<id>/scores", "LFAAF"),
        ("POST", "/api/v1/grades/<id>/change-requests", "LFAAF"),
        ("GET", "/api/v1/grade-changes", "LFFAF"),
        ("POST", "/api/v1/grade-changes/<id>/approve", "LFFAF"),
        ("POST", "/api/v1/grade-changes/<id>/reject", "LFFAF"),
        ("GET", "/api/v1/grades/<id>/history", "LAAAA"),
        ("GET", "/api/v1/students/<id>/transcript", "LAAAF"),
        ("GET", "/api/v1/sections/<id>/statistics", "LFAAF"),
        ("GET", "/api/v1/statistics", "LFFAF"),
        ("GET", "/api/v1/grading-scales", "LAAAA"),
        ("POST", "/api/v1/grading-scales", "LFFAF"),
        ("GET", "/grades", "LAAAF"),
        ("GET", "/grades/sections/<id>", "LFAAF"),
        ("POST", "/grades/sections/<id>", "LFAFF"),
        ("POST", "/grades/sections/<id>/import", "LFAFF"),
        ("POST", "/grades/sections/<id>/publish", "LFAFF"),
        ("POST", "/grades/sections/<id>/fill", "LFAFF"),
        ("POST", "/grades/sections/<id>/assessments", "LFAFF"),
        ("GET", "/grades/entries/<id>", "LAAAA"),
        ("GET", "/grades/assessments/<id>", "LAAAA"),
        ("POST", "/grades/assessments/<id>", "LFAAF"),
        ("POST", "/grades/entries/<id>/change-requests", "LFAAF"),
        ("GET", "/grades/changes", "LFFAF"),
        ("POST", "/grades/changes/<id>/<decision>", "LFFAF"),
        ("GET", "/students/<id>/transcript", "LAAAF"),
        ("GET", "/me/transcript", "LAFAF"),
        ("GET", "/grades/sections/<id>/statistics", "LFAAF"),
        ("GET", "/grades/statistics", "LFFAF"),
    ],
    request,
};

fn request(method: &str, pattern: &str, ids: &Ids) -> Option<Request> {
    let path = pattern.split('?').next().unwrap_or(pattern);
    let path = if path.contains("/sections/<id>") {
        path.replace("<id>", &ids.section.to_string())
    } else if path.contains("/students/<id>") {
        path.replace("<id>", &ids.student.to_string())
    } else {
        path.replace("<id>", "999999")
            .replace("<decision>", "approve")
    };
    let json = |s: &str| Some((ContentType::JSON, s.to_string()));
    let form = |s: &str| Some((ContentType::Form, s.to_string()));
    let body = match (method, pattern) {
        ("PUT", "/api/v1/sections/<id>/grades") => {
            json(r#"{"grades":[{"student_no":"nobody","score":101}]}"#)
        }
        ("POST", "/api/v1/sections/<id>/grades/import") => {
            Some((ContentType::CSV, "no,header\n".to_string()))
        }
        ("POST", "/api/v1/sections/<id>/assessments") | ("PUT", "/api/v1/assessments/<id>") => {
            json(r#"{"name":""}"#)
        }
        ("PUT", "/api/v1/assessments/<id>/scores") => json(r#"{"scores":[]}"#),
        ("POST", "/api/v1/grades/<id>/change-requests") => {
            json(r#"{"new_score":50,"reason":"typo fixed"}"#)
        }
        ("POST", "/api/v1/grading-scales") => json("{}"),
        ("POST", p) if p.starts_with("/api/") => json("{}"),
        ("POST", "/grades/sections/<id>") => form("score_999999=abc"),
        ("POST", _) => form(""),
        _ => None,
    };
    Some((path, body))
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> (Status, Value) {
    app.send_json(method, path, Some(token), body).await
}

/// Adds `n` students enrolled in `section`, returning (id, student number).
pub async fn enrol(app: &TestApp, section: i64, n: usize, prefix: &str) -> Vec<(i64, String)> {
    let db = app.db();
    let template = students::Entity::find_by_id(app.people.student_record)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now().fixed_offset();
    let mut out = Vec::new();
    for i in 0..n {
        let no = format!("{prefix}{i:04}");
        let s = students::ActiveModel {
            user_id: Set(None),
            student_no: Set(no.clone()),
            national_id: Set(None),
            name_zh: Set(format!("学生{i}")),
            name_en: Set(format!("Student {i}")),
            gender: Set("M".into()),
            birth_date: Set(None),
            phone: Set(None),
            email: Set(None),
            address: Set(None),
            department_id: Set(template.department_id),
            major_id: Set(template.major_id),
            cohort_year: Set(2025),
            status: Set(srm::entity::students::StudentStatus::Active),
            status_changed_at: Set(now),
            advisor_id: Set(None),
            merged_into_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        enrol_one(app, s.id, section).await;
        out.push((s.id, no));
    }
    out
}

async fn enrol_one(app: &TestApp, student: i64, section: i64) {
    crate::common::enrol(app.db(), student, section).await;
}

/// A past term (seq 0) with sections of: the fixture course (to be retaken), a 2-credit
/// course and a zero-credit course, all taught by the fixture teacher.
async fn past_term(app: &TestApp) -> (i64, i64, i64) {
    let db = app.db();
    let now = Utc::now().fixed_offset();
    let today = Utc::now().date_naive();
    let t = terms::ActiveModel {
        code: Set("2026-spring".into()),
        name_zh: Set("2026 春季学期".into()),
        name_en: Set("Spring 2026".into()),
        seq: Set(0),
        starts_on: Set(today - Duration::days(300)),
        ends_on: Set(today - Duration::days(180)),
        registration_opens_at: Set(now),
        registration_closes_at: Set(now),
        add_drop_deadline: Set(now),
        credit_limit: Set(25.0),
        is_current: Set(false),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let cs101 = courses::Entity::find().one(db).await.unwrap().unwrap();
    let mk_course = |code: &str, credits: f64| courses::ActiveModel {
        code: Set(code.into()),
        department_id: Set(cs101.department_id),
        title_zh: Set(code.into()),
        title_en: Set(code.into()),
        credits: Set(credits),
        description: Set(String::new()),
        is_active: Set(true),
        ..Default::default()
    };
    let ma = mk_course("MA101", 2.0).insert(db).await.unwrap();
    let pe = mk_course("PE101", 0.0).insert(db).await.unwrap();
    let mut ids = Vec::new();
    for c in [cs101.id, ma.id, pe.id] {
        let s = sections::ActiveModel {
            term_id: Set(t.id),
            course_id: Set(c),
            section_no: Set("01".into()),
            teacher_id: Set(Some(app.people.teacher)),
            capacity: Set(30),
            waitlist_capacity: Set(0),
            enrolled_count: Set(1),
            room: Set("B1".into()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        ids.push(s.id);
    }
    (ids[0], ids[1], ids[2])
}

async fn enter_and_publish(app: &TestApp, token: &str, section: i64, rows: Value) {
    let (s, v) = send(
        app,
        Method::Put,
        &format!("/api/v1/sections/{section}/grades"),
        token,
        json!({"grades": rows}),
    )
    .await;
    assert_eq!(s, Status::Ok, "{v}");
    let (s, v) = send(
        app,
        Method::Post,
        &format!("/api/v1/sections/{section}/grades/publish"),
        token,
        json!({}),
    )
    .await;
    assert_eq!(s, Status::Ok, "{v}");
}

#[rocket::async_test]
async fn weighted_final_scores_and_gpa_match_hand_computed_examples_with_a_retake_and_a_zero_credit_course()
 {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        let sec = p.section;
        // Homework 20% (80/100), midterm 30% (35/50 = 70), final 50% (90): 16 + 21 + 45 = 82.
        let mut ids = Vec::new();
        for (name, weight, max, due) in [
            ("Homework", 20.0, 100.0, "2026-10-01"),
            ("Midterm", 30.0, 50.0, "2026-11-01"),
            ("Final", 50.0, 100.0, "2027-01-10"),
        ] {
            let (s, a) = send(
                &app,
                Method::Post,
                &format!("/api/v1/sections/{sec}/assessments"),
                &teacher,
                json!({"name": name, "weight": weight, "max_score": max, "due_at": due}),
            )
            .await;
            assert_eq!(s, Status::Created, "{a}");
            ids.push(a["id"].as_i64().unwrap());
        }
        let (s, list) = app
            .get_json(
                &format!("/api/v1/sections/{sec}/assessments"),
                Some(&teacher),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(list["weight_total"], json!(100.0));
        assert_eq!(
            list["items"][1]["due_at"].as_str().map(|d| &d[..10]),
            Some("2026-11-01")
        );
        // A midterm score above its maximum is refused.
        let (s, v) = send(
            &app,
            Method::Put,
            &format!("/api/v1/assessments/{}/scores", ids[1]),
            &teacher,
            json!({"scores": [{"student_id": p.student_record, "score": 51}]}),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity, "{v}");
        for (id, score) in ids.iter().zip([80.0, 35.0, 90.0]) {
            let (s, v) = send(
                &app,
                Method::Put,
                &format!("/api/v1/assessments/{id}/scores"),
                &teacher,
                json!({"scores": [{"student_id": p.student_record, "score": score}]}),
            )
            .await;
            assert_eq!(s, Status::Ok, "{v}");
        }
        let (_, g) = app
            .get_json(&format!("/api/v1/sections/{sec}/grades"), Some(&teacher))
            .await;
        assert_eq!(g["items"][0]["computed_score"], json!(82.0));

        // Current term: CS101 (3 credits) retaken with 82 → B+ 3.3.
        enter_and_publish(
            &app,
            &teacher,
            sec,
            json!([{"student_id": p.student_record, "score": 82}]),
        )
        .await;
        // Past term: CS101 failed (50 → F 0.0), MA101 (2 credits) 90 → A 4.0, PE101 (0 credits) 95.
        let (old_cs, ma, pe) = past_term(&app).await;
        for s in [old_cs, ma, pe] {
            enrol_one(&app, p.student_record, s).await;
        }
        enter_and_publish(
            &app,
            &teacher,
            old_cs,
            json!([{"student_no": "2025000001", "score": 50}]),
        )
        .await;
        enter_and_publish(
            &app,
            &teacher,
            ma,
            json!([{"student_no": "2025000001", "score": 90}]),
        )
        .await;
        enter_and_publish(
            &app,
            &teacher,
            pe,
            json!([{"student_no": "2025000001", "score": 95}]),
        )
        .await;

        let student = app.token(p.student).await;
        let (s, t) = app
            .get_json(
                &format!("/api/v1/students/{}/transcript", p.student_record),
                Some(&student),
            )
            .await;
        assert_eq!(s, Status::Ok, "{t}");
        let terms = t["terms"].as_array().unwrap();
        assert_eq!(terms.len(), 2);
        // Term 1: (3×0 + 2×4) / 5 = 1.6 (the zero-credit course adds nothing).
        assert_eq!(terms[0]["term_gpa"], json!(1.6));
        let first: Vec<(&str, f64, f64, &str, f64)> = terms[0]["courses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["course_code"].as_str().unwrap(),
                    c["credits"].as_f64().unwrap(),
                    c["score"].as_f64().unwrap(),
                    c["letter"].as_str().unwrap(),
                    c["grade_points"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            first,
            vec![
                ("CS101", 3.0, 50.0, "F", 0.0),
                ("MA101", 2.0, 90.0, "A", 4.0),
                ("PE101", 0.0, 95.0, "A", 4.0)
            ]
        );
        assert_eq!(terms[0]["courses"][0]["superseded"], json!(true));
        assert_eq!(terms[1]["term_gpa"], json!(3.3));
        assert_eq!(terms[1]["courses"][0]["letter"], json!("B+"));
        // Cumulative: the retake replaces the fail: (3×3.3 + 2×4) / 5 = 3.58.
        assert_eq!(t["cumulative_gpa"], json!(3.58));
        assert_eq!(t["credits_earned"], json!(5.0));

        // The staff read is audited; the profile shows the same term GPAs.
        let admin = app.token(p.admin).await;
        let (s, _) = app
            .get_json(
                &format!("/api/v1/students/{}/transcript", p.student_record),
                Some(&admin),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert!(app.audit_count("grades.transcript.read", "ok").await >= 1);
        app.page_login(p.admin).await;
        let html = app
            .client
            .get(format!("/students/{}", p.student_record))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(
            html.contains("1.60") || html.contains("1.6"),
            "profile term GPA agrees"
        );
        let page = app
            .client
            .get(format!("/students/{}/transcript", p.student_record))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(page.contains("3.58") && page.contains("PE101") && page.contains("data-print"));
    })
    .await;
}

#[rocket::async_test]
async fn section_statistics_match_known_values() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        let extra = enrol(&app, p.section, 5, "2025100").await;
        let mut rows = vec![json!({"student_id": p.student_record, "score": 50})];
        for ((id, _), score) in extra.iter().zip([60, 70, 80, 90, 100]) {
            rows.push(json!({"student_id": id, "score": score}));
        }
        let (s, v) = send(
            &app,
            Method::Put,
            &format!("/api/v1/sections/{}/grades", p.section),
            &teacher,
            json!({"grades": rows}),
        )
        .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["inserted"], json!(6));
        let (s, st) = app
            .get_json(
                &format!("/api/v1/sections/{}/statistics", p.section),
                Some(&teacher),
            )
            .await;
        assert_eq!(s, Status::Ok, "{st}");
        assert_eq!(st["count"], json!(6));
        assert_eq!(st["mean"], json!(75.0));
        assert_eq!(st["median"], json!(75.0));
        // Population standard deviation: sqrt((625+225+25)·2 / 6) = 17.08.
        assert_eq!(st["std_dev"], json!(17.08));
        assert_eq!(st["min"], json!(50.0));
        assert_eq!(st["max"], json!(100.0));
        assert_eq!(st["pass_rate"], json!(0.8333));
        let counts: Vec<i64> = st["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_i64().unwrap())
            .collect();
        assert_eq!(counts, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 2]);
        // Published-only wider scopes: nothing yet; after publishing, the course shows them.
        let admin = app.token(p.admin).await;
        let course = sections::Entity::find_by_id(p.section)
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .course_id;
        let (_, c) = app
            .get_json(&format!("/api/v1/statistics?course={course}"), Some(&admin))
            .await;
        assert_eq!(c["statistics"]["count"], json!(0));
        let (s, _) = send(
            &app,
            Method::Post,
            &format!("/api/v1/sections/{}/grades/publish", p.section),
            &teacher,
            json!({}),
        )
        .await;
        assert_eq!(s, Status::Ok);
        let (_, c) = app
            .get_json(&format!("/api/v1/statistics?course={course}"), Some(&admin))
            .await;
        assert_eq!(c["statistics"]["mean"], json!(75.0));
        assert_eq!(c["sections"][0]["count"], json!(6));
        assert_eq!(c["trend"].as_array().map(Vec::len), Some(1));
        // The teacher of a section of the course may see the course; not the whole university.
        let (s, _) = app
            .get_json(
                &format!("/api/v1/statistics?course={course}"),
                Some(&teacher),
            )
            .await;
        assert_eq!(s, Status::Ok);
        let (s, _) = app.get_json("/api/v1/statistics", Some(&teacher)).await;
        assert_eq!(s, Status::Forbidden);
        // The pages draw the same numbers as SVG.
        app.page_login(p.admin).await;
        let html = app
            .client
            .get(format!("/grades/statistics?course={course}"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(
            html.contains("<svg") && html.contains("17.08") && html.contains("83.3%"),
            "{html}"
        );
        let html = app
            .client
            .get(format!("/grades/sections/{}/statistics", p.section))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(html.contains("histogram") && html.contains("90–100"));
    })
    .await;
}

#[rocket::async_test]
async fn every_bad_row_is_reported_at_once_and_nothing_is_half_saved() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        let extra = enrol(&app, p.section, 1, "2025200").await;
        let path = format!("/api/v1/sections/{}/grades", p.section);
        let (s, v) = send(
            &app,
            Method::Put,
            &path,
            &teacher,
            json!({"grades": [
                {"student_id": p.student_record, "score": 88},
                {"student_no": extra[0].1, "score": 100.5},
                {"student_no": "2025000002", "score": 70},
                {"student_id": p.student_record, "score": 90},
                {"student_no": "2025000001", "score": "abc"},
                {"student_no": extra[0].1, "score": -1},
            ]}),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity, "{v}");
        let codes: Vec<(u64, &str)> = v["error"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (2, "invalid_score"),
                (3, "not_in_section"),
                (4, "duplicate"),
                (5, "invalid_score"),
                (5, "duplicate"),
                (6, "invalid_score"),
                (6, "duplicate")
            ]
        );
        assert_eq!(
            grades::Entity::find().count(app.db()).await.unwrap(),
            0,
            "nothing saved"
        );

        // A teacher cannot grade another teacher's section; students and unknown sections neither.
        let other = app.token(p.other_teacher).await;
        let body = json!({"grades": [{"student_id": p.student_record, "score": 88}]});
        assert_eq!(
            send(&app, Method::Put, &path, &other, body.clone()).await.0,
            Status::Forbidden
        );
        assert_eq!(app.get_json(&path, Some(&other)).await.0, Status::Forbidden);
        let admin = app.token(p.admin).await;
        assert_eq!(
            send(&app, Method::Put, &path, &admin, body.clone()).await.0,
            Status::Forbidden,
            "staff may view, not enter"
        );
        let student = app.token(p.student).await;
        assert_eq!(
            send(&app, Method::Put, &path, &student, body.clone())
                .await
                .0,
            Status::Forbidden
        );
        assert_eq!(
            send(
                &app,
                Method::Put,
                "/api/v1/sections/999999/grades",
                &teacher,
                body.clone()
            )
            .await
            .0,
            Status::NotFound
        );
        assert!(app.audit_count("grades.section.access", "denied").await >= 2);
        assert_eq!(grades::Entity::find().count(app.db()).await.unwrap(), 0);

        // CSV: bad rows reported by line and column, nothing written; then a good file loads.
        let import = |body: String| {
            let app = &app;
            let teacher = teacher.clone();
            async move {
                let res = app
                    .client
                    .post(format!("/api/v1/sections/{}/grades/import", p.section))
                    .header(Header::new("Authorization", format!("Bearer {teacher}")))
                    .header(ContentType::CSV)
                    .body(body)
                    .dispatch()
                    .await;
                let s = res.status();
                (s, res.into_json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let bad = format!(
            "学号,成绩\n2025000001,91\n{},abc\n2099999999,70\n2025000001,60\n",
            extra[0].1
        );
        let (s, v) = import(bad).await;
        assert_eq!(s, Status::UnprocessableEntity, "{v}");
        let lines: Vec<(u64, &str, &str)> = v["error"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["line"].as_u64().unwrap(),
                    r["column"].as_str().unwrap(),
                    r["code"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (3, "score", "invalid_score"),
                (4, "student_no", "not_in_section"),
                (5, "student_no", "duplicate")
            ]
        );
        assert_eq!(
            grades::Entity::find().count(app.db()).await.unwrap(),
            0,
            "nothing saved from a bad file"
        );
        let (s, v) = import("name,x\n1,2\n".into()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (Status::UnprocessableEntity, Some("unreadable_csv"))
        );
        let (s, v) = import(format!(
            "student_no,score\n2025000001,91\n{},59.5\n",
            extra[0].1
        ))
        .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["inserted"], json!(2));
        let (_, g) = app.get_json(&path, Some(&teacher)).await;
        let letters: Vec<&str> = g["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["letter"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(letters, vec!["A", "F"]);
    })
    .await;
}

#[rocket::async_test]
async fn students_see_only_published_grades_and_changes_after_publishing_need_approval() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        let student = app.token(p.student).await;
        let admin = app.token(p.admin).await;
        let path = format!("/api/v1/sections/{}/grades", p.section);
        let (s, _) = send(
            &app,
            Method::Put,
            &path,
            &teacher,
            json!([{"student_id": p.student_record, "score": 72}]),
        )
        .await;
        assert_eq!(s, Status::Ok);
        let grade = grades::Entity::find().one(app.db()).await.unwrap().unwrap();
        assert_eq!(
            (grade.status.as_str(), grade.letter.as_str()),
            ("draft", "C+")
        );
        // Drafts are invisible to the student: not on the transcript, no history, not the section.
        let transcript = format!("/api/v1/students/{}/transcript", p.student_record);
        let (_, t) = app.get_json(&transcript, Some(&student)).await;
        assert_eq!(t["terms"], json!([]));
        assert_eq!(
            app.get_json(
                &format!("/api/v1/grades/{}/history", grade.id),
                Some(&student)
            )
            .await
            .0,
            Status::Forbidden
        );
        assert_eq!(
            app.get_json(&path, Some(&student)).await.0,
            Status::Forbidden
        );
        // The other student cannot read this student's transcript.
        let other = app.token(p.other_student).await;
        assert_eq!(
            app.get_json(&transcript, Some(&other)).await.0,
            Status::Forbidden
        );
        // A draft is edited directly; a change request is only for published grades.
        let (s, _) = send(
            &app,
            Method::Put,
            &path,
            &teacher,
            json!([{"student_id": p.student_record, "score": 74}]),
        )
        .await;
        assert_eq!(s, Status::Ok);
        let cr = format!("/api/v1/grades/{}/change-requests", grade.id);
        assert_eq!(
            send(
                &app,
                Method::Post,
                &cr,
                &teacher,
                json!({"new_score": 80, "reason": "re-marked exam"})
            )
            .await
            .0,
            Status::Conflict
        );
        let (s, _) = send(
            &app,
            Method::Post,
            &format!("{path}/publish"),
            &teacher,
            json!({}),
        )
        .await;
        assert_eq!(s, Status::Ok);
        let (_, t) = app.get_json(&transcript, Some(&student)).await;
        assert_eq!(t["terms"][0]["courses"][0]["score"], json!(74.0));
        // Published: the grid refuses a new score.
        let (s, v) = send(
            &app,
            Method::Put,
            &path,
            &teacher,
            json!([{"student_id": p.student_record, "score": 80}]),
        )
        .await;
        assert_eq!(
            (s, v["error"]["rows"][0]["code"].as_str()),
            (Status::UnprocessableEntity, Some("published"))
        );
        // Change request: validated, one pending at a time, not by another teacher.
        assert_eq!(
            send(
                &app,
                Method::Post,
                &cr,
                &teacher,
                json!({"new_score": 180, "reason": "x"})
            )
            .await
            .0,
            Status::UnprocessableEntity
        );
        let other_teacher = app.token(p.other_teacher).await;
        assert_eq!(
            send(
                &app,
                Method::Post,
                &cr,
                &other_teacher,
                json!({"new_score": 80, "reason": "re-marked exam"})
            )
            .await
            .0,
            Status::Forbidden
        );
        let (s, c) = send(
            &app,
            Method::Post,
            &cr,
            &teacher,
            json!({"new_score": 80, "reason": "exam question 3 re-marked"}),
        )
        .await;
        assert_eq!(s, Status::Created, "{c}");
        assert_eq!(
            send(
                &app,
                Method::Post,
                &cr,
                &teacher,
                json!({"new_score": 81, "reason": "another try"})
            )
            .await
            .0,
            Status::Conflict
        );
        // The teacher cannot approve; the approver sees it in the queue and approves.
        let approve = format!("/api/v1/grade-changes/{}/approve", c["id"]);
        assert_eq!(
            send(&app, Method::Post, &approve, &teacher, json!({}))
                .await
                .0,
            Status::Forbidden
        );
        let (_, q) = app.get_json("/api/v1/grade-changes", Some(&admin)).await;
        assert_eq!(q["items"][0]["reason"], json!("exam question 3 re-marked"));
        let (s, d) = send(
            &app,
            Method::Post,
            &approve,
            &admin,
            json!({"note": "checked the script"}),
        )
        .await;
        assert_eq!((s, d["status"].as_str()), (Status::Ok, Some("approved")));
        assert_eq!(
            send(&app, Method::Post, &approve, &admin, json!({}))
                .await
                .0,
            Status::Conflict
        );
        let g = grades::Entity::find_by_id(grade.id)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((g.score, g.letter.as_str(), g.points), (80.0, "B", 3.0));
        // A second request, rejected, leaves the grade alone.
        let (_, c2) = send(
            &app,
            Method::Post,
            &cr,
            &teacher,
            json!({"new_score": 95, "reason": "bonus points"}),
        )
        .await;
        let (s, _) = send(
            &app,
            Method::Post,
            &format!("/api/v1/grade-changes/{}/reject", c2["id"]),
            &admin,
            json!({"note": "no basis"}),
        )
        .await;
        assert_eq!(s, Status::Ok);
        // History: who, when, old → new, why, who approved; the student sees it once published.
        let (s, h) = app
            .get_json(
                &format!("/api/v1/grades/{}/history", grade.id),
                Some(&student),
            )
            .await;
        assert_eq!(s, Status::Ok, "{h}");
        let rows = h["history"].as_array().unwrap();
        let steps: Vec<(Option<f64>, f64)> = rows
            .iter()
            .map(|r| (r["old_score"].as_f64(), r["new_score"].as_f64().unwrap()))
            .collect();
        assert_eq!(
            steps,
            vec![(None, 72.0), (Some(72.0), 74.0), (Some(74.0), 80.0)]
        );
        assert_eq!(rows[2]["reason"], json!("exam question 3 re-marked"));
        assert!(rows[2]["actor"].as_str().is_some_and(|a| !a.is_empty()));
        assert!(
            rows[2]["approved_by"]
                .as_str()
                .is_some_and(|a| !a.is_empty())
        );
        let statuses: Vec<&str> = h["change_requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses.len(), 2);
        assert!(statuses.contains(&"approved") && statuses.contains(&"rejected"));
        assert_eq!(
            grade_history::Entity::find().count(app.db()).await.unwrap(),
            3
        );
        for action in [
            "grades.enter",
            "grades.publish",
            "grades.change.request",
            "grades.change.approve",
            "grades.change.reject",
        ] {
            assert!(app.audit_count(action, "ok").await >= 1, "{action} audited");
        }
        let (_, t) = app.get_json(&transcript, Some(&student)).await;
        assert_eq!(t["terms"][0]["courses"][0]["score"], json!(80.0));
    })
    .await;
}

#[rocket::async_test]
async fn the_entry_grid_marks_every_wrong_cell_and_the_pages_drive_the_whole_flow() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let extra = enrol(&app, p.section, 2, "2025300").await;
        let csrf = app.page_login(p.teacher).await;
        let html = app
            .client
            .get("/grades")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(
            html.contains(&format!("/grades/sections/{}", p.section)),
            "teacher's sections listed"
        );
        let url = format!("/grades/sections/{}", p.section);
        // An assessment added on the page, its scores entered on its own grid.
        let res = app
            .client
            .post(format!("{url}/assessments"))
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&name=Quiz&weight=abc&due_at=2026-12-01&max_score=10"
            ))
            .dispatch()
            .await;
        assert_eq!(
            res.status(),
            Status::UnprocessableEntity,
            "bad weight shown again"
        );
        let res = app
            .client
            .post(format!("{url}/assessments"))
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&name=Quiz&weight=100&due_at=2026-12-01&max_score=10"
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let quiz = srm::entity::assessments::Entity::find()
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let res = app
            .client
            .post(format!("/grades/assessments/{}", quiz.id))
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&score_{}=11&score_{}=9&score_{}=",
                p.student_record, extra[0].0, extra[1].0
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert_eq!(
            res.into_string()
                .await
                .unwrap_or_default()
                .matches("aria-invalid=\"true\"")
                .count(),
            1
        );
        let res = app
            .client
            .post(format!("/grades/assessments/{}", quiz.id))
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&score_{}=9.5&score_{}=9&score_{}=",
                p.student_record, extra[0].0, extra[1].0
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let html = app
            .client
            .get(url.clone())
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(
            !html.contains("value=\"95\""),
            "the computed score is not put in a box"
        );
        assert!(
            html.contains(">95<br>"),
            "the computed score is shown beside it"
        );
        let res = app
            .client
            .post(url.clone())
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&score_{}=101&score_{}=abc&score_{}=77",
                p.student_record, extra[0].0, extra[1].0
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = res.into_string().await.unwrap_or_default();
        assert_eq!(
            html.matches("aria-invalid=\"true\"").count(),
            2,
            "both wrong cells marked"
        );
        assert!(html.contains("value=\"77\""), "typed values kept");
        assert_eq!(grades::Entity::find().count(app.db()).await.unwrap(), 0);
        let res = app
            .client
            .post(url.clone())
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&score_{}=91&score_{}=59&score_{}=77",
                p.student_record, extra[0].0, extra[1].0
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let res = app
            .client
            .post(format!("{url}/publish"))
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}&confirm=1"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let g = grades::Entity::find()
            .filter(grades::Column::StudentId.eq(p.student_record))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(g.status.as_str(), "published");
        // Change request through the form; the approver decides on the queue page.
        let res = app
            .client
            .post(format!("/grades/entries/{}/change-requests", g.id))
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&new_score=93&reason=missed+a+page+when+marking"
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        app.page_logout().await;
        let csrf = app.page_login(p.admin).await;
        let html = app
            .client
            .get("/grades/changes")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(html.contains("missed a page when marking"));
        let change = srm::entity::grade_changes::Entity::find()
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let res = app
            .client
            .post(format!("/grades/changes/{}/approve", change.id))
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}&note=ok"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let html = app
            .client
            .get(format!("/grades/entries/{}", g.id))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(html.contains("missed a page when marking") && html.contains("93"));
        app.page_logout().await;
        // The student is sent to their own transcript.
        app.page_login(p.student).await;
        let res = app.client.get("/grades").dispatch().await;
        assert_eq!(res.headers().get_one("Location"), Some("/me/transcript"));
        let html = app
            .client
            .get("/me/transcript")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert!(html.contains("CS101") && html.contains("93"));
    })
    .await;
}

/// Timing of a 100,000-row CSV through the import code path (run with `--ignored`).
#[rocket::async_test]
#[ignore]
async fn a_hundred_thousand_grade_rows_load_from_csv_in_seconds() {
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let p = app.people.clone();
    let n = 100_000usize;
    let db = app.db();
    let template = students::Entity::find_by_id(p.student_record)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now().fixed_offset();
    let base = 1_000_000i64;
    let started = std::time::Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        students::Entity::insert_many(chunk.iter().map(|i| students::ActiveModel {
            id: Set(base + *i as i64),
            user_id: Set(None),
            student_no: Set(format!("P{i:07}")),
            national_id: Set(None),
            name_zh: Set("测".into()),
            name_en: Set("T".into()),
            gender: Set("M".into()),
            birth_date: Set(None),
            phone: Set(None),
            email: Set(None),
            address: Set(None),
            department_id: Set(template.department_id),
            major_id: Set(template.major_id),
            cohort_year: Set(2025),
            status: Set(srm::entity::students::StudentStatus::Active),
            status_changed_at: Set(now),
            advisor_id: Set(None),
            merged_into_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .exec_without_returning(db)
        .await
        .unwrap();
        enrolments::Entity::insert_many(chunk.iter().map(|i| enrolments::ActiveModel {
            student_id: Set(base + *i as i64),
            section_id: Set(p.section),
            status: Set(enrolments::EnrolmentStatus::Enrolled),
            waitlist_position: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            dropped_at: Set(None),
            override_reason: Set(None),
            ..Default::default()
        }))
        .exec_without_returning(db)
        .await
        .unwrap();
    }
    eprintln!("setup {n} students: {:?}", started.elapsed());
    let mut csv = String::from("student_no,score\n");
    for i in 0..n {
        csv.push_str(&format!("P{i:07},{}\n", (i * 37) % 101));
    }
    let teacher = app.token(p.teacher).await;
    let started = std::time::Instant::now();
    let res = app
        .client
        .post(format!("/api/v1/sections/{}/grades/import", p.section))
        .header(Header::new("Authorization", format!("Bearer {teacher}")))
        .header(ContentType::CSV)
        .body(csv)
        .dispatch()
        .await;
    let took = started.elapsed();
    let status = res.status();
    let v: Value = res.into_json().await.unwrap_or(Value::Null);
    assert_eq!(
        status,
        Status::Ok,
        "{}",
        v.to_string().chars().take(400).collect::<String>()
    );
    assert_eq!(v["inserted"], json!(n));
    eprintln!(
        "imported {n} grade rows in {took:?}: {:.0} rows/s",
        n as f64 / took.as_secs_f64()
    );
    let started = std::time::Instant::now();
    let (s, st) = app
        .get_json(
            &format!("/api/v1/sections/{}/statistics", p.section),
            Some(&teacher),
        )
        .await;
    assert_eq!(s, Status::Ok);
    eprintln!(
        "statistics of {} grades in {:?}",
        st["count"],
        started.elapsed()
    );
}

/// This module's matrix rows checked on their own, so they hold while other modules' rows
/// are still being written (the full matrix test checks them all together as well).
#[rocket::async_test]
async fn grades_rows_of_the_access_matrix_hold() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let ids = Ids {
            section: p.section,
            target_user: p.target,
            spare_group: 0,
            student: p.student_record,
        };
        let roles = [
            None,
            Some(p.student),
            Some(p.teacher),
            Some(p.admin),
            Some(p.auditor),
        ];
        let mut tokens = Vec::new();
        for r in roles {
            tokens.push(match r {
                Some(id) => Some(app.token(id).await),
                None => None,
            });
        }
        let mut failures = Vec::new();
        for (method, pattern, expected) in MATRIX.rows {
            for (i, want) in expected.chars().enumerate() {
                let Some((path, body)) = request(method, pattern, &ids) else {
                    continue;
                };
                let mut req = app
                    .client
                    .req(method.parse().expect("method"), path.clone());
                if let Some(t) = &tokens[i] {
                    req = req.header(Header::new("Authorization", format!("Bearer {t}")));
                }
                if let Some((ct, b)) = body {
                    req = req.header(ct).body(b);
                }
                let res = req.dispatch().await;
                let status = res.status();
                let location = res
                    .headers()
                    .get_one("Location")
                    .unwrap_or_default()
                    .to_string();
                let ok = match want {
                    'A' => {
                        status.code < 500
                            && status != Status::Unauthorized
                            && status != Status::Forbidden
                            && !(status == Status::SeeOther && location.starts_with("/login"))
                    }
                    'L' => {
                        if path.starts_with("/api/") {
                            status == Status::Unauthorized
                        } else {
                            status == Status::SeeOther && location.starts_with("/login")
                        }
                    }
                    'F' => status == Status::Forbidden,
                    _ => false,
                };
                if !ok {
                    failures.push(format!(
                        "{method} {path} as role {i}: expected {want}, got {status} {location}"
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(
            grades::Entity::find().count(app.db()).await.unwrap(),
            0,
            "the matrix wrote no grade"
        );
    })
    .await;
}

#[rocket::async_test]
async fn an_administrator_defines_a_grading_scale_that_letters_and_pass_marks_follow() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let teacher = app.token(p.teacher).await;
        let bad = json!({"name": "Pass/fail", "pass_mark": 50, "bands": [{"min_score": 50, "letter": "P", "points": 4}]});
        let (s, v) = send(&app, Method::Post, "/api/v1/grading-scales", &admin, bad).await;
        assert_eq!((s, v["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("invalid_scale")), "no band from 0");
        assert_eq!(send(&app, Method::Post, "/api/v1/grading-scales", &teacher, json!({})).await.0, Status::Forbidden);
        let good = json!({"name": "Pass/fail", "pass_mark": 50, "is_default": true,
            "bands": [{"min_score": 50, "letter": "P", "points": 4}, {"min_score": 0, "letter": "NP", "points": 0}]});
        let (s, v) = send(&app, Method::Post, "/api/v1/grading-scales", &admin, good).await;
        assert_eq!(s, Status::Created, "{v}");
        assert!(app.audit_count("grades.scale.create", "ok").await == 1);
        let (_, list) = app.get_json("/api/v1/grading-scales", Some(&teacher)).await;
        assert_eq!(list["items"][0]["name"], json!("Pass/fail"));
        let (s, _) = send(&app, Method::Put, &format!("/api/v1/sections/{}/grades", p.section), &teacher,
            json!([{"student_id": p.student_record, "score": 55}])).await;
        assert_eq!(s, Status::Ok);
        let (_, g) = app.get_json(&format!("/api/v1/sections/{}/grades", p.section), Some(&teacher)).await;
        assert_eq!((g["items"][0]["letter"].as_str(), g["items"][0]["passed"].as_bool()), (Some("P"), Some(true)));
        let (_, st) = app.get_json(&format!("/api/v1/sections/{}/statistics", p.section), Some(&teacher)).await;
        assert_eq!(st["pass_rate"], json!(1.0), "the default scale's pass mark of 50 applies");
    })
    .await;
}

#[rocket::async_test]
async fn administrators_add_a_grading_scale_from_its_page() {
    use rocket::http::{ContentType, Header, Status};
    let app = crate::common::TestApp::new(crate::common::Backend::Sqlite).await;
    let csrf = app.page_login(app.people.admin).await;
    let page = app
        .client
        .get("/grades/scales")
        .header(Header::new("Accept-Language", "en"))
        .dispatch()
        .await;
    assert_eq!(page.status(), Status::Ok);
    let post = |bands: &str| {
        format!(
            "_csrf={}&name=Pass%2FFail&pass_mark=50&make_default=true&bands={}",
            srm::web::url_encode(&csrf),
            srm::web::url_encode(bands)
        )
    };
    let res = app
        .client
        .post("/grades/scales")
        .header(ContentType::Form)
        .body(post("50 P 1\nfifty F 0"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert!(
        res.into_string().await.unwrap().contains("等级第 2 行"),
        "the reason in the page's language"
    );
    let res = app
        .client
        .post("/grades/scales")
        .header(ContentType::Form)
        .body(post("50 P 1\n0 F 0"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let default = srm::grades::scale::default_scale(app.db()).await.unwrap();
    assert_eq!(
        (
            default.name.as_str(),
            default.pass_mark,
            default.bands.len()
        ),
        ("Pass/Fail", 50.0, 2)
    );
    assert_eq!(default.bands[0].letter, "P");
    // A teacher may not.
    app.page_logout().await;
    app.page_login(app.people.teacher).await;
    assert_eq!(
        app.client.get("/grades/scales").dispatch().await.status(),
        Status::Forbidden
    );
}
