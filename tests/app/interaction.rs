//! The interaction module's tests, and its rows of the route × role matrix.

use crate::access_matrix::{Ids, Request, Table};
use crate::common::{TestApp, on_each_backend};
use chrono::{Duration, Utc};
use rocket::http::{ContentType, Method, Status};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use srm::entity::{cases, settings};

/// This module's routes for `access_matrix` (same letters as there).
pub const MATRIX: Table = Table {
    rows: &[
        ("GET", "/cases", "LAAAF"),
        ("POST", "/cases", "LAFFF"),
        ("GET", "/cases/<id>", "LAAAA"),
        ("POST", "/cases/<id>", "LAAAA"),
        ("GET", "/cases/report", "LFFAF"),
        ("GET", "/messages", "LAAAF"),
        ("POST", "/messages", "LAAAF"),
        ("GET", "/messages/<id>", "LAAAF"),
        ("POST", "/messages/<id>", "LAAAF"),
        ("GET", "/notifications", "LAAAF"),
        ("POST", "/notifications/read", "LAAAF"),
        ("POST", "/api/v1/cases", "LAFFF"),
        ("GET", "/api/v1/cases", "LAAAA"),
        ("GET", "/api/v1/cases/<id>", "LAAAA"),
        ("POST", "/api/v1/cases/<id>/actions", "LAAAA"),
        ("GET", "/api/v1/cases/report", "LFFAF"),
        ("GET", "/api/v1/conversations", "LAAAF"),
        ("POST", "/api/v1/conversations", "LAAAF"),
        ("GET", "/api/v1/conversations/<id>", "LAAAF"),
        ("POST", "/api/v1/conversations/<id>/messages", "LAAAF"),
        ("GET", "/api/v1/notifications", "LAAAF"),
        ("POST", "/api/v1/notifications/read", "LAAAF"),
        ("GET", "/api/v1/segments", "LAAAF"),
        ("POST", "/api/v1/segments", "LFAAF"),
        ("GET", "/announcements", "LAAAA"),
        ("POST", "/announcements", "LFFAF"),
        ("GET", "/api/v1/announcements", "LAAAA"),
        ("POST", "/api/v1/announcements", "LFFAF"),
        ("GET", "/feedback", "LAAAA"),
        ("GET", "/feedback/<id>", "LAAAA"),
        ("POST", "/feedback/<id>", "LAFFF"),
        ("GET", "/api/v1/feedback/<id>", "LAAAA"),
        ("POST", "/api/v1/feedback/<id>", "LAFFF"),
        ("GET", "/care", "LFAAF"),
        ("POST", "/care", "LFAAF"),
        ("GET", "/care/effect", "LFAAF"),
        ("GET", "/api/v1/care/worklist", "LFAAF"),
        ("POST", "/api/v1/interventions", "LFAAF"),
        ("GET", "/api/v1/care/effect", "LFAAF"),
        ("GET", "/care/referrals", "LFAAF"),
        ("POST", "/care/referrals", "LFAAF"),
        ("GET", "/api/v1/care/referrals", "LFAAF"),
    ],
    request,
};

