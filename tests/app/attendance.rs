//! Attendance: the teacher takes a meeting's roll in a few requests (everyone present, the
//! exceptions marked), only the section's teacher may, only on a real meeting that has
//! happened; students see their own rates and nobody else's; the advisor sees them on the
//! 360° page, audited; card-reader files import idempotently; the demo seeds rolls.

use crate::access_matrix::{Ids, Request, Table};
use crate::common::{TestApp, enrol, hidden_value, multipart, on_each_backend};
use chrono::{Datelike, Duration, NaiveDate};
use rocket::http::{ContentType, Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;
use srm::entity::{attendance, attendance_rolls, section_meetings, students, terms};

/// Attendance's rows of the route matrix (anonymous, student, teacher, admin, custom group).
/// The fixture section has no meetings, so a roll asked for is refused (422) before anything
/// is written.
pub const MATRIX: Table = Table {
    rows: &[
        ("GET", "/attendance", "LAAAF"),
        ("GET", "/attendance/sections/<id>", "LFAAF"),
        ("GET", "/attendance/sections/<id>/<date>", "LFAAF"),
        ("POST", "/attendance/sections/<id>/<date>", "LFAAF"),
        ("GET", "/me/attendance", "LAFFF"),
        ("GET", "/api/v1/me/attendance", "LAFFF"),
        ("GET", "/api/v1/sections/<id>/meetings", "LFAAF"),
        ("GET", "/api/v1/sections/<id>/attendance/<date>", "LFAAF"),
        ("PUT", "/api/v1/sections/<id>/attendance/<date>", "LFAAF"),
        ("GET", "/api/v1/students/<id>/attendance", "LAAAF"),
        ("GET", "/attendance/import", "LFFAF"),
        ("POST", "/attendance/import", "LFFAF"),
        ("GET", "/attendance/import/<id>", "LFFAF"),
        ("GET", "/attendance/import/<id>/rejected.csv", "LFFAF"),
    ],
    request,
};

fn request(method: &str, pattern: &str, ids: &Ids) -> Option<Request> {
    let path = pattern
        .replace("<date>", "2020-01-06")
        .replace("/sections/<id>", &format!("/sections/{}", ids.section))
        .replace("/students/<id>", &format!("/students/{}", ids.student))
        // No such import: the administrator is answered 404, after the access check.
        .replace("/import/<id>", "/import/999999");
    let body = match (method, pattern) {
        ("PUT", _) => Some((ContentType::JSON, r#"{"marks":[]}"#.to_string())),
        ("POST", "/attendance/import") => Some((ContentType::Form, String::new())),
        ("POST", _) => Some((ContentType::Form, "mark_999999=absent".to_string())),
        _ => None,
    };
    Some((path, body))
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// The fixture section meets on today's weekday (periods 1–2) in every week of a term that
/// began two weeks ago, so today, a week ago and two weeks ago are meetings and yesterday is
/// not. The other student is enrolled too.
pub async fn meets_weekly(app: &TestApp) {
    let db = app.db();
    let term_id = srm::entity::sections::Entity::find_by_id(app.people.section)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .term_id;
    let mut term: terms::ActiveModel = terms::Entity::find_by_id(term_id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into();
    term.starts_on = Set(today() - Duration::days(14));
    term.ends_on = Set(today() + Duration::days(100));
    term.update(db).await.unwrap();
    section_meetings::ActiveModel {
        section_id: Set(app.people.section),
        weekday: Set(i64::from(today().weekday().number_from_monday())),
        start_period: Set(1),
        end_period: Set(2),
        start_week: Set(1),
        end_week: Set(16),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    enrol(db, app.people.other_student_record, app.people.section).await;
    // Both enrolled the week before the term began, as students do.
    srm::entity::enrolments::Entity::update_many()
        .col_expr(
            srm::entity::enrolments::Column::CreatedAt,
            sea_orm::sea_query::Expr::value(days_ago(21)),
        )
        .filter(srm::entity::enrolments::Column::SectionId.eq(app.people.section))
        .exec(db)
        .await
        .unwrap();
}

/// The instant `n` days before now.
fn days_ago(n: i64) -> chrono::DateTime<chrono::FixedOffset> {
    (chrono::Utc::now() - Duration::days(n)).fixed_offset()
}

async fn marks_of(app: &TestApp, date: NaiveDate) -> Vec<(i64, String)> {
    let mut v: Vec<(i64, String)> = attendance::Entity::find()
        .filter(attendance::Column::SectionId.eq(app.people.section))
        .filter(attendance::Column::HeldOn.eq(date))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.student_id, m.status))
        .collect();
    v.sort();
    v
}

#[rocket::async_test]
async fn a_teacher_takes_a_roll_in_a_few_requests_and_the_marks_are_stored() {
    on_each_backend(|app| async move {
        meets_weekly(&app).await;
        let p = app.people.clone();
        let t = app.token(p.teacher).await;
        let day = today();
        let (s, v) = app
            .get_json(
                &format!("/api/v1/sections/{}/meetings", p.section),
                Some(&t),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{v}");
        assert_eq!(items[0]["date"], json!(day.to_string()));
        assert_eq!(items[0]["taken"], json!(false));

        let url = format!("/api/v1/sections/{}/attendance/{day}", p.section);
        let (s, v) = app.get_json(&url, Some(&t)).await;
        assert_eq!(s, Status::Ok, "{v}");
        let roster = v["students"].as_array().unwrap();
        assert_eq!(roster.len(), 2);
        assert!(roster.iter().all(|r| r["status"] == "present"), "{v}");

        let body = json!({"marks": [{"student_id": p.other_student_record, "status": "absent"},
                                    {"student_id": p.student_record, "status": "present"}]});
        let (s, v) = app.send_json(Method::Put, &url, Some(&t), body).await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["absent"], json!(1));
        assert_eq!(v["present"], json!(1));
        assert_eq!(
            marks_of(&app, day).await,
            vec![(p.other_student_record, "absent".to_string())]
        );
        // Saving again replaces the meeting's marks.
        let body = json!({"marks": [{"student_id": p.student_record, "status": "late"}]});
        let (s, v) = app.send_json(Method::Put, &url, Some(&t), body).await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["replaced"], json!(true));
        assert_eq!(
            marks_of(&app, day).await,
            vec![(p.student_record, "late".to_string())]
        );
        let rolls = attendance_rolls::Entity::find()
            .filter(attendance_rolls::Column::SectionId.eq(p.section))
            .count(app.db())
            .await
            .unwrap();
        assert_eq!(rolls, 1);
        assert_eq!(app.audit_count("attendance.roll.save", "ok").await, 2);

        // The same on the phone page: one form, one radio per student and mark.
        let week_ago = day - Duration::days(7);
        app.page_login(p.teacher).await;
        let list = app
            .client
            .get("/attendance")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(list.contains(&format!("/attendance/sections/{}/{week_ago}", p.section)));
        let roll_url = format!("/attendance/sections/{}/{week_ago}", p.section);
        let page = app
            .client
            .get(roll_url.clone())
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(page.contains(&format!("name=\"mark_{}\"", p.student_record)));
        let csrf = hidden_value(&page, "_csrf").unwrap();
        let res = app
            .client
            .post(roll_url)
            .header(ContentType::Form)
            .body(format!(
                "_csrf={csrf}&mark_{}=absent&mark_{}=present",
                p.student_record, p.other_student_record
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(
            marks_of(&app, week_ago).await,
            vec![(p.student_record, "absent".to_string())]
        );
        // Without the CSRF token nothing is saved.
        let res = app
            .client
            .post(format!("/attendance/sections/{}/{day}", p.section))
            .header(ContentType::Form)
            .body(format!("mark_{}=excused", p.student_record))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden);
    })
    .await;
}

#[rocket::async_test]
async fn another_teacher_is_refused_taking_a_roll_for_a_section_not_theirs() {
    on_each_backend(|app| async move {
        meets_weekly(&app).await;
        let p = app.people.clone();
        let t = app.token(p.other_teacher).await;
        let url = format!("/api/v1/sections/{}/attendance/{}", p.section, today());
        let (s, _) = app.get_json(&url, Some(&t)).await;
        assert_eq!(s, Status::Forbidden);
        let body = json!({"marks": [{"student_id": p.student_record, "status": "absent"}]});
        let (s, _) = app.send_json(Method::Put, &url, Some(&t), body).await;
        assert_eq!(s, Status::Forbidden);
        let (s, _) = app
            .get_json(
                &format!("/api/v1/sections/{}/meetings", p.section),
                Some(&t),
            )
            .await;
        assert_eq!(s, Status::Forbidden);
        let student = app.token(p.student).await;
        let (s, _) = app.get_json(&url, Some(&student)).await;
        assert_eq!(s, Status::Forbidden);
        assert!(marks_of(&app, today()).await.is_empty());
        assert!(app.audit_count("attendance.section.access", "denied").await >= 4);
        // The administrator (registrar rights) may take it.
        let admin = app.token(p.admin).await;
        let body = json!({"marks": []});
        let (s, v) = app.send_json(Method::Put, &url, Some(&admin), body).await;
        assert_eq!(s, Status::Ok, "{v}");
    })
    .await;
}

#[rocket::async_test]
async fn a_future_or_non_meeting_date_is_refused_with_a_clear_422() {
    on_each_backend(|app| async move {
        meets_weekly(&app).await;
        let p = app.people.clone();
        let t = app.token(p.teacher).await;
        let body = json!({"marks": []});
        for (date, code) in [
            (today() + Duration::days(7), "future_meeting"),
            (today() - Duration::days(1), "not_a_meeting"),
            (today() - Duration::days(21), "not_a_meeting"),
        ] {
            let url = format!("/api/v1/sections/{}/attendance/{date}", p.section);
            let (s, v) = app
                .send_json(Method::Put, &url, Some(&t), body.clone())
                .await;
            assert_eq!(s, Status::UnprocessableEntity, "{date}: {v}");
            assert_eq!(v["error"]["code"], json!(code), "{v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(&date.to_string())
            );
        }
        let (s, _) = app
            .get_json(
                &format!("/api/v1/sections/{}/attendance/not-a-date", p.section),
                Some(&t),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
        // A student who is not enrolled cannot be marked.
        let (_, stranger) = crate::common::extra_student(&app, "2025000099").await;
        let url = format!("/api/v1/sections/{}/attendance/{}", p.section, today());
        let body = json!({"marks": [{"student_id": stranger, "status": "absent"}]});
        let (s, v) = app.send_json(Method::Put, &url, Some(&t), body).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert_eq!(v["error"]["code"], json!("not_enrolled"));
        assert_eq!(
            attendance_rolls::Entity::find()
                .count(app.db())
                .await
                .unwrap(),
            0
        );
        // The page says it in Chinese too.
        app.page_login(p.teacher).await;
        let res = app
            .client
            .get(format!(
                "/attendance/sections/{}/{}",
                p.section,
                today() + Duration::days(7)
            ))
            .header(rocket::http::Header::new("Accept-Language", "zh-CN"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().await.unwrap().contains("尚未进行"));
    })
    .await;
}

/// The teacher marks the student absent today and present a week ago.
async fn two_rolls(app: &TestApp) {
    let p = &app.people;
    let t = app.token(p.teacher).await;
    for (date, marks) in [
        (
            today(),
            json!([{"student_id": p.student_record, "status": "absent"}]),
        ),
        (today() - Duration::days(7), json!([])),
    ] {
        let url = format!("/api/v1/sections/{}/attendance/{date}", p.section);
        let (s, v) = app
            .send_json(Method::Put, &url, Some(&t), json!({"marks": marks}))
            .await;
        assert_eq!(s, Status::Ok, "{v}");
    }
}

#[rocket::async_test]
async fn a_student_sees_their_own_rate_and_cannot_read_another_students() {
    on_each_backend(|app| async move {
        meets_weekly(&app).await;
        two_rolls(&app).await;
        let p = app.people.clone();
        let t = app.token(p.student).await;
        let (s, v) = app.get_json("/api/v1/me/attendance", Some(&t)).await;
        assert_eq!(s, Status::Ok, "{v}");
        let sec = &v["sections"][0];
        assert_eq!(sec["held"], json!(2), "{v}");
        assert_eq!(sec["absent"], json!(1));
        assert_eq!(sec["rate"], json!(0.5));
        assert_eq!(sec["marks"][0]["date"], json!(today().to_string()));
        assert_eq!(sec["marks"][0]["status"], json!("absent"));
        let page = app.page_in("/me/attendance", &t, "en").await;
        assert!(page.contains("50%") && page.contains("Absent"), "{page}");
        let page = app.page_in("/me/attendance", &t, "zh-CN").await;
        assert!(page.contains("缺勤"));
        // Another student's attendance: refused, and the refusal audited.
        let (s, _) = app
            .get_json(
                &format!("/api/v1/students/{}/attendance", p.other_student_record),
                Some(&t),
            )
            .await;
        assert_eq!(s, Status::Forbidden);
        let (s, _) = app
            .get_json(
                &format!("/api/v1/students/{}/attendance", p.student_record),
                Some(&t),
            )
            .await;
        assert_eq!(s, Status::Ok);
        let res = app
            .get(&format!("/students/{}", p.other_student_record), Some(&t))
            .await;
        assert_eq!(res.status(), Status::Forbidden);
        assert!(app.audit_count("attendance.read", "denied").await >= 1);
        // The other student sees only their own (no marks, two meetings attended).
        let o = app.token(p.other_student).await;
        let (_, v) = app.get_json("/api/v1/me/attendance", Some(&o)).await;
        assert_eq!(v["student_id"], json!(p.other_student_record));
        assert_eq!(v["sections"][0]["rate"], json!(1.0));
        assert_eq!(v["sections"][0]["marks"], json!([]));
    })
    .await;
}

#[rocket::async_test]
async fn a_student_who_enrolled_late_counts_only_the_meetings_held_since() {
    on_each_backend(|app| async move {
        meets_weekly(&app).await;
        two_rolls(&app).await;
        let p = app.people.clone();
        // The other student joined three days ago: last week's meeting was never theirs.
        srm::entity::enrolments::Entity::update_many()
            .col_expr(
                srm::entity::enrolments::Column::CreatedAt,
                sea_orm::sea_query::Expr::value(days_ago(3)),
            )
            .filter(srm::entity::enrolments::Column::SectionId.eq(p.section))
            .filter(srm::entity::enrolments::Column::StudentId.eq(p.other_student_record))
            .exec(app.db())
            .await
            .unwrap();
        let o = app.token(p.other_student).await;
        let (s, v) = app.get_json("/api/v1/me/attendance", Some(&o)).await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["sections"][0]["held"], json!(1), "{v}");
        assert_eq!(v["sections"][0]["rate"], json!(1.0), "{v}");
        // The student enrolled from the start still counts both.
        let t = app.token(p.student).await;
        let (_, v) = app.get_json("/api/v1/me/attendance", Some(&t)).await;
        assert_eq!(v["sections"][0]["held"], json!(2), "{v}");
    })
    .await;
}

#[rocket::async_test]
async fn the_advisors_record_view_shows_absences_and_is_audited() {
    on_each_backend(|app| async move {
        meets_weekly(&app).await;
        two_rolls(&app).await;
        let p = app.people.clone();
        let mut s: students::ActiveModel = students::Entity::find_by_id(p.student_record)
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .into();
        s.advisor_id = Set(Some(p.other_teacher));
        s.update(app.db()).await.unwrap();
        let t = app.token(p.other_teacher).await;
        let before = app.audit_count("students.read", "ok").await;
        let page = app
            .page_in(&format!("/students/{}", p.student_record), &t, "en")
            .await;
        assert!(page.contains("Attendance this term"), "{page}");
        assert!(page.contains("50%"));
        assert!(page.contains("Recent absences"));
        assert_eq!(app.audit_count("students.read", "ok").await, before + 1);
        let (st, v) = app
            .get_json(
                &format!("/api/v1/students/{}/attendance", p.student_record),
                Some(&t),
            )
            .await;
        assert_eq!(st, Status::Ok, "{v}");
        assert_eq!(v["sections"][0]["absent"], json!(1));
        assert_eq!(app.audit_count("attendance.read", "ok").await, 1);
        // Not the other student's advisor nor their teacher: refused.
        let (st, _) = app
            .get_json(
                &format!("/api/v1/students/{}/attendance", p.other_student_record),
                Some(&t),
            )
            .await;
        assert_eq!(st, Status::Forbidden);
    })
    .await;
}

/// (student id, term seq) → count, from a grouped query.
async fn per_student_term(
    db: &impl sea_orm::ConnectionTrait,
    sql: &str,
) -> std::collections::HashMap<(i64, i64), i64> {
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        (
            (
                r.try_get_by_index::<i64>(0).unwrap(),
                r.try_get_by_index::<i64>(1).unwrap(),
            ),
            r.try_get_by_index::<i64>(2).unwrap(),
        )
    })
    .collect()
}

#[rocket::async_test]
async fn the_demo_seed_takes_rolls_and_decliners_miss_more_than_others() {
    crate::common::on_each_backend_with(false, |app| async move {
        let db = app.db();
        let hash = srm::auth::password::hash_blocking(
            "demo-pass-1",
            srm::auth::password::HashCost {
                memory_kib: 256,
                iterations: 1,
            },
        )
        .unwrap();
        let opts = srm::seed::DemoOptions {
            students: 600,
            password_hash: hash,
            out_dir: app.dir.join("demo"),
            seed: srm::seed::DEFAULT_SEED,
        };
        let started = std::time::Instant::now();
        srm::seed::seed_demo(db, &opts).await.unwrap().expect("seeded");
        eprintln!("seeded 600 students in {:?}", started.elapsed());
        let rolls = attendance_rolls::Entity::find().count(db).await.unwrap();
        assert!(rolls > 1000, "{rolls} rolls");
        // No roll after today, and no mark without its roll or of a student not enrolled.
        let late_rolls = attendance_rolls::Entity::find()
            .filter(attendance_rolls::Column::HeldOn.gt(today() + Duration::days(1)))
            .count(db)
            .await
            .unwrap();
        assert_eq!(late_rolls, 0);
        let orphans = per_student_term(
            db,
            "SELECT CAST(0 AS BIGINT), CAST(0 AS BIGINT), COUNT(*) FROM attendance a WHERE NOT EXISTS (SELECT 1 FROM attendance_rolls r \
             WHERE r.section_id = a.section_id AND r.held_on = a.held_on) OR NOT EXISTS (SELECT 1 FROM \
             enrolments e WHERE e.section_id = a.section_id AND e.student_id = a.student_id AND e.status = 'enrolled')",
        )
        .await;
        assert_eq!(orphans.get(&(0, 0)), Some(&0));

        let absences = per_student_term(
            db,
            "SELECT a.student_id, t.seq, COUNT(*) FROM attendance a JOIN sections s ON s.id = a.section_id \
             JOIN terms t ON t.id = s.term_id WHERE a.status = 'absent' GROUP BY a.student_id, t.seq",
        )
        .await;
        let held = per_student_term(
            db,
            "SELECT e.student_id, t.seq, COUNT(*) FROM enrolments e JOIN attendance_rolls r ON r.section_id = e.section_id \
             JOIN sections s ON s.id = e.section_id JOIN terms t ON t.id = s.term_id WHERE e.status = 'enrolled' \
             GROUP BY e.student_id, t.seq",
        )
        .await;
        let list = std::fs::read_to_string(srm::seed::decliners_file(&opts.out_dir)).unwrap();
        let decline_from: std::collections::HashMap<String, i64> = list
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (no, seq) = l.split_once(',')?;
                Some((no.to_string(), seq.trim().parse().ok()?))
            })
            .collect();
        let numbers: std::collections::HashMap<i64, String> = students::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.student_no))
            .collect();
        // Absences per meeting held: decliners from their decline term on, against everyone
        // else.
        let (mut d, mut o) = ((0i64, 0i64), (0i64, 0i64));
        for ((student, seq), n) in &held {
            let a = absences.get(&(*student, *seq)).copied().unwrap_or(0);
            let declining = numbers
                .get(student)
                .and_then(|no| decline_from.get(no))
                .is_some_and(|from| seq >= from);
            let acc = if declining { &mut d } else { &mut o };
            acc.0 += a;
            acc.1 += n;
        }
        assert!(d.1 > 0 && o.1 > 0, "{d:?} {o:?}");
        let (rd, ro) = (d.0 as f64 / d.1 as f64, o.0 as f64 / o.1 as f64);
        eprintln!("absent per meeting: decliners {rd:.3}, others {ro:.3}");
        assert!(rd > 2.0 * ro, "decliners {rd:.3} vs others {ro:.3}");
        assert!((0.02..0.2).contains(&ro), "others miss {ro:.3} of meetings");
    })
    .await;
}