/// Ids that do not exist and bodies that are invalid, so the matrix writes nothing.
fn request(method: &str, pattern: &str, _ids: &Ids) -> Option<Request> {
    let path = pattern.replace("<id>", "999999");
    let form = |s: &str| Some((ContentType::Form, s.to_string()));
    let json = |s: &str| Some((ContentType::JSON, s.to_string()));
    let body = match (method, pattern) {
        ("POST", "/api/v1/cases") => json(r#"{"category":"nonsense","subject":"","body":""}"#),
        ("POST", "/api/v1/cases/<id>/actions") => json(r#"{"action":"take"}"#),
        ("POST", p) if p.starts_with("/api/") => json("{}"),
        ("POST", _) => form(""),
        _ => None,
    };
    Some((path, body))
}

async fn set_setting(app: &TestApp, key: &str, value: &str) {
    let now = Utc::now().fixed_offset();
    let existing = settings::Entity::find_by_id(key.to_string())
        .one(app.db())
        .await
        .unwrap();
    let m = settings::ActiveModel {
        key: Set(key.to_string()),
        value: Set(value.to_string()),
        updated_at: Set(now),
    };
    if existing.is_some() {
        m.update(app.db()).await.unwrap();
    } else {
        m.insert(app.db()).await.unwrap();
    }
}

async fn open_case(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = app
        .send_json(Method::Post, "/api/v1/cases", Some(token), body)
        .await;
    assert_eq!(s, Status::Created, "{v}");
    v["id"].as_i64().unwrap()
}

async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> (Status, Value) {
    app.send_json(
        Method::Post,
        &format!("/api/v1/cases/{id}/actions"),
        Some(token),
        body,
    )
    .await
}

async fn department_id(app: &TestApp) -> i64 {
    srm::entity::departments::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .id
}

#[rocket::async_test]
async fn cases_are_routed_to_queues_by_category_and_department_as_the_rules_say() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let st = app.token(p.student).await;
        let admin = app.token(p.admin).await;
        let dept = department_id(&app).await;
        let queue = |id: i64| {
            let admin = admin.clone();
            let app = &app;
            async move { app.get_json(&format!("/api/v1/cases/{id}"), Some(&admin)).await.1["queue"].clone() }
        };
        let c1 = open_case(&app, &st, json!({"category": "complaint", "subject": "s", "body": "b", "department_id": dept})).await;
        let c2 = open_case(&app, &st, json!({"category": "inquiry", "subject": "s", "body": "b", "department_id": dept})).await;
        let c3 = open_case(&app, &st, json!({"category": "suggestion", "subject": "s", "body": "b"})).await;
        assert_eq!(queue(c1).await, json!("complaints"));
        assert_eq!(queue(c2).await, json!(format!("dept-{dept}")));
        assert_eq!(queue(c3).await, json!("student-services"));
        // A case about a course goes to the course's department, also from the page form.
        let course = srm::entity::sections::Entity::find_by_id(p.section)
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .course_id;
        let c6 = open_case(
            &app,
            &st,
            json!({"category": "inquiry", "subject": "s", "body": "b", "about": "course", "course_id": course}),
        )
        .await;
        assert_eq!(queue(c6).await, json!(format!("dept-{dept}")));
        let csrf = app.page_login(p.student).await;
        let form = format!("category=inquiry&about=course&course_id={course}&subject=Exam&body=When%3F");
        let res = app.client.post("/cases").header(ContentType::Form).body(form.clone()).dispatch().await;
        assert_eq!(res.status(), Status::Forbidden, "no CSRF token");
        let res = app
            .client
            .post("/cases")
            .header(ContentType::Form)
            .body(format!("{form}&_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let res = app
            .client
            .post("/cases")
            .header(ContentType::Form)
            .body(format!("category=inquiry&subject=&body=&_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "the form comes back with its error");
        // The rules are data: a new rule sends every inquiry to the registry.
        set_setting(&app, "cases.routing", r#"[{"category":"inquiry","department":"*","queue":"registry"},{"category":"*","department":"*","queue":"other"}]"#).await;
        let c4 = open_case(&app, &st, json!({"category": "inquiry", "subject": "s", "body": "b", "department_id": dept})).await;
        let c5 = open_case(&app, &st, json!({"category": "complaint", "subject": "s", "body": "b"})).await;
        assert_eq!(queue(c4).await, json!("registry"));
        assert_eq!(queue(c5).await, json!("other"));
        // Bad input is a clear 422, and only students open cases.
        let (s, v) = app.send_json(Method::Post, "/api/v1/cases", Some(&st), json!({"category": "rant", "subject": "s", "body": "b"})).await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert_eq!(v["error"]["code"], "invalid_category");
        let (s, _) = app.send_json(Method::Post, "/api/v1/cases", Some(&admin), json!({"category": "inquiry", "subject": "s", "body": "b"})).await;
        assert_eq!(s, Status::Forbidden);
    })
    .await;
}

#[rocket::async_test]
async fn a_case_goes_through_its_whole_life_with_its_timings_and_one_rating() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let st = app.token(p.student).await;
        let other = app.token(p.other_student).await;
        let teacher = app.token(p.teacher).await;
        let admin = app.token(p.admin).await;
        let id = open_case(&app, &st, json!({"category": "complaint", "subject": "Lab closed <b>", "body": "line1\nline2", "about": "service"})).await;
        // Pretend it was opened five hours ago and is past its due time.
        let m = cases::Entity::find_by_id(id).one(app.db()).await.unwrap().unwrap();
        let mut am: cases::ActiveModel = m.into();
        am.created_at = Set(Utc::now().fixed_offset() - Duration::hours(5));
        am.due_at = Set(Utc::now().fixed_offset() - Duration::hours(1));
        am.update(app.db()).await.unwrap();

        // Others see nothing: 404, not 403.
        for t in [&other, &teacher] {
            let (s, _) = app.get_json(&format!("/api/v1/cases/{id}"), Some(t)).await;
            assert_eq!(s, Status::NotFound);
            let (s, _) = act(&app, t, id, json!({"action": "reply", "body": "hi"})).await;
            assert_eq!(s, Status::NotFound);
        }
        let (_, list) = app.get_json("/api/v1/cases", Some(&other)).await;
        assert_eq!(list["total"], 0);
        let (_, list) = app.get_json("/api/v1/cases", Some(&st)).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["overdue"], true);
        // The student cannot handle their own case.
        let (s, _) = act(&app, &st, id, json!({"action": "close"})).await;
        assert_eq!(s, Status::Forbidden);
        // Rating before closing is refused.
        let (s, _) = act(&app, &st, id, json!({"action": "rate", "rating": 5})).await;
        assert_eq!(s, Status::Conflict);

        let (s, v) = act(&app, &admin, id, json!({"action": "take"})).await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["status"], "in_progress");
        assert_eq!(v["assigned_to"], p.admin);
        let (s, v) = act(&app, &admin, id, json!({"action": "reply", "body": "We are on it."})).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(v["status"], "answered");
        let first = v["hours_to_first_answer"].as_f64().unwrap();
        assert!((first - 5.0).abs() < 0.2, "about five hours to the first answer, got {first}");
        // The student sees the status and the reply, and replies back.
        let (s, v) = app.get_json(&format!("/api/v1/cases/{id}"), Some(&st)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(v["status"], "answered");
        assert!(v["events"].as_array().unwrap().iter().any(|e| e["body"] == "We are on it."));
        let (s, v) = act(&app, &st, id, json!({"action": "reply", "body": "Thanks, still closed."})).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(v["status"], "open");
        // A second staff answer does not move the first-answer time.
        act(&app, &admin, id, json!({"action": "reply", "body": "Fixed now."})).await;
        let (s, v) = act(&app, &admin, id, json!({"action": "close", "body": "Resolved"})).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(v["status"], "closed");
        assert_eq!(v["hours_to_first_answer"].as_f64().unwrap(), first);
        let close = v["hours_to_close"].as_f64().unwrap();
        assert!((close - 5.0).abs() < 0.2);
        assert_eq!(v["overdue"], false, "a closed case is not overdue");
        let kinds: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["opened", "taken", "reply", "reply", "reply", "closed"]);
        let (s, _) = act(&app, &admin, id, json!({"action": "reply", "body": "late"})).await;
        assert_eq!(s, Status::Conflict);

        // One rating, by the student only, 1 to 5.
        let (s, _) = act(&app, &st, id, json!({"action": "rate", "rating": 6})).await;
        assert_eq!(s, Status::UnprocessableEntity);
        let (s, _) = act(&app, &admin, id, json!({"action": "rate", "rating": 4})).await;
        assert_eq!(s, Status::Forbidden);
        let (s, v) = act(&app, &st, id, json!({"action": "rate", "rating": 4, "comment": "ok"})).await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["rating"]["rating"], 4);
        assert_eq!(v["can_rate"], false);
        let (s, v) = act(&app, &st, id, json!({"action": "rate", "rating": 1})).await;
        assert_eq!(s, Status::Conflict);
        assert_eq!(v["error"]["code"], "already_rated");

        // The student was notified of the answer and the closing.
        let (_, n) = app.get_json("/api/v1/notifications", Some(&st)).await;
        assert_eq!(n["total"], 3, "two answers and the closing");
        // The report counts it with its timings; every step is audited.
        let (s, r) = app.get_json("/api/v1/cases/report", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(r[0]["opened"], 1);
        assert_eq!(r[0]["closed"], 1);
        assert_eq!(r[0]["mean_rating"], 4.0);
        assert_eq!(r[0]["top_topics"][0][0], "complaint/service");
        for a in ["cases.open", "cases.take", "cases.reply", "cases.close", "cases.rate"] {
            assert!(app.audit_count(a, "ok").await >= 1, "{a} audited");
        }
        // The page escapes the text and keeps its line breaks.
        app.page_login(p.student).await;
        let html = app.client.get(format!("/cases/{id}")).dispatch().await.into_string().await.unwrap();
        assert!(html.contains("Lab closed &lt;b&gt;"));
        assert!(html.contains("line1<br>line2"));
    })
    .await;
}

#[rocket::async_test]
async fn case_queues_follow_the_handlers_permission_and_membership() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let st = app.token(p.student).await;
        let admin = app.token(p.admin).await;
        let dept = department_id(&app).await;
        let complaint = open_case(&app, &st, json!({"category": "complaint", "subject": "s", "body": "b"})).await;
        let inquiry = open_case(&app, &st, json!({"category": "inquiry", "subject": "s", "body": "b", "department_id": dept})).await;
        // Give the auditors cases.handle, and put the auditor in the complaints queue only.
        let (s, _) = app.send_json(Method::Put, &format!("/api/v1/groups/{}", p.custom_group), Some(&admin),
            json!({"code": "auditors", "name": "Auditors", "permissions": ["audit.view", "cases.handle"]})).await;
        assert_eq!(s, Status::Ok);
        set_setting(&app, "cases.queues", &format!(r#"{{"complaints":[{}]}}"#, p.auditor)).await;
        let aud = app.token(p.auditor).await;
        let (_, list) = app.get_json("/api/v1/cases", Some(&aud)).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], complaint);
        assert_eq!(app.get_json(&format!("/api/v1/cases/{inquiry}"), Some(&aud)).await.0, Status::NotFound);
        assert_eq!(app.get_json(&format!("/api/v1/cases/{complaint}"), Some(&aud)).await.0, Status::Ok);
        // The admin works every queue; a teacher none.
        let (_, list) = app.get_json("/api/v1/cases", Some(&admin)).await;
        assert_eq!(list["total"], 2);
        let teacher = app.token(p.teacher).await;
        let (_, list) = app.get_json("/api/v1/cases", Some(&teacher)).await;
        assert_eq!(list["total"], 0);
        // Reassigning moves it out of the auditor's reach.
        let (s, v) = act(&app, &aud, complaint, json!({"action": "reassign", "queue": "registry"})).await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(app.get_json(&format!("/api/v1/cases/{complaint}"), Some(&aud)).await.0, Status::NotFound);
        assert_eq!(app.get_json(&format!("/api/v1/cases/{complaint}"), Some(&admin)).await.1["queue"], "registry");
    })
    .await;
}