/// A multipart upload of `file` to the attendance import page.
fn upload(csrf: &str, file: &[u8], dry_run: bool) -> (ContentType, Vec<u8>) {
    let dry_run = dry_run.to_string();
    multipart(
        &[("_csrf", csrf), ("dry_run", &dry_run)],
        &[("file", "a.csv", file)],
    )
}

/// Imports through the page; returns the report page's path and its English text.
async fn import_file(app: &TestApp, csrf: &str, file: &[u8], dry_run: bool) -> (String, String) {
    let (ct, body) = upload(csrf, file, dry_run);
    let res = app
        .client
        .post("/attendance/import")
        .header(ct)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let to = res.headers().get_one("Location").unwrap().to_string();
    let page = app
        .client
        .get(to.clone())
        .header(rocket::http::Header::new("Accept-Language", "en"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    (to, page)
}

fn count(page: &str, label: &str, n: u64) -> bool {
    page.contains(&format!("<dt>{label}</dt><dd>{n}</dd>"))
}

#[rocket::async_test]
async fn the_csv_import_is_idempotent_reports_bad_rows_with_line_and_reason_and_reads_gbk() {
    on_each_backend(|app| async move {
        meets_weekly(&app).await;
        let p = app.people.clone();
        let (w1, w2) = (today() - Duration::days(7), today() - Duration::days(14));
        let text = format!(
            "学号;教学班;日期;考勤\n\
             2025000001;CS101-01;{w1};缺勤\n\
             2025000002;CS101-01;{w1};出勤\n\
             2025000001;CS101-01;{w2};迟到\n\
             2099999999;CS101-01;{w1};缺勤\n\
             2025000001;CS101-01;{};缺勤\n\
             2025000001;CS101-01;{};缺勤\n\
             2025000001;CS101-01;{w1};请假\n\
             2025000002;CS101-01;{w2};睡觉\n\
             =HYPERLINK(1);CS101-01;{w1};absent\n",
            today() - Duration::days(1),
            today() + Duration::days(7),
        );
        let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
        assert!(!lossy);
        let csrf = app.page_login(p.admin).await;

        // A dry run counts and writes nothing.
        let (_, page) = import_file(&app, &csrf, &gbk, true).await;
        assert!(count(&page, "Meetings added", 2), "{page}");
        assert!(count(&page, "Marks added", 2));
        assert!(count(&page, "Refused", 6));
        assert!(page.contains("GBK"), "{page}");
        assert_eq!(attendance_rolls::Entity::find().count(app.db()).await.unwrap(), 0);
        assert_eq!(attendance::Entity::find().count(app.db()).await.unwrap(), 0);

        let (report, page) = import_file(&app, &csrf, &gbk, false).await;
        assert!(count(&page, "Meetings added", 2), "{page}");
        assert!(count(&page, "Marks added", 2));
        assert!(count(&page, "Unchanged", 1));
        for reason in [
            "No student has the number 2099999999.",
            &format!("The section does not meet on {}.", today() - Duration::days(1)),
            &format!("{} is in the future.", today() + Duration::days(7)),
            "The same student and meeting as line 2.",
            "睡觉 is not present, absent, late or excused",
        ] {
            assert!(page.contains(reason), "{reason}: {page}");
        }
        assert_eq!(
            marks_of(&app, w1).await,
            vec![(p.student_record, "absent".to_string())]
        );
        assert_eq!(
            marks_of(&app, w2).await,
            vec![(p.student_record, "late".to_string())]
        );
        // The refused rows download as CSV: the file's columns, the line and the reason, and a
        // cell that would be a formula neutralised.
        let csv = app
            .client
            .get(format!("{report}/rejected.csv"))
            .header(rocket::http::Header::new("Accept-Language", "en"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(csv.contains("学号,教学班,日期,考勤,error_line,error_reason"), "{csv}");
        assert!(csv.contains("2099999999,CS101-01"));
        assert!(csv.contains("'=HYPERLINK(1)"), "{csv}");
        assert_eq!(csv.lines().count(), 7, "{csv}");

        // Importing the same file again changes nothing.
        let (_, page) = import_file(&app, &csrf, &gbk, false).await;
        assert!(count(&page, "Meetings added", 0), "{page}");
        assert!(count(&page, "Marks added", 0));
        assert!(count(&page, "Marks changed", 0));
        assert!(count(&page, "Unchanged", 3));
        assert_eq!(attendance_rolls::Entity::find().count(app.db()).await.unwrap(), 2);
        assert_eq!(attendance::Entity::find().count(app.db()).await.unwrap(), 2);

        // A later file corrects a mark; course and term name the section too.
        let fix = format!("student_no,course_code,term_code,date,status\n2025000001,CS101,2026-fall,{w1},present\n");
        let (_, page) = import_file(&app, &csrf, fix.as_bytes(), false).await;
        assert!(count(&page, "Marks removed (now present)", 1), "{page}");
        assert!(marks_of(&app, w1).await.is_empty());
        // A teacher may not import.
        app.page_logout().await;
        let csrf = app.page_login(p.teacher).await;
        let (ct, body) = upload(&csrf, fix.as_bytes(), false);
        let res = app.client.post("/attendance/import").header(ct).body(body).dispatch().await;
        assert_eq!(res.status(), Status::Forbidden);
    })
    .await;
}