#[rocket::async_test]
async fn conversations_are_scoped_to_their_members_and_allowed_contacts() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let st = app.token(p.student).await;
        let other = app.token(p.other_student).await;
        let teacher = app.token(p.teacher).await;
        let other_teacher = app.token(p.other_teacher).await;
        // A student writes to their own teacher, not to another teacher.
        let (s, v) = app.send_json(Method::Post, "/api/v1/conversations", Some(&st),
            json!({"to_user_id": p.teacher, "subject": "Question", "body": "<script>x</script>\nthanks"})).await;
        assert_eq!(s, Status::Created, "{v}");
        let cid = v["id"].as_i64().unwrap();
        let (s, _) = app.send_json(Method::Post, "/api/v1/conversations", Some(&st),
            json!({"to_user_id": p.other_teacher, "subject": "Q", "body": "b"})).await;
        assert_eq!(s, Status::UnprocessableEntity);
        // A teacher writes to students in scope only.
        let (s, _) = app.send_json(Method::Post, "/api/v1/conversations", Some(&teacher),
            json!({"student_id": p.other_student_record, "subject": "Q", "body": "b"})).await;
        assert_eq!(s, Status::UnprocessableEntity);
        let (s, _) = app.send_json(Method::Post, "/api/v1/conversations", Some(&other_teacher),
            json!({"section_id": p.section, "subject": "Q", "body": "b"})).await;
        assert_eq!(s, Status::UnprocessableEntity, "not their section");
        let (s, v) = app.send_json(Method::Post, "/api/v1/conversations", Some(&teacher),
            json!({"section_id": p.section, "subject": "Room change", "body": "A102 from Monday"})).await;
        assert_eq!(s, Status::Created);
        assert_eq!(v["recipients"], 1, "the one enrolled student");

        // The teacher has unread mail; the menu says so with one count.
        let (_, list) = app.get_json("/api/v1/conversations", Some(&teacher)).await;
        assert_eq!(list["total"], 2);
        let row = list["items"].as_array().unwrap().iter().find(|c| c["id"] == cid).unwrap().clone();
        assert_eq!(row["unread"], true);
        // Non-members get 404; lists show only one's own.
        for t in [&other, &other_teacher] {
            assert_eq!(app.get_json(&format!("/api/v1/conversations/{cid}"), Some(t)).await.0, Status::NotFound);
            let (s, _) = app.send_json(Method::Post, &format!("/api/v1/conversations/{cid}/messages"), Some(t), json!({"body": "hi"})).await;
            assert_eq!(s, Status::NotFound);
            assert_eq!(app.get_json("/api/v1/conversations", Some(t)).await.1["total"], 0);
        }
        let (_, v) = app.get_json(&format!("/api/v1/conversations/{cid}"), Some(&teacher)).await;
        assert_eq!(v["messages"][0]["body"], "<script>x</script>\nthanks");
        let (s, _) = app.send_json(Method::Post, &format!("/api/v1/conversations/{cid}/messages"), Some(&teacher), json!({"body": "Sure"})).await;
        assert_eq!(s, Status::Created);
        let (_, list) = app.get_json("/api/v1/conversations", Some(&teacher)).await;
        assert!(list["items"].as_array().unwrap().iter().all(|c| c["id"] != cid || c["unread"] == false));
        // The student: two unread conversations, shown in the menu; the page escapes.
        app.page_login(p.student).await;
        let html = app.client.get("/messages").dispatch().await.into_string().await.unwrap();
        assert!(html.contains("(2)"), "unread count in the menu");
        let html = app.client.get(format!("/messages/{cid}")).dispatch().await.into_string().await.unwrap();
        assert!(html.contains("&lt;script&gt;x&lt;&#x2F;script&gt;<br>thanks"));
        assert!(!html.contains("<script>x"));
        let html = app.client.get("/messages").dispatch().await.into_string().await.unwrap();
        assert!(html.contains("(1)"), "one left unread");
        assert!(app.audit_count("messages.start", "ok").await >= 2);
    })
    .await;
}

#[rocket::async_test]
async fn staff_message_a_saved_segment_of_their_students() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let teacher = app.token(p.teacher).await;
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/segments",
                Some(&admin),
                json!({"name": "Cohort 2025", "filter": {"cohort": 2025}}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        let seg = v["id"].as_i64().unwrap();
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/conversations",
                Some(&admin),
                json!({"segment_id": seg, "subject": "Welcome", "body": "Hello"}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        assert_eq!(v["recipients"], 2);
        // Someone else's segment cannot be used.
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/conversations",
                Some(&teacher),
                json!({"segment_id": seg, "subject": "Welcome", "body": "Hello"}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
        // A teacher's segment resolves within their scope only.
        let (_, v) = app
            .send_json(
                Method::Post,
                "/api/v1/segments",
                Some(&teacher),
                json!({"name": "mine", "filter": {"cohort": 2025}}),
            )
            .await;
        let (_, v) = app
            .send_json(
                Method::Post,
                "/api/v1/conversations",
                Some(&teacher),
                json!({"segment_id": v["id"], "subject": "Hi", "body": "Hello"}),
            )
            .await;
        assert_eq!(v["recipients"], 1);
        let st = app.token(p.other_student).await;
        let (_, n) = app.get_json("/api/v1/conversations", Some(&st)).await;
        assert_eq!(n["total"], 1);
    })
    .await;
}

#[rocket::async_test]
async fn announcements_reach_the_people_they_concern_once_published() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let dept = department_id(&app).await;
        let other_dept = srm::entity::departments::ActiveModel {
            code: Set("MA".into()),
            name_zh: Set("数学".into()),
            name_en: Set("Mathematics".into()),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap()
        .id;
        let future = (Utc::now() + Duration::days(3)).to_rfc3339();
        for (scope, extra, title) in [
            ("university", json!({}), "All: library hours"),
            ("department", json!({"department_id": dept}), "CS: seminar"),
            (
                "department",
                json!({"department_id": other_dept}),
                "Maths: seminar",
            ),
            (
                "section",
                json!({"section_id": p.section}),
                "CS101: room <change>",
            ),
            (
                "university",
                json!({"publish_at": future}),
                "Later: holiday",
            ),
        ] {
            let mut body =
                json!({"scope": scope, "title_zh": title, "title_en": title, "body": "text"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let (s, v) = app
                .send_json(Method::Post, "/api/v1/announcements", Some(&admin), body)
                .await;
            assert_eq!(s, Status::Created, "{v}");
        }
        let titles = |v: Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["title_en"].as_str().unwrap().to_string())
                .collect()
        };
        let st = app.token(p.student).await;
        let mut seen = titles(app.get_json("/api/v1/announcements", Some(&st)).await.1);
        seen.sort();
        assert_eq!(
            seen,
            ["All: library hours", "CS101: room <change>", "CS: seminar"]
        );
        let other = app.token(p.other_student).await;
        let mut seen = titles(app.get_json("/api/v1/announcements", Some(&other)).await.1);
        seen.sort();
        assert_eq!(seen, ["All: library hours", "CS: seminar"]);
        let teacher = app.token(p.teacher).await;
        let mut seen = titles(
            app.get_json("/api/v1/announcements", Some(&teacher))
                .await
                .1,
        );
        seen.sort();
        assert_eq!(seen, ["All: library hours", "CS101: room <change>"]);
        // Only managers publish; bad input is a 422.
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/announcements",
                Some(&teacher),
                json!({"scope": "university", "title_zh": "x", "body": "y"}),
            )
            .await;
        assert_eq!(s, Status::Forbidden);
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/announcements",
                Some(&admin),
                json!({"scope": "galaxy", "title_zh": "x", "body": "y"}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
        // The student's dashboard shows them, escaped.
        app.page_login(p.student).await;
        let html = app
            .client
            .get("/dashboard")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(html.contains("CS101: room &lt;change&gt;"));
        assert!(!html.contains("Maths: seminar") && !html.contains("Later: holiday"));
    })
    .await;
}

async fn open_feedback_window(app: &TestApp) {
    use srm::entity::terms;
    for t in terms::Entity::find().all(app.db()).await.unwrap() {
        let mut am: terms::ActiveModel = t.into();
        am.ends_on = Set(Utc::now().date_naive() + Duration::days(3));
        am.update(app.db()).await.unwrap();
    }
}

async fn close_feedback_window(app: &TestApp) {
    use srm::entity::terms;
    for t in terms::Entity::find().all(app.db()).await.unwrap() {
        let mut am: terms::ActiveModel = t.into();
        am.ends_on = Set(Utc::now().date_naive() - Duration::days(15));
        am.update(app.db()).await.unwrap();
    }
}

async fn enrol(app: &TestApp, student: i64, section: i64) {
    let now = Utc::now().fixed_offset();
    srm::entity::enrolments::ActiveModel {
        student_id: Set(student),
        section_id: Set(section),
        status: Set(srm::entity::enrolments::EnrolmentStatus::Enrolled),
        waitlist_position: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        dropped_at: Set(None),
        override_reason: Set(None),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .unwrap();
}

#[rocket::async_test]
async fn course_feedback_is_anonymous_and_hidden_below_the_threshold() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let st = app.token(p.student).await;
        let other = app.token(p.other_student).await;
        let teacher = app.token(p.teacher).await;
        let other_teacher = app.token(p.other_teacher).await;
        let path = format!("/api/v1/feedback/{}", p.section);
        let answers = json!({"teaching": 5, "content": 4, "workload": 3, "overall": 5, "comment": "Great <labs>"});
        // Closed in the middle of the term.
        let (s, v) = app.send_json(Method::Post, &path, Some(&st), answers.clone()).await;
        assert_eq!(s, Status::Conflict);
        assert_eq!(v["error"]["code"], "feedback_closed");
        open_feedback_window(&app).await;
        // A setting below 5 is not honoured: five answers at least, whatever is stored.
        set_setting(&app, "feedback.min_responses", "2").await;
        // Only students of the section, once each, with scores 1–5.
        assert_eq!(app.send_json(Method::Post, &path, Some(&other), answers.clone()).await.0, Status::NotFound);
        assert_eq!(app.send_json(Method::Post, &path, Some(&st), json!({"teaching": 9})).await.0, Status::UnprocessableEntity);
        assert_eq!(app.send_json(Method::Post, &path, Some(&st), answers.clone()).await.0, Status::Created);
        let (s, v) = app.send_json(Method::Post, &path, Some(&st), answers.clone()).await;
        assert_eq!(s, Status::Conflict);
        assert_eq!(v["error"]["code"], "already_answered");
        // Below the threshold the teacher sees only the count.
        let (s, r) = app.get_json(&path, Some(&teacher)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(r["responses"], 1);
        assert_eq!(r["threshold"], 5);
        assert_eq!(r["shown"], false);
        assert_eq!(r["questions"], json!([]));
        assert_eq!(r["comments"], json!([]));
        // Nobody else sees the results.
        for t in [&other_teacher, &st] {
            assert_eq!(app.get_json(&path, Some(t)).await.0, Status::NotFound);
        }
        // Five answers, but the survey is still open: nothing shown live.
        enrol(&app, p.other_student_record, p.section).await;
        let (s, _) = app.send_json(Method::Post, &path, Some(&other),
            json!({"teaching": 3, "content": 2, "workload": 3, "overall": 4, "comment": "Also fine"})).await;
        assert_eq!(s, Status::Created);
        for i in 0..3 {
            let (user, record) = crate::common::extra_student(&app, &format!("20259000{i:02}")).await;
            enrol(&app, record, p.section).await;
            let t = app.token(user).await;
            let quiet = json!({"teaching": 5, "content": 4, "workload": 3, "overall": 5});
            assert_eq!(app.send_json(Method::Post, &path, Some(&t), quiet).await.0, Status::Created);
        }
        let (_, r) = app.get_json(&path, Some(&teacher)).await;
        assert_eq!((r["responses"].clone(), r["shown"].clone()), (json!(5), json!(false)), "{r}");
        // Once the survey has closed: means, counts and comments, and nothing that names a student.
        close_feedback_window(&app).await;
        let (_, r) = app.get_json(&path, Some(&teacher)).await;
        assert_eq!(r["shown"], true);
        assert_eq!(r["responses"], 5);
        let q = |code: &str| r["questions"].as_array().unwrap().iter().find(|q| q["code"] == code).unwrap().clone();
        assert_eq!(q("teaching")["mean"], 4.6);
        assert_eq!(q("content")["mean"], 3.6);
        assert_eq!(q("overall")["counts"], json!([0, 0, 0, 1, 4]));
        assert_eq!(r["comments"], json!(["Also fine", "Great <labs>"]));
        let text = r.to_string();
        assert!(!text.contains("student") && !text.contains(&TestApp::username(p.student)));
        // The page draws the charts and escapes the comments.
        app.page_login(p.teacher).await;
        let html = app.client.get(format!("/feedback/{}", p.section)).dispatch().await.into_string().await.unwrap();
        assert!(html.contains("<svg") && html.contains("Great &lt;labs&gt;"));
        // The department report counts the section now it reached the threshold.
        let res = app.client.get("/cases/report").dispatch().await;
        assert_eq!(res.status(), Status::Forbidden, "teachers may not see the report");
        app.page_logout().await;
        app.page_login(p.admin).await;
        let html = app.client.get("/cases/report").dispatch().await.into_string().await.unwrap();
        assert!(html.contains("<td>4.8</td>"), "mean overall of 5, 4, 5, 5 and 5");
    })
    .await;
}

#[rocket::async_test]
async fn the_care_work_list_is_scoped_and_the_effect_report_gives_the_known_answer() {
    use srm::entity::{assessment_scores, assessments, risk_flags, students};
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let db = app.db();
        let now = Utc::now().fixed_offset();
        let t = now - Duration::weeks(10);
        let run = crate::common::finished_risk_run(db, t).await;
        let base = students::Entity::find_by_id(p.student_record).one(db).await.unwrap().unwrap();
        let a1 = assessments::ActiveModel { section_id: Set(p.section), name: Set("Quiz 1".into()), weight: Set(0.5),
            due_at: Set(Some(t - Duration::weeks(2))), max_score: Set(100.0), ..Default::default() }.insert(db).await.unwrap();
        let a2 = assessments::ActiveModel { section_id: Set(p.section), name: Set("Quiz 2".into()), weight: Set(0.5),
            due_at: Set(Some(t + Duration::weeks(2))), max_score: Set(50.0), ..Default::default() }.insert(db).await.unwrap();
        // (level, before %, after %, cared for)
        let cases = [("high", Some(50.0), Some(70.0), true), ("medium", Some(40.0), Some(50.0), true),
                     ("high", Some(60.0), Some(60.0), false), ("medium", Some(50.0), Some(40.0), false),
                     ("high", None, None, false)];
        let mut ids = Vec::new();
        for (i, (level, before, after, _)) in cases.iter().enumerate() {
            let mut s: students::ActiveModel = base.clone().into();
            s.id = sea_orm::ActiveValue::NotSet;
            s.user_id = Set(None);
            s.student_no = Set(format!("20259900{i:02}"));
            let sid = s.insert(db).await.unwrap().id;
            ids.push(sid);
            risk_flags::ActiveModel { run_id: Set(run.id), student_id: Set(sid), score: Set(80.0), level: Set(level.to_string()),
                reasons: Set(r#"{"factors":[{"zh":"成绩下降","en":"scores falling"}],"features":[],"traits":[]}"#.into()),
                cluster: Set(None), feedback: Set(None), feedback_by: Set(None), feedback_at: Set(None), ..Default::default() }
                .insert(db).await.unwrap();
            for (a, pct, max) in [(a1.id, before, 100.0), (a2.id, after, 50.0)] {
                if let Some(pct) = pct {
                    assessment_scores::ActiveModel { assessment_id: Set(a), student_id: Set(sid), score: Set(Some(pct / 100.0 * max)),
                        status: Set("scored".into()), submitted_at: Set(None), updated_at: Set(now), ..Default::default() }
                        .insert(db).await.unwrap();
                }
            }
        }
        // The teacher's own student is flagged too (no scores).
        crate::common::risk_flag(db, run.id, p.student_record, 55.0, "medium").await;

        let admin = app.token(p.admin).await;
        let teacher = app.token(p.teacher).await;
        let care_day = (t + Duration::weeks(1)).date_naive().to_string();
        for (i, c) in cases.iter().enumerate() {
            if c.3 {
                let (s, v) = app.send_json(Method::Post, "/api/v1/interventions", Some(&admin),
                    json!({"student_id": ids[i], "kind": "tutoring", "happened_on": care_day, "follow_up_on": care_day})).await;
                assert_eq!(s, Status::Created, "{v}");
            }
        }
        // Work lists: the admin sees every open flag, the teacher only their own student.
        let (_, w) = app.get_json("/api/v1/care/worklist", Some(&admin)).await;
        assert_eq!(w["total"], 6);
        assert_eq!(w["items"][0]["reasons"], json!(["scores falling"]));
        let (_, w) = app.get_json("/api/v1/care/worklist", Some(&teacher)).await;
        assert_eq!(w["total"], 1);
        assert_eq!(w["items"][0]["student_id"], p.student_record);
        // Teachers record care for their students only; students not at all.
        let (s, _) = app.send_json(Method::Post, "/api/v1/interventions", Some(&teacher),
            json!({"student_id": p.other_student_record, "kind": "meeting"})).await;
        assert_eq!(s, Status::NotFound);
        let (s, _) = app.send_json(Method::Post, "/api/v1/interventions", Some(&teacher),
            json!({"student_id": p.student_record, "kind": "coffee"})).await;
        assert_eq!(s, Status::UnprocessableEntity);
        let (s, _) = app.send_json(Method::Post, "/api/v1/interventions", Some(&teacher),
            json!({"student_id": p.student_record, "kind": "meeting", "notes": "talked <it> through"})).await;
        assert_eq!(s, Status::Created);
        let st = app.token(p.student).await;
        assert_eq!(app.get_json("/api/v1/care/worklist", Some(&st)).await.0, Status::Forbidden);

        // The effect: care +15 on average, no care −5: a difference of 20 points.
        let (s, e) = app.get_json("/api/v1/care/effect", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(e["flagged"], 6);
        assert_eq!(e["excluded_no_scores"], 2);
        assert_eq!(e["pending"], 0);
        let all = &e["comparisons"][0];
        assert_eq!(all["level"], "all");
        assert_eq!(all["care"], json!({"n": 2, "mean_before": 45.0, "mean_after": 60.0, "mean_change": 15.0}));
        assert_eq!(all["no_care"], json!({"n": 2, "mean_before": 55.0, "mean_after": 50.0, "mean_change": -5.0}));
        assert_eq!(all["difference"], 20.0);
        for level in [&e["comparisons"][1], &e["comparisons"][2]] {
            assert_eq!(level["care"]["n"], 1);
            assert_eq!(level["difference"], 20.0);
        }
        // The 360° view shows the care given, to staff; the page escapes notes.
        app.page_login(p.teacher).await;
        let html = app.client.get(format!("/students/{}", p.student_record)).dispatch().await.into_string().await.unwrap();
        assert!(html.contains("沟通与关怀") && html.contains("talked &lt;it&gt; through"));
        let html = app.client.get("/care/effect").dispatch().await.into_string().await.unwrap();
        assert!(html.contains("<svg") && html.contains("20"));
    })
    .await;
}

#[rocket::async_test]
async fn every_interaction_page_renders_for_each_role_in_both_languages() {
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let p = app.people.clone();
    let pages: &[(i64, &[&str])] = &[
        (
            p.student,
            &[
                "/cases",
                "/messages",
                "/notifications",
                "/announcements",
                "/feedback",
            ],
        ),
        (
            p.teacher,
            &[
                "/cases",
                "/messages",
                "/notifications",
                "/announcements",
                "/feedback",
                "/care",
                "/care/effect",
            ],
        ),
        (
            p.admin,
            &[
                "/cases",
                "/cases/report",
                "/messages",
                "/notifications",
                "/announcements",
                "/feedback",
                "/care",
                "/care/effect",
            ],
        ),
    ];
    for (user, paths) in pages {
        app.page_login(*user).await;
        for path in *paths {
            for lang in ["zh-CN", "en-US"] {
                let res = app
                    .client
                    .get(path.to_string())
                    .header(rocket::http::Header::new("Accept-Language", lang))
                    .dispatch()
                    .await;
                assert_eq!(res.status(), Status::Ok, "{path} as {user} in {lang}");
                let html = res.into_string().await.unwrap();
                assert!(
                    !html.contains("interaction."),
                    "{path}: an untranslated key"
                );
            }
        }
        app.page_logout().await;
    }
}

#[rocket::async_test]
async fn notifications_list_promotions_and_case_news_and_email_is_off_by_default() {
    use srm::entity::{notifications, users};
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let st = app.token(p.student).await;
        let admin = app.token(p.admin).await;
        let u = users::Entity::find_by_id(p.student)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let mut am: users::ActiveModel = u.into();
        am.email = Set(Some("li.hua@example.edu".into()));
        am.update(app.db()).await.unwrap();
        // What registration writes when a waitlisted student gets a seat.
        notifications::ActiveModel {
            user_id: Set(p.student),
            kind: Set("registration.promoted".into()),
            title: Set("You are now enrolled in CS101-01".into()),
            body: Set("A seat became free.".into()),
            link: Set(Some("/registrations".into())),
            created_at: Set(Utc::now().fixed_offset()),
            read_at: Set(None),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap();
        let id = open_case(
            &app,
            &st,
            json!({"category": "inquiry", "subject": "s", "body": "b"}),
        )
        .await;
        act(
            &app,
            &admin,
            id,
            json!({"action": "reply", "body": "first"}),
        )
        .await;
        assert_eq!(
            app.audit_count("notifications.email", "ok").await,
            0,
            "off by default"
        );
        set_setting(&app, "notifications.email", r#"on"#).await;
        act(
            &app,
            &admin,
            id,
            json!({"action": "reply", "body": "second"}),
        )
        .await;
        assert_eq!(
            app.audit_count("notifications.email", "ok").await,
            1,
            "queued in the outbox"
        );
        // The list page shows them with the unread count in the menu; reading clears it.
        app.page_login(p.student).await;
        let html = app
            .client
            .get("/notifications")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(html.contains("You are now enrolled in CS101-01"));
        assert!(html.contains("(3)"), "three unread in the menu");
        let csrf = app.page_csrf().await;
        let res = app
            .client
            .post("/notifications/read")
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        let (_, n) = app.get_json("/api/v1/notifications", Some(&st)).await;
        assert!(
            n["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| !x["read_at"].is_null())
        );
        let html = app
            .client
            .get("/notifications")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(!html.contains("(3)"));
    })
    .await;
}

#[rocket::async_test]
async fn switching_the_messages_module_off_hides_every_interaction_route() {
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let p = app.people.clone();
    let admin = app.token(p.admin).await;
    let (s, _) = app
        .send_json(
            Method::Put,
            "/api/v1/modules/messages",
            Some(&admin),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let st = app.token(p.student).await;
    for path in [
        "/api/v1/cases",
        "/api/v1/conversations",
        "/api/v1/announcements",
        "/api/v1/care/effect",
    ] {
        let tok = if path.contains("care") { &admin } else { &st };
        assert_eq!(
            app.get_json(path, Some(tok)).await.0,
            Status::NotFound,
            "{path}"
        );
    }
    app.page_login(p.student).await;
    let res = app.client.get("/dashboard").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap().replace("&#x2F;", "/");
    assert!(!html.contains("href=\"/cases\"") && !html.contains("href=\"/messages\""));
    // With the module on, the menu links are there.
    let (s, _) = app
        .send_json(
            Method::Put,
            "/api/v1/modules/messages",
            Some(&admin),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let html = app
        .client
        .get("/dashboard")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap()
        .replace("&#x2F;", "/");
    assert!(html.contains("href=\"/cases\"") && html.contains("href=\"/messages\""));
}

#[rocket::async_test]
async fn administrators_change_routing_and_thresholds_from_the_settings_page() {
    use rocket::http::{ContentType, Header, Status};
    let app = crate::common::TestApp::new(crate::common::Backend::Sqlite).await;
    let csrf = app.page_login(app.people.admin).await;
    let page = app
        .client
        .get("/cases/settings")
        .header(Header::new("Accept-Language", "en"))
        .dispatch()
        .await;
    assert_eq!(page.status(), Status::Ok);
    let page = page.into_string().await.unwrap();
    assert!(
        page.contains("student-services"),
        "the default rules are shown"
    );
    assert!(
        !page.contains("<textarea") && page.contains("name=\"rule_category\""),
        "settings are labelled fields, not JSON"
    );
    // Rules and queues are rows of labelled fields (category, department, queue; queue and
    // handlers by user name), not JSON.
    let post = |rule: (&str, &str), min: &str| {
        let e = srm::web::url_encode;
        format!(
            "_csrf={}&rule_category={}&rule_department=*&rule_queue={}&rule_category=*&rule_department=*&rule_queue=&queue_name=complaints&queue_members={}&sla_hours=48&min_responses={}&open_days=21&window_weeks=6&email=off",
            e(&csrf),
            e(rule.0),
            e(rule.1),
            e(&crate::common::TestApp::username(app.people.admin)),
            min
        )
    };
    let rules = ("*", "front-desk");
    // Every bad field is named and nothing is stored.
    let res = app
        .client
        .post("/cases/settings")
        .header(ContentType::Form)
        .header(Header::new("Accept-Language", "en"))
        .body(post(("praise", "x"), "0"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("Unknown category praise") && html.contains("a whole number from 5 to 1000"),
        "{html}"
    );
    assert!(
        srm::settings::get(app.db(), "cases.sla_hours")
            .await
            .unwrap()
            .is_none()
    );
    let res = app
        .client
        .post("/cases/settings")
        .header(ContentType::Form)
        .body(post(rules, "7"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(
        srm::settings::get(app.db(), "feedback.min_responses")
            .await
            .unwrap()
            .as_deref(),
        Some("7")
    );
    assert_eq!(app.audit_count("interaction.settings", "ok").await, 1);
    assert_eq!(
        srm::settings::get(app.db(), "cases.queues")
            .await
            .unwrap()
            .as_deref(),
        Some(format!(r#"{{"complaints":[{}]}}"#, app.people.admin).as_str()),
        "queue handlers typed by user name are stored by id"
    );
    // A new case now goes to the queue the rule names.
    let student = app.token(app.people.student).await;
    let (s, case) = app.send_json(rocket::http::Method::Post, "/api/v1/cases", Some(&student),
        serde_json::json!({"category": "inquiry", "subject": "Library hours", "body": "When does it open?"})).await;
    assert_eq!(s, Status::Created, "{case}");
    assert_eq!(case["queue"], "front-desk");
}

/// The text of the `<label>` that encloses the field named `name`, if it is inside one.
fn label_of(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let open = html[..at].rfind("<label")?;
    if html[open..at].contains("</label>") {
        return None;
    }
    let text_start = open + html[open..].find('>')? + 1;
    let text_end = text_start + html[text_start..].find('<')?;
    Some(html[text_start..text_end].trim().to_string())
}

/// The visible fields of the page's main part that have neither an enclosing `<label>` nor an
/// `aria-label`.
fn unlabelled_fields(html: &str) -> Vec<String> {
    let main = html.find("<main").map_or(html, |i| &html[i..]);
    let mut out = Vec::new();
    for tag in ["<input", "<select", "<textarea"] {
        let mut from = 0;
        while let Some(i) = main[from..].find(tag) {
            let at = from + i;
            let end = at + main[at..].find('>').unwrap_or(0);
            let element = &main[at..=end];
            from = end + 1;
            if element.contains("type=\"hidden\"") || element.contains("aria-label=") {
                continue;
            }
            let labelled = main[..at]
                .rfind("<label")
                .is_some_and(|open| !main[open..at].contains("</label>"));
            if !labelled {
                out.push(element.to_string());
            }
        }
    }
    out
}

/// The classes of every `<form>` on the page that the stylesheet does not define.
fn undefined_form_classes(html: &str, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for form in html.split("<form").skip(1) {
        let tag = &form[..form.find('>').unwrap_or(form.len())];
        let Some(i) = tag.find("class=\"") else {
            continue;
        };
        let classes = &tag[i + 7..];
        let classes = &classes[..classes.find('"').unwrap_or(classes.len())];
        for c in classes.split_whitespace() {
            let defined = [" ", " {", ",", ":", "."]
                .iter()
                .any(|after| css.contains(&format!(".{c}{after}")));
            if !defined {
                out.push(c.to_string());
            }
        }
    }
    out
}

async fn html(app: &TestApp, path: &str) -> String {
    let res = app.client.get(path.to_string()).dispatch().await;
    assert_eq!(res.status(), Status::Ok, "{path}");
    res.into_string().await.unwrap()
}

#[rocket::async_test]
async fn the_care_list_is_paged_in_the_database_and_keeps_its_place_with_a_confirmation_after_saving()
 {
    use srm::entity::students;
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let p = app.people.clone();
    let db = app.db();
    let now = Utc::now().fixed_offset();
    let run = crate::common::finished_risk_run(db, now).await;
    let base = students::Entity::find_by_id(p.student_record)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    // 70 at high risk, 60 at medium: three pages of 50; the medium ones fill a page and 10.
    let mut medium = Vec::new();
    for i in 0..130 {
        let mut s: students::ActiveModel = base.clone().into();
        s.id = sea_orm::ActiveValue::NotSet;
        s.user_id = Set(None);
        s.student_no = Set(format!("2025880{i:03}"));
        let sid = s.insert(db).await.unwrap().id;
        let level = if i < 70 { "high" } else { "medium" };
        let flag = crate::common::risk_flag(db, run.id, sid, 200.0 - i as f64, level).await;
        if level == "medium" {
            medium.push((sid, flag.id));
        }
    }
    // The API pages in the database too.
    let admin = app.token(p.admin).await;
    let (s, v) = app
        .get_json("/api/v1/care/worklist?page=7&per_page=20", Some(&admin))
        .await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["total"], 130);
    assert_eq!(v["items"].as_array().unwrap().len(), 10);
    let (_, v) = app
        .get_json("/api/v1/care/worklist?level=medium", Some(&admin))
        .await;
    assert_eq!(v["total"], 60);

    let csrf = app.page_login(p.admin).await;
    let first = html(&app, "/care").await;
    assert_eq!(
        first.matches("name=\"flag_id\"").count(),
        50,
        "one page, not the whole list"
    );
    assert!(first.contains("page=2"), "a pager");
    assert!(first.len() < 200_000, "{} bytes", first.len());
    // Every date field is labelled with what it is.
    assert_eq!(label_of(&first, "happened_on").as_deref(), Some("关怀日期"));
    assert_eq!(
        label_of(&first, "follow_up_on").as_deref(),
        Some("跟进日期")
    );
    assert_eq!(label_of(&first, "notes").as_deref(), Some("备注"));
    assert!(
        unlabelled_fields(&first).is_empty(),
        "{:?}",
        unlabelled_fields(&first)
    );

    let second = html(&app, "/care?level=medium&page=2").await;
    assert_eq!(second.matches("name=\"flag_id\"").count(), 10);
    let (sid, fid) = medium[55];
    assert!(second.contains(&format!("name=\"flag_id\" value=\"{fid}\"")));
    let res = app.client.post("/care").header(ContentType::Form)
        .body(format!("_csrf={csrf}&student_id={sid}&flag_id={fid}&kind=meeting&happened_on={}&follow_up_on=&notes=ok&level=medium&page=2",
            now.date_naive()))
        .dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    let to = res.headers().get_one("Location").unwrap().to_string();
    assert_eq!(
        to, "/care?level=medium&page=2&saved=true",
        "the list keeps its place"
    );
    let back = html(&app, &to).await;
    assert!(back.contains("已记录关怀"), "a confirmation");
    assert_eq!(back.matches("name=\"flag_id\"").count(), 10);
    assert!(
        back.contains("<option value=\"medium\" selected>"),
        "the filter is kept"
    );

    // A refused save keeps the place too.
    let res = app
        .client
        .post("/care")
        .header(ContentType::Form)
        .body(format!(
            "_csrf={csrf}&student_id={sid}&flag_id={fid}&kind=coffee&level=medium&page=2"
        ))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let page = res.into_string().await.unwrap();
    assert_eq!(page.matches("name=\"flag_id\"").count(), 10);
    // The refusal is said in the page's language, not in the service's English words.
    assert!(page.contains("请选择类型。"), "the message in Chinese");
    assert!(
        !page.contains("kind must be"),
        "no English on a Chinese page"
    );
}

#[rocket::async_test]
async fn interaction_forms_use_the_shared_form_layout_and_label_every_field() {
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let p = app.people.clone();
    let css = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/static/app.css"
    ))
    .unwrap();
    open_feedback_window(&app).await;
    let st = app.token(p.student).await;
    let case = open_case(
        &app,
        &st,
        json!({"category": "inquiry", "subject": "Transcript", "body": "When?"}),
    )
    .await;
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/conversations",
            Some(&st),
            json!({"to_user_id": p.teacher, "subject": "Question", "body": "Hello"}),
        )
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let conversation = v["id"].as_i64().unwrap();
    let mut pages = Vec::new();
    app.page_login(p.student).await;
    for path in [
        "/messages".to_string(),
        "/cases".into(),
        "/feedback".into(),
        format!("/cases/{case}"),
        format!("/messages/{conversation}"),
    ] {
        pages.push((path.clone(), html(&app, &path).await));
    }
    app.page_logout().await;
    app.page_login(p.admin).await;
    for path in [
        "/announcements".to_string(),
        format!("/cases/{case}"),
        "/messages".into(),
    ] {
        pages.push((path.clone(), html(&app, &path).await));
    }
    for (path, page) in &pages {
        assert!(page.contains("method=\"post\""), "{path} has a form");
        assert_eq!(
            undefined_form_classes(page, &css),
            Vec::<String>::new(),
            "{path}"
        );
        assert_eq!(unlabelled_fields(page), Vec::<String>::new(), "{path}");
    }
    // The survey and the case each lay their fields out one under another.
    let survey = &pages[2].1;
    assert!(survey.contains("action=\"/feedback/") && survey.contains("class=\"form\""));
}

#[rocket::async_test]
async fn the_survey_scale_has_labels_and_message_recipients_show_their_role_and_course() {
    use srm::entity::{courses, sections, students};
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let p = app.people.clone();
    let db = app.db();
    open_feedback_window(&app).await;
    let mut record: students::ActiveModel = students::Entity::find_by_id(p.student_record)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into();
    record.advisor_id = Set(Some(p.other_teacher));
    record.update(db).await.unwrap();
    let section = sections::Entity::find_by_id(p.section)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let course = courses::Entity::find_by_id(section.course_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();

    app.page_login(p.student).await;
    let survey = html(&app, "/feedback").await;
    assert!(
        survey.contains("<option value=\"5\">5 — 很好</option>"),
        "{survey}"
    );
    assert!(survey.contains("<option value=\"1\">1 — 很差</option>"));
    let messages = html(&app, "/messages").await;
    let option = |id: i64| {
        let at = messages
            .find(&format!("<option value=\"{id}\">"))
            .expect("a recipient");
        messages[at..at + messages[at..].find("</option>").unwrap()].to_string()
    };
    let teacher = option(p.teacher);
    assert!(
        teacher.contains("任课教师") && teacher.contains(&course.code),
        "{teacher}"
    );
    let advisor = option(p.other_teacher);
    assert!(
        advisor.contains("辅导员") && !advisor.contains("任课教师"),
        "{advisor}"
    );
    // The same in English.
    app.client.get("/lang/en").dispatch().await;
    let messages = html(&app, "/messages").await;
    assert!(
        messages.contains("advisor") && messages.contains(&format!("teacher {}", course.code)),
        "{messages}"
    );
    let survey = html(&app, "/feedback").await;
    assert!(survey.contains("5 — very good"));
}

#[rocket::async_test]
async fn every_interaction_api_route_is_typed_in_the_openapi_document() {
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let (s, doc) = app.get_json("/api/v1/openapi.json", None).await;
    assert_eq!(s, Status::Ok);
    for (method, path, _) in MATRIX.rows.iter().filter(|r| r.1.starts_with("/api/v1/")) {
        let path = path.replace("<id>", "{id}");
        let op = &doc["paths"][&path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(
            op["security"].is_array(),
            "{method} {path} names its security"
        );
        let ok = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(code, _)| code.starts_with('2'))
            .unwrap()
            .1;
        let schema = &ok["content"]["application/json"]["schema"];
        assert!(
            schema["$ref"].is_string() || schema["type"] == "array",
            "{method} {path} answers a typed body: {ok}"
        );
        assert_eq!(
            op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        if *method == "POST" && path != "/api/v1/notifications/read" {
            assert!(
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string(),
                "{method} {path} body: {op}"
            );
        }
        if path.contains("{id}") {
            let params = op["parameters"].as_array().unwrap();
            assert!(
                params.iter().any(|p| p["name"] == "id"
                    && p["in"] == "path"
                    && p["schema"]["type"] == "integer"),
                "{path}: {params:?}"
            );
        }
    }
    let list = doc["paths"]["/api/v1/cases"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let page = list.iter().find(|p| p["name"] == "page").unwrap();
    assert_eq!(page["in"], "query");
    assert_eq!(page["schema"]["minimum"], 1);
    let status = &doc["components"]["schemas"]["CaseStatus"]["enum"];
    assert_eq!(
        status,
        &json!(["open", "in_progress", "answered", "closed"])
    );
    // The work list answers one page of typed rows.
    let mut page = doc["paths"]["/api/v1/care/worklist"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]
        .clone();
    if let Some(name) = page["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        page = doc["components"]["schemas"][name].clone();
    }
    let row = &page["properties"]["items"]["items"];
    assert!(
        row["$ref"] == "#/components/schemas/WorkRow"
            || row["properties"]["student_no"]["type"] == "string",
        "{page}"
    );
    assert_eq!(page["properties"]["total"]["type"], "integer", "{page}");
}

#[rocket::async_test]
async fn every_interaction_page_form_is_refused_without_its_csrf_token() {
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let p = app.people.clone();
    for (method, path, roles) in MATRIX
        .rows
        .iter()
        .filter(|r| r.0 == "POST" && !r.1.starts_with("/api/"))
    {
        let user = if roles.as_bytes()[3] == b'A' {
            p.admin
        } else {
            p.student
        };
        let csrf = app.page_login(user).await;
        let path = path.replace("<id>", "999999");
        for body in [
            "subject=x".to_string(),
            "_csrf=forged&subject=x".to_string(),
        ] {
            let res = app
                .client
                .post(path.clone())
                .header(ContentType::Form)
                .body(body.clone())
                .dispatch()
                .await;
            assert_eq!(
                res.status(),
                Status::Forbidden,
                "{method} {path} with {body}"
            );
        }
        let res = app
            .client
            .post(path.clone())
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}&subject=x"))
            .dispatch()
            .await;
        assert_ne!(
            res.status(),
            Status::Forbidden,
            "{method} {path} with its token"
        );
        app.page_logout().await;
    }
}

#[rocket::async_test]
async fn message_recipients_and_members_show_their_role_and_the_course_they_share() {
    use srm::entity::{students, users};
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let db = app.db();
        let name = |id: i64| async move {
            users::Entity::find_by_id(id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .display_name
        };
        let (student_name, teacher_name) = (name(p.student).await, name(p.teacher).await);
        // The teacher also advises the student.
        let mut s: students::ActiveModel = students::Entity::find_by_id(p.student_record)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .into();
        s.advisor_id = Set(Some(p.teacher));
        s.update(db).await.unwrap();
        let st = app.token(p.student).await;
        let teacher = app.token(p.teacher).await;
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/conversations",
                Some(&st),
                json!({"to_user_id": p.teacher, "subject": "Question", "body": "Homework 2"}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        let cid = v["id"].as_i64().unwrap();

        // The typed API: each member's role, and the course they share with the caller.
        let (s, v) = app
            .get_json(&format!("/api/v1/conversations/{cid}"), Some(&teacher))
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let member = |v: &Value, id: i64| {
            v["people"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["user_id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(member(&v, p.student)["role"], "student");
        assert_eq!(
            member(&v, p.student)["courses"],
            json!(["CS101 程序设计基础"]),
            "Chinese by default"
        );
        assert_eq!(member(&v, p.teacher)["role"], "teacher");
        assert_eq!(member(&v, p.teacher)["advisor"], true);
        assert_eq!(
            member(&v, p.teacher)["courses"],
            json!([]),
            "nothing shared with oneself"
        );

        for (lang, student_line, teacher_line, compose) in [
            (
                "en",
                format!("{student_name} · Student · CS101 Introduction to Programming"),
                format!("{teacher_name} · Teacher · advisor · CS101 Introduction to Programming"),
                "advisor · teacher CS101 Introduction to Programming",
            ),
            (
                "zh-CN",
                format!("{student_name} · 学生 · CS101 程序设计基础"),
                format!("{teacher_name} · 教师 · 辅导员 · CS101 程序设计基础"),
                "辅导员 · 任课教师 CS101 程序设计基础",
            ),
        ] {
            let html = app
                .page_in(&format!("/messages/{cid}"), &teacher, lang)
                .await;
            assert!(
                html.contains(&student_line),
                "{lang}: the teacher sees the student's role and course"
            );
            let html = app.page_in(&format!("/messages/{cid}"), &st, lang).await;
            assert!(
                html.contains(&teacher_line),
                "{lang}: the student sees the teacher's roles and course"
            );
            let html = app.page_in("/messages", &st, lang).await;
            assert!(
                html.contains(compose),
                "{lang}: the recipient choice names role and course"
            );
        }
    })
    .await;
}

/// Inserts `n` cases of the student, oldest first (subjects `paged case 0` …); every fifth one
/// closed.
async fn many_cases(app: &TestApp, student_record: i64, n: usize) -> Vec<i64> {
    use srm::entity::cases::CaseStatus;
    let now = Utc::now().fixed_offset();
    let mut ids = Vec::new();
    for i in 0..n {
        let c = cases::ActiveModel {
            student_id: Set(student_record),
            category: Set("inquiry".into()),
            topic: Set("other".into()),
            subject: Set(format!("paged case {i}.")),
            body: Set("b".into()),
            department_id: Set(None),
            queue: Set("registry".into()),
            status: Set(if i % 5 == 4 {
                CaseStatus::Closed
            } else {
                CaseStatus::Open
            }),
            assigned_to: Set(None),
            created_at: Set(now),
            due_at: Set(now + Duration::hours(48)),
            first_response_at: Set(None),
            closed_at: Set(None),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .unwrap();
        ids.push(c.id);
    }
    ids
}

#[rocket::async_test]
async fn the_case_list_api_pages_in_the_database_with_the_total_of_the_filter() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let ids = many_cases(&app, p.student_record, 60).await;
        let st = app.token(p.student).await;
        let (s, v) = app
            .get_json("/api/v1/cases?per_page=25&page=3", Some(&st))
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(
            (
                v["total"].as_u64(),
                v["page"].as_u64(),
                v["per_page"].as_u64()
            ),
            (Some(60), Some(3), Some(25))
        );
        let got: Vec<i64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        // Newest first: the third page of 25 holds the 10 oldest.
        let want: Vec<i64> = ids[..10].iter().rev().copied().collect();
        assert_eq!(got, want);
        // The filter counts before paging.
        let (_, v) = app
            .get_json("/api/v1/cases?status=closed&per_page=5&page=2", Some(&st))
            .await;
        assert_eq!(v["total"], 12);
        let got: Vec<i64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        let closed: Vec<i64> = ids
            .iter()
            .rev()
            .enumerate()
            .filter(|(k, _)| (59 - k) % 5 == 4)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(got, closed[5..10].to_vec());
        // Beyond the last page: no rows, the same total.
        let (_, v) = app
            .get_json("/api/v1/cases?per_page=25&page=4", Some(&st))
            .await;
        assert_eq!(
            (v["total"].as_u64(), v["items"].as_array().map(Vec::len)),
            (Some(60), Some(0))
        );
    })
    .await;
}

#[rocket::async_test]
async fn the_case_list_page_shows_one_page_of_cases_with_a_next_link_that_keeps_the_filter() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        many_cases(&app, p.student_record, 130).await;
        app.page_login(p.student).await;
        let rows = |h: &str| {
            (0..130)
                .filter(|i| h.contains(&format!("paged case {i}.")))
                .collect::<Vec<_>>()
        };
        // The 50 newest on the first page, with a link to the second; three pages in all.
        let first = html(&app, "/cases").await;
        assert_eq!(rows(&first), (80..130).collect::<Vec<_>>());
        assert!(first.contains("href=\"?page=2\""), "no next link");
        let last = html(&app, "/cases?page=3").await;
        assert_eq!(rows(&last), (0..30).collect::<Vec<_>>());
        assert!(last.contains("href=\"?page=2\"") && !last.contains("page=4"));
        // A filter is applied before paging and stays in the pager's links.
        let active = html(&app, "/cases?status=active").await;
        let open: Vec<usize> = (0..130).filter(|i| i % 5 != 4).collect();
        assert_eq!(rows(&active), open[open.len() - 50..].to_vec());
        assert!(
            active.contains("status=active&amp;page=2"),
            "the filter is lost"
        );
        let closed = html(&app, "/cases?status=closed").await;
        assert_eq!(
            rows(&closed),
            (0..130).filter(|i| i % 5 == 4).collect::<Vec<_>>()
        );
        assert!(!closed.contains("class=\"pager\""));
    })
    .await;
}

/// Issue 21's pages bench: the at-risk list and the care work list sorted every flag of the
/// run's levels, reasons and all, for each page (about 55 ms a statement at 50,000 students).
/// A page's ids now come from one index alone, the filter on feedback included.
#[rocket::async_test]
async fn a_page_of_flags_is_found_from_the_index_alone() {
    use sea_orm::{ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, QueryTrait};
    use srm::entity::risk_flags;
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let flags = risk_flags::Entity::find()
        .filter(risk_flags::Column::RunId.eq(1))
        .filter(risk_flags::Column::Level.is_in(["medium", "high"]))
        .filter(
            Condition::any()
                .add(risk_flags::Column::Feedback.is_null())
                .add(risk_flags::Column::Feedback.ne("wrong")),
        );
    let page = srm::mining::service::page_ids(flags, srm::paging::PageReq::new(Some(2), None));
    let plan = app.sqlite_plan(page.build(DbBackend::Sqlite)).await;
    assert!(
        plan.iter()
            .any(|step| step.contains("USING COVERING INDEX idx_risk_flags_run_list")),
        "{plan:#?}"
    );
}
