//! E-mail against a real SMTP server on this machine (aiosmtpd, from PyPI, installed by
//! `.ci/run`; `tests/tools/smtp_sink.py` writes each accepted message to a directory): the
//! events that notify arrive with the right recipient, language, links and unsubscribe
//! headers; an outage delays but loses nothing; two senders never send a message twice;
//! repeated failures end as dead letters an administrator can retry; digests collect the
//! day's mail. Without aiosmtpd the tests fail under CI and are skipped elsewhere.

use crate::access_matrix::{Ids, Request, Table};
use crate::common::*;
use chrono::Utc;
use rocket::http::{ContentType, Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use srm::entity::{outbox, sections, users};
use srm::mail::{Category, Mailer, Mode};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The e-mail routes in the route × role matrix. Unsubscribing needs no login (the signed
/// token is the authority; the matrix's made-up one is answered 404 to everyone).
pub const MATRIX: Table = Table {
    rows: &[
        ("GET", "/account/notifications", "LAAAA"),
        ("POST", "/account/notifications", "LAAAA"),
        ("GET", "/api/v1/account/notifications", "LAAAA"),
        ("PUT", "/api/v1/account/notifications", "LAAAA"),
        ("GET", "/unsubscribe/<code>", "AAAAA"),
        ("POST", "/unsubscribe/<code>", "AAAAA"),
        ("GET", "/admin/outbox", "LFFAF"),
        ("GET", "/api/v1/admin/outbox", "LFFAF"),
        ("POST", "/admin/outbox/<id>/retry", "LFFAF"),
        ("POST", "/admin/outbox/<id>/discard", "LFFAF"),
    ],
    request,
};

fn request(method: &str, pattern: &str, _ids: &Ids) -> Option<Request> {
    let path = pattern
        .replace("<code>", "1-cases-00000000000000000000000000000000")
        // No such dead letter: the administrator is answered 404, after the access check.
        .replace("<id>", "999999");
    let body = match (method, pattern) {
        ("PUT", _) => Some((ContentType::JSON, r#"{"prefs":[]}"#.to_string())),
        ("POST", _) => Some((ContentType::Form, String::new())),
        _ => None,
    };
    Some((path, body))
}

/// The SMTP server of one test, stopped when dropped.
struct Sink {
    child: Child,
    dir: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn aiosmtpd_present() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "aiosmtpd is missing: .ci/run must install it (pip install aiosmtpd)"
        );
        eprintln!("SKIPPED: aiosmtpd not installed (pip install aiosmtpd)");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sink {
    fn start(port: u16) -> Sink {
        let dir = std::env::temp_dir().join(format!("srm-smtp-{}", uuid::Uuid::new_v4().simple()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Sink { child, dir }
    }

    /// Every message received, oldest first.
    fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    fn to(&self, addr: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["rcpt"][0] == addr)
            .collect()
    }
}

/// The sender of a test: the app's settings with SMTP on `port` and links to a public address.
fn mailer(app: &TestApp, port: u16, max_attempts: u32) -> Mailer {
    let mut c = app.config.clone();
    c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    c.public_url = Some("https://portal.example.edu/".into());
    c.mail_from = "SRM <portal@example.edu>".into();
    c.mail_retry_base_seconds = 60;
    c.mail_max_attempts = max_attempts;
    Mailer::new(&c, JWT_SECRET.as_bytes()).unwrap()
}

/// Turns e-mail notifications on and gives the two students an address and a language.
async fn mail_on(app: &TestApp) {
    srm::settings::put(app.db(), "notifications.email", "on".into())
        .await
        .unwrap();
    for (id, email, lang) in [
        (app.people.student, "li.hua@example.edu", "en"),
        (app.people.other_student, "wang.fang@example.edu", "zh"),
        (app.people.teacher, "teacher@example.edu", "en"),
    ] {
        users::ActiveModel {
            id: Set(id),
            email: Set(Some(email.into())),
            locale: Set(Some(lang.into())),
            ..Default::default()
        }
        .update(app.db())
        .await
        .unwrap();
    }
}

async fn open_case(app: &TestApp, token: &str) -> i64 {
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/cases",
            Some(token),
            json!({"category": "inquiry", "subject": "Library card", "body": "It does not work."}),
        )
        .await;
    assert_eq!(s, Status::Created, "{v}");
    v["id"].as_i64().unwrap()
}

async fn reply(app: &TestApp, token: &str, case: i64, body: &str) {
    let (s, v) = app
        .send_json(
            Method::Post,
            &format!("/api/v1/cases/{case}/actions"),
            Some(token),
            json!({"action": "reply", "body": body}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
}

async fn rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find().all(app.db()).await.unwrap()
}

fn now() -> i64 {
    Utc::now().timestamp()
}

#[rocket::async_test]
async fn a_case_answer_a_published_grade_and_a_waitlist_promotion_arrive_in_the_recipients_language()
 {
    if !aiosmtpd_present() {
        return;
    }
    on_each_backend(|app| async move {
        mail_on(&app).await;
        let p = app.people.clone();
        let student = app.token(p.student).await;
        let other = app.token(p.other_student).await;
        let admin = app.token(p.admin).await;
        let teacher = app.token(p.teacher).await;

        // A case answer (English reader).
        let case = open_case(&app, &student).await;
        reply(&app, &admin, case, "Please come to the desk.").await;

        // A grade published (English reader).
        crate::common::publish_grade(&app, &teacher, p.section, p.student_record, 88.0).await;

        // A waitlist promotion (Chinese reader): one seat, held by the first student.
        sections::ActiveModel {
            id: Set(p.section),
            capacity: Set(1),
            ..Default::default()
        }
        .update(app.db())
        .await
        .unwrap();
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/registrations",
                Some(&other),
                json!({"section_id": p.section}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        assert_eq!(v["status"], "waitlisted", "{v}");
        let enrolment = srm::entity::enrolments::Entity::find()
            .filter(srm::entity::enrolments::Column::StudentId.eq(p.student_record))
            .filter(srm::entity::enrolments::Column::SectionId.eq(p.section))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let (s, v) = app
            .send_json(
                Method::Delete,
                &format!("/api/v1/registrations/{}", enrolment.id),
                Some(&student),
                json!({}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["promoted_student_id"], p.other_student_record, "{v}");

        // Nothing has left yet: the outbox holds them until the sender runs.
        let port = free_port();
        let sink = Sink::start(port);
        assert!(sink.messages().is_empty());
        let m = mailer(&app, port, 8);
        let d = srm::mail::sender::send_due(app.db(), &m, "test")
            .await
            .unwrap();
        assert_eq!((d.sent, d.retrying, d.dead), (3, 0, 0), "{d:?}");

        let mine = sink.to("li.hua@example.edu");
        assert_eq!(mine.len(), 2, "{mine:?}");
        let answer = mine
            .iter()
            .find(|m| m["subject"].as_str().unwrap().contains("has an answer"))
            .expect("the case answer");
        assert_eq!(
            answer["subject"],
            format!("Your case #{case} Library card has an answer")
        );
        let body = answer["body"].as_str().unwrap();
        assert!(body.contains("Please come to the desk."), "{body}");
        assert!(
            body.contains(&format!("https://portal.example.edu/cases/{case}")),
            "{body}"
        );
        let unsubscribe = answer["headers"]["List-Unsubscribe"].as_str().unwrap();
        assert!(
            unsubscribe.starts_with(&format!(
                "<https://portal.example.edu/unsubscribe/{}-cases-",
                p.student
            )),
            "{unsubscribe}"
        );
        assert_eq!(
            answer["headers"]["List-Unsubscribe-Post"],
            "List-Unsubscribe=One-Click"
        );
        assert!(
            body.contains(unsubscribe.trim_matches(['<', '>'])),
            "the link is in the text too"
        );
        let grade = mine
            .iter()
            .find(|m| {
                m["subject"]
                    .as_str()
                    .unwrap()
                    .starts_with("Grade published")
            })
            .expect("the grade");
        assert_eq!(
            grade["subject"],
            "Grade published: CS101 Introduction to Programming"
        );
        assert!(
            grade["body"]
                .as_str()
                .unwrap()
                .contains("https://portal.example.edu/me/transcript")
        );

        let theirs = sink.to("wang.fang@example.edu");
        assert_eq!(theirs.len(), 1, "{theirs:?}");
        assert_eq!(theirs[0]["subject"], "您已选上 CS101-01");
        let body = theirs[0]["body"].as_str().unwrap();
        assert!(body.starts_with("王芳") || body.contains("您好"), "{body}");
        assert!(
            body.contains("https://portal.example.edu/registrations"),
            "{body}"
        );
        assert!(
            theirs[0]["headers"]["List-Unsubscribe"]
                .as_str()
                .unwrap()
                .contains("-registration-")
        );
        // Each is also in the portal, and the outbox says sent with the message id.
        let (s, page) = app.get_json("/api/v1/admin/outbox", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(page["counts"]["sent"], 3, "{page}");
        assert_eq!(page["delivery_on"], false, "the app itself has no SMTP_URL");
        for r in rows(&app).await {
            assert_eq!(r.status, "sent");
            assert!(r.message_id.is_some());
        }

        // One click (RFC 8058: a POST without login or CSRF token) turns cases off.
        let path = unsubscribe
            .trim_matches(['<', '>'])
            .trim_start_matches("https://portal.example.edu")
            .to_string();
        let res = app
            .client
            .post(path.clone())
            .header(ContentType::Form)
            .body("List-Unsubscribe=One-Click")
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(
            srm::mail::service::mode_of(app.db(), p.student, Category::Cases)
                .await
                .unwrap(),
            Mode::Portal
        );
        assert_eq!(app.audit_count("mail.unsubscribe", "ok").await, 1);
        reply(&app, &admin, case, "Second answer.").await;
        let queued = srm::mail::queue::count_for(app.db(), p.student, "queued")
            .await
            .unwrap();
        assert_eq!(queued, 0, "no e-mail after unsubscribing");
        let (_, notes) = app.get_json("/api/v1/notifications", Some(&student)).await;
        assert!(
            notes.to_string().contains("Second answer."),
            "still in the portal: {notes}"
        );
        // A forged token changes nothing.
        let forged = path.replace("-cases-", "-grades-");
        let res = app.client.post(forged).dispatch().await;
        assert_eq!(res.status(), Status::NotFound);
    })
    .await;
}

/// Queues `n` case answers to the first student.
async fn queue_answers(app: &TestApp, n: usize) {
    let student = app.token(app.people.student).await;
    let admin = app.token(app.people.admin).await;
    let case = open_case(app, &student).await;
    for i in 0..n {
        reply(app, &admin, case, &format!("Answer {i}")).await;
    }
}

#[rocket::async_test]
async fn an_smtp_outage_delays_mail_but_loses_none_and_sends_none_twice() {
    if !aiosmtpd_present() {
        return;
    }
    on_each_backend(|app| async move {
        mail_on(&app).await;
        queue_answers(&app, 2).await;
        let port = free_port();
        let m = mailer(&app, port, 8);
        let t0 = now();
        // The server is down: both stay queued, tried once, due again after the backoff.
        let d = srm::mail::sender::send_due_at(app.db(), &m, "test", t0)
            .await
            .unwrap();
        assert_eq!((d.sent, d.retrying, d.dead), (0, 2, 0));
        for r in rows(&app).await {
            assert_eq!(r.status, "queued");
            assert_eq!(r.attempts, 1);
            assert!(r.next_attempt_at >= t0 + 60, "backoff");
            assert!(r.last_error.is_some());
        }
        // Not due yet: nothing is tried.
        let d = srm::mail::sender::send_due_at(app.db(), &m, "test", t0 + 30)
            .await
            .unwrap();
        assert_eq!((d.sent, d.retrying), (0, 0));
        // The server is back (the sender restarted too: a new Mailer); both arrive, once.
        let sink = Sink::start(port);
        let m = mailer(&app, port, 8);
        let d = srm::mail::sender::send_due_at(app.db(), &m, "test", t0 + 61)
            .await
            .unwrap();
        assert_eq!(d.sent, 2);
        let d = srm::mail::sender::send_due_at(app.db(), &m, "test", t0 + 100_000)
            .await
            .unwrap();
        assert_eq!(d.sent, 0);
        let got = sink.to("li.hua@example.edu");
        assert_eq!(got.len(), 2);
        let bodies: String = got.iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert!(bodies.contains("Answer 0") && bodies.contains("Answer 1"));
        assert!(
            rows(&app)
                .await
                .iter()
                .all(|r| r.status == "sent" && r.attempts == 2)
        );
    })
    .await;
}

#[rocket::async_test]
async fn two_senders_draining_at_once_send_each_message_once() {
    if !aiosmtpd_present() {
        return;
    }
    on_each_backend(|app| async move {
        mail_on(&app).await;
        queue_answers(&app, 30).await;
        let port = free_port();
        let sink = Sink::start(port);
        let (a, b) = (mailer(&app, port, 8), mailer(&app, port, 8));
        let (ra, rb) = tokio::join!(
            srm::mail::sender::send_due(app.db(), &a, "instance-a"),
            srm::mail::sender::send_due(app.db(), &b, "instance-b"),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ra.sent + rb.sent, 30, "{ra:?} {rb:?}");
        let got = sink.messages();
        assert_eq!(got.len(), 30);
        let mut texts: Vec<String> = got
            .iter()
            .map(|m| {
                let body = m["body"].as_str().unwrap();
                body.lines()
                    .find(|l| l.starts_with("> Answer"))
                    .unwrap()
                    .to_string()
            })
            .collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), 30, "each answer once");
    })
    .await;
}

#[rocket::async_test]
async fn mail_that_keeps_failing_goes_dead_and_an_administrator_can_retry_it() {
    if !aiosmtpd_present() {
        return;
    }
    on_each_backend(|app| async move {
        mail_on(&app).await;
        queue_answers(&app, 1).await;
        let port = free_port();
        let m = mailer(&app, port, 3);
        let t0 = now();
        let mut at = t0;
        for expected_dead in [0, 0, 1] {
            let d = srm::mail::sender::send_due_at(app.db(), &m, "test", at)
                .await
                .unwrap();
            assert_eq!(d.dead, expected_dead, "at +{}", at - t0);
            at += 100_000;
        }
        let row = rows(&app).await.remove(0);
        assert_eq!((row.status.as_str(), row.attempts), ("dead", 3));
        // The administrator sees it with its error, and retries it (a CSRF-checked form).
        let csrf = app.page_login(app.people.admin).await;
        let page = app.client.get("/admin/outbox").dispatch().await;
        assert_eq!(page.status(), Status::Ok);
        let html = page.into_string().await.unwrap();
        assert!(html.contains("li.hua@example.edu"), "{html}");
        assert!(html.contains(&format!("/admin/outbox/{}/retry", row.id)));
        let res = app
            .client
            .post(format!("/admin/outbox/{}/retry", row.id))
            .header(ContentType::Form)
            .body("_csrf=wrong")
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden);
        let res = app
            .client
            .post(format!("/admin/outbox/{}/retry", row.id))
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(app.audit_count("mail.retry", "ok").await, 1);
        let sink = Sink::start(port);
        let d = srm::mail::sender::send_due(app.db(), &m, "test")
            .await
            .unwrap();
        assert_eq!(d.sent, 1);
        assert_eq!(sink.messages().len(), 1);
    })
    .await;
}

#[rocket::async_test]
async fn an_activation_letter_arrives_and_its_code_is_not_kept_once_sent() {
    if !aiosmtpd_present() {
        return;
    }
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/students",
                Some(&admin),
                json!({"student_no": "2026000501", "name_zh": "赵敏", "name_en": "Zhao Min",
                       "major": "CS01", "cohort": 2026, "email": "zhao@example.edu"}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/students/accounts?mail=true",
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let code = v["letters"][0]["code"].as_str().unwrap().to_string();
        let port = free_port();
        let sink = Sink::start(port);
        let m = mailer(&app, port, 8);
        srm::mail::sender::send_due(app.db(), &m, "test")
            .await
            .unwrap();
        let got = sink.to("zhao@example.edu");
        assert_eq!(got.len(), 1);
        let body = got[0]["body"].as_str().unwrap();
        assert!(body.contains(&code), "{body}");
        assert!(
            body.contains("赵敏") && body.contains("Zhao Min"),
            "both languages: {body}"
        );
        assert!(
            got[0]["headers"].get("List-Unsubscribe").is_none(),
            "mandatory mail"
        );
        let row = rows(&app).await.remove(0);
        assert_eq!(row.status, "sent");
        assert_eq!(row.body_text, "", "the code is gone once sent");
    })
    .await;
}

#[rocket::async_test]
async fn a_daily_digest_collects_the_days_mail_into_one_message_once_a_day() {
    if !aiosmtpd_present() {
        return;
    }
    on_each_backend(|app| async move {
        mail_on(&app).await;
        let student = app.token(app.people.student).await;
        let (s, v) = app
            .send_json(
                Method::Put,
                "/api/v1/account/notifications",
                Some(&student),
                json!({"prefs": [{"category": "cases", "mode": "digest"}]}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        assert!(v["prefs"].to_string().contains(r#""mode":"digest""#), "{v}");
        let (s, v) = app
            .send_json(
                Method::Put,
                "/api/v1/account/notifications",
                Some(&student),
                json!({"prefs": [{"category": "care", "mode": "portal"}]}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity, "{v}");
        queue_answers(&app, 2).await;
        let port = free_port();
        let sink = Sink::start(port);
        let m = mailer(&app, port, 8);
        let d = srm::mail::sender::send_due(app.db(), &m, "test")
            .await
            .unwrap();
        assert_eq!(d.sent, 0, "held for the digest");
        let jobs = app.state().jobs.clone();
        let noon = Utc::now()
            .date_naive()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc();
        let out = srm::mail::schedule::daily_tick(app.db(), &m, &jobs, noon)
            .await
            .unwrap();
        assert_eq!(out.map(|o| o.0), Some(1));
        let again = srm::mail::schedule::daily_tick(app.db(), &m, &jobs, noon)
            .await
            .unwrap();
        assert_eq!(again, None, "once a day");
        srm::mail::sender::send_due(app.db(), &m, "test")
            .await
            .unwrap();
        let got = sink.to("li.hua@example.edu");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["subject"], "Your daily summary: 2 notifications");
        let body = got[0]["body"].as_str().unwrap();
        assert_eq!(body.matches("has an answer").count(), 2, "{body}");
        assert!(
            got[0]["headers"]["List-Unsubscribe"]
                .as_str()
                .unwrap()
                .contains("-digest-")
        );
    })
    .await;
}

#[rocket::async_test]
async fn the_preferences_page_saves_choices_and_the_unsubscribe_page_asks_first() {
    on_each_backend(|app| async move {
        let csrf = app.page_login(app.people.student).await;
        let html = app
            .client
            .get("/account/notifications")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(html.contains(r#"name="grades" value="digest""#), "{html}");
        assert!(!html.contains(r#"name="care""#), "staff only");
        let res = app
            .client
            .post("/account/notifications")
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}&grades=portal&announcements=digest"))
            .dispatch()
            .await;
        let status = res.status();
        assert_eq!(status, Status::SeeOther, "{:?}", res.into_string().await);
        let db = app.db();
        let s = app.people.student;
        assert_eq!(
            srm::mail::service::mode_of(db, s, Category::Grades)
                .await
                .unwrap(),
            Mode::Portal
        );
        assert_eq!(
            srm::mail::service::mode_of(db, s, Category::Announcements)
                .await
                .unwrap(),
            Mode::Digest
        );
        assert_eq!(
            srm::mail::service::mode_of(db, s, Category::Cases)
                .await
                .unwrap(),
            Mode::Immediate
        );
        let res = app
            .client
            .post("/account/notifications")
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}&grades=never"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        app.page_logout().await;
        // The link of an e-mail: a page with one button, then the change.
        let token = srm::mail::token::make(JWT_SECRET.as_bytes(), s, Category::Announcements);
        let page = app
            .client
            .get(format!("/unsubscribe/{token}"))
            .dispatch()
            .await;
        assert_eq!(page.status(), Status::Ok);
        let html = page.into_string().await.unwrap();
        assert!(
            html.contains(&format!(r#"action="/unsubscribe/{token}""#)),
            "{html}"
        );
        assert_eq!(
            srm::mail::service::mode_of(db, s, Category::Announcements)
                .await
                .unwrap(),
            Mode::Digest,
            "a GET changes nothing"
        );
        let account = srm::mail::token::make(JWT_SECRET.as_bytes(), s, Category::Account);
        let res = app
            .client
            .get(format!("/unsubscribe/{account}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::NotFound, "account mail is mandatory");
    })
    .await;
}

#[rocket::async_test]
async fn an_announcement_is_told_to_its_readers_once_it_is_published() {
    on_each_backend(|app| async move {
        mail_on(&app).await;
        let admin = app.token(app.people.admin).await;
        let (s, v) = app
            .send_json(
                Method::Post,
                "/api/v1/announcements",
                Some(&admin),
                json!({"scope": "section", "section_id": app.people.section,
                       "title_zh": "停课通知", "title_en": "No class on Friday", "body": "Rest."}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        let at = Utc::now().fixed_offset() + chrono::Duration::seconds(1);
        let told = srm::interaction::announcements::service::notify_published(app.db(), at)
            .await
            .unwrap();
        assert_eq!(told, 2, "the enrolled student and the teacher");
        let again = srm::interaction::announcements::service::notify_published(app.db(), at)
            .await
            .unwrap();
        assert_eq!(again, 0);
        let mail: Vec<outbox::Model> = outbox::Entity::find()
            .filter(outbox::Column::Category.eq("announcements"))
            .all(app.db())
            .await
            .unwrap();
        let mut subjects: Vec<&str> = mail.iter().map(|m| m.subject.as_str()).collect();
        subjects.sort();
        assert_eq!(subjects, ["Announcement: No class on Friday"; 2]);
    })
    .await;
}

/// What `future` logs at `info` and above (the portal's own lines), one line an event.
async fn logged<F: std::future::Future>(future: F) -> (F::Output, Vec<String>) {
    use tracing::instrument::WithSubscriber;
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("srm=info"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = future.with_subscriber(subscriber).await;
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    (out, text.lines().map(str::to_string).collect())
}

/// An announcement to the whole university is told, e-mail and audit entry included, in a few
/// statements per 500 readers (issue 21: seven or more per reader, inside the transaction that
/// holds SQLite's one writer), each reader once.
#[rocket::async_test]
async fn a_university_announcement_is_told_to_everyone_in_a_few_statements() {
    for backend in backends() {
        let app = demo_app(backend, 150).await;
        let db = app.db();
        srm::settings::put(db, "notifications.email", "on".into())
            .await
            .unwrap();
        let now = Utc::now().fixed_offset();
        srm::entity::announcements::ActiveModel {
            scope: Set("university".into()),
            title_zh: Set("校历调整".into()),
            title_en: Set("Calendar change".into()),
            body: Set("Term ends a week later.".into()),
            publish_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let readers = users::Entity::find()
            .filter(users::Column::IsActive.eq(true))
            .all(db)
            .await
            .unwrap();
        let with_address = readers
            .iter()
            .filter(|u| u.email.as_deref().is_some_and(|e| !e.trim().is_empty()))
            .count();
        assert!(
            readers.len() > 150 && with_address > 100,
            "{}",
            readers.len()
        );
        let (counted, log) = counting(&app).await;
        let at = Utc::now().fixed_offset() + chrono::Duration::seconds(1);
        let notify = srm::interaction::announcements::service::notify_published(&counted, at);
        let (told, lines) = logged(notify).await;
        assert_eq!(told.unwrap(), readers.len(), "{backend:?}");
        let statements = log.take();
        assert!(statements.len() <= 20, "{backend:?}: {statements:#?}");
        // One log line for the lot, not one per reader.
        assert!(
            !lines.is_empty() && lines.len() <= 2,
            "{backend:?}: {lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("queued={with_address}")))
        );
        let notices = srm::entity::notifications::Entity::find()
            .filter(srm::entity::notifications::Column::Kind.eq("announcement"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(notices.len(), readers.len(), "{backend:?}");
        let mut people: Vec<i64> = notices.iter().map(|n| n.user_id).collect();
        people.sort_unstable();
        people.dedup();
        assert_eq!(people.len(), readers.len());
        let mail = outbox::Entity::find()
            .filter(outbox::Column::Category.eq("announcements"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(mail.len(), with_address, "{backend:?}");
        let entries = srm::entity::audit_log::Entity::find()
            .filter(srm::entity::audit_log::Column::Action.eq("notifications.email"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(entries.len(), with_address, "{backend:?}");
    }
}

/// A finished risk run flagging `high` students at high risk.
async fn risk_run(app: &TestApp, high: &[i64]) -> srm::entity::mining_runs::Model {
    let now = Utc::now().fixed_offset();
    let run = crate::common::finished_risk_run(app.db(), now).await;
    for s in high {
        crate::common::risk_flag(app.db(), run.id, *s, 0.9, "high").await;
    }
    run
}

/// The first `n` students who have an advisor (the demo has at least `n`).
async fn advised(db: &srm::db::Db, n: usize) -> Vec<srm::entity::students::Model> {
    use srm::entity::students;
    let advised: Vec<students::Model> = students::Entity::find()
        .filter(students::Column::AdvisorId.is_not_null())
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .take(n)
        .collect();
    assert_eq!(advised.len(), n);
    advised
}

/// Flags `students` at high risk in a finished run, tells their advisors through a counting
/// connection, checks each was told, and gives the statements that took.
async fn tell_counted(app: &TestApp, students: &[srm::entity::students::Model]) -> Vec<String> {
    let high: Vec<i64> = students.iter().map(|s| s.id).collect();
    let run = risk_run(app, &high).await;
    let (counted, log) = counting(app).await;
    let told = srm::mining::alerts::tell_advisors(&counted, &run)
        .await
        .unwrap();
    assert_eq!(told, students.len());
    log.take()
}

#[rocket::async_test]
async fn a_new_high_risk_flag_tells_the_advisor_once_and_never_the_student() {
    on_each_backend(|app| async move {
        mail_on(&app).await;
        let p = app.people.clone();
        srm::entity::students::ActiveModel {
            id: Set(p.student_record),
            advisor_id: Set(Some(p.teacher)),
            ..Default::default()
        }
        .update(app.db())
        .await
        .unwrap();
        let first = risk_run(&app, &[p.student_record]).await;
        let told = srm::mining::alerts::tell_advisors(app.db(), &first)
            .await
            .unwrap();
        assert_eq!(told, 1);
        // The next run flags the same student again: not news.
        let second = risk_run(&app, &[p.student_record]).await;
        let told = srm::mining::alerts::tell_advisors(app.db(), &second)
            .await
            .unwrap();
        assert_eq!(told, 0);
        let mail = rows(&app).await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to_addr, "teacher@example.edu");
        assert_eq!(mail[0].category, "care");
        assert_eq!(mail[0].subject, "A student you advise may need support");
        assert!(
            mail[0].body_text.contains("2025000001"),
            "{}",
            mail[0].body_text
        );
        let student = app.token(p.student).await;
        let (_, notes) = app.get_json("/api/v1/notifications", Some(&student)).await;
        assert!(
            !notes.to_string().to_lowercase().contains("risk"),
            "{notes}"
        );
        assert_eq!(
            srm::mail::queue::count_for(app.db(), p.student, "queued")
                .await
                .unwrap(),
            0
        );
    })
    .await;
}

/// A run that newly flags many students tells their advisors in a few statements, however many
/// (issue 21: told one by one inside the run's saving transaction, a thousand notices held
/// registration day's writes on SQLite for half a minute), each notification as one told alone
/// would be, in its advisor's language.
#[rocket::async_test]
async fn a_run_tells_many_advisors_in_a_few_statements_each_in_their_language() {
    use srm::entity::notifications;
    use srm::interaction::messages::notify::notify_user_with;
    for backend in backends() {
        let app = demo_app(backend, 150).await;
        let db = app.db();
        let advised = advised(db, 40).await;
        let advisors: Vec<i64> = advised.iter().filter_map(|s| s.advisor_id).collect();
        for (advisor, locale) in advisors.iter().zip(["zh", "en"].iter().cycle()).take(2) {
            users::ActiveModel {
                id: Set(*advisor),
                locale: Set(Some(locale.to_string())),
                ..Default::default()
            }
            .update(db)
            .await
            .unwrap();
        }
        let statements = tell_counted(&app, &advised).await;
        assert!(statements.len() <= 8, "{backend:?}: {statements:#?}");
        // Each reads as the same notice told alone.
        let said = |n: notifications::Model| (n.user_id, n.kind, n.title, n.body, n.link, n.words);
        let care = || {
            notifications::Entity::find()
                .filter(notifications::Column::Kind.eq("care.flagged"))
                .all(db)
        };
        let mut batch: Vec<_> = care().await.unwrap().into_iter().map(said).collect();
        notifications::Entity::delete_many()
            .filter(notifications::Column::Kind.eq("care.flagged"))
            .exec(db)
            .await
            .unwrap();
        for s in &advised {
            let who = format!("{} {}", s.student_no, s.name_zh);
            let letter = srm::mail::Letter::new("care.flagged")
                .arg("student", &who)
                .link("/care");
            let title = format!("A student you advise may need support: {who}");
            let advisor = s.advisor_id.unwrap();
            notify_user_with(db, advisor, "care.flagged", &title, "", "/care", &letter)
                .await
                .unwrap();
        }
        let mut alone: Vec<_> = care().await.unwrap().into_iter().map(said).collect();
        batch.sort();
        alone.sort();
        assert_eq!(batch, alone, "{backend:?}");
        let titles: Vec<&str> = batch.iter().map(|n| n.2.as_str()).collect();
        assert!(titles.iter().any(|t| t.contains("学生")), "{titles:?}");
        assert!(titles.iter().any(|t| t.contains("advise")), "{titles:?}");
    }
}

/// With e-mail on, a run's notices and their e-mails are written in a few statements too
/// (issue 21: each was seven or more statements alone, inside the run's saving transaction):
/// each advisor's e-mail to their address, in their language, held for the digest or not sent
/// as they chose, with an audit entry naming its notification and its outbox row.
#[rocket::async_test]
async fn with_email_on_a_run_queues_each_advisors_email_in_a_few_statements_as_each_chose() {
    use srm::entity::{audit_log, notification_prefs, notifications};
    for backend in backends() {
        let app = demo_app(backend, 150).await;
        let db = app.db();
        srm::settings::put(db, "notifications.email", "on".into())
            .await
            .unwrap();
        let advised = advised(db, 40).await;
        let mut advisors: Vec<i64> = advised.iter().filter_map(|s| s.advisor_id).collect();
        advisors.sort_unstable();
        advisors.dedup();
        assert!(advisors.len() >= 3, "{advisors:?}");
        for (i, advisor) in advisors.iter().enumerate() {
            users::ActiveModel {
                id: Set(*advisor),
                email: Set(Some(format!("advisor{advisor}@example.edu"))),
                locale: Set(Some(if i % 2 == 0 { "zh" } else { "en" }.into())),
                ..Default::default()
            }
            .update(db)
            .await
            .unwrap();
        }
        let (portal, digest) = (advisors[0], advisors[1]);
        for (user, mode) in [(portal, "portal"), (digest, "digest")] {
            notification_prefs::ActiveModel {
                user_id: Set(user),
                category: Set("care".into()),
                mode: Set(mode.into()),
                updated_at: Set(Utc::now().fixed_offset()),
            }
            .insert(db)
            .await
            .unwrap();
        }
        let statements = tell_counted(&app, &advised).await;
        assert!(statements.len() <= 12, "{backend:?}: {statements:#?}");

        let told: Vec<notifications::Model> = notifications::Entity::find()
            .filter(notifications::Column::Kind.eq("care.flagged"))
            .all(db)
            .await
            .unwrap();
        let mails: Vec<outbox::Model> = outbox::Entity::find()
            .filter(outbox::Column::Kind.eq("care.flagged"))
            .all(db)
            .await
            .unwrap();
        let entries: Vec<audit_log::Model> = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("notifications.email"))
            .all(db)
            .await
            .unwrap();
        let to_portal = told.iter().filter(|n| n.user_id == portal).count();
        assert!(to_portal > 0);
        assert_eq!(mails.len(), told.len() - to_portal, "{backend:?}");
        assert_eq!(entries.len(), mails.len(), "{backend:?}");
        for entry in &entries {
            let detail: Value = serde_json::from_str(&entry.detail).unwrap();
            let mail = mails
                .iter()
                .find(|m| Some(m.id) == detail["outbox"].as_i64())
                .expect("the entry names an outbox row");
            let notice = told
                .iter()
                .find(|n| entry.entity_id == Some(n.id.to_string()))
                .expect("the entry names a notification");
            let user = mail.user_id.unwrap();
            assert_eq!(notice.user_id, user, "{backend:?}");
            assert_eq!(mail.to_addr, format!("advisor{user}@example.edu"));
            let i = advisors.iter().position(|a| *a == user).unwrap();
            assert_eq!(mail.lang, if i % 2 == 0 { "zh" } else { "en" });
            let status = if user == digest { "held" } else { "queued" };
            assert_eq!(mail.status, status, "{backend:?}");
        }
        assert!(mails.iter().any(|m| m.status == "queued"));
        assert!(mails.iter().any(|m| m.status == "held"));
    }
}

#[rocket::async_test]
async fn students_are_reminded_once_when_registration_closes_within_two_days() {
    on_each_backend(|app| async move {
        mail_on(&app).await;
        let now = Utc::now();
        let term = srm::entity::terms::Entity::find()
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let far = srm::mail::schedule::deadline_reminders(app.db(), now)
            .await
            .unwrap();
        assert_eq!(far, 0, "ten days away: not yet");
        srm::entity::terms::ActiveModel {
            id: Set(term.id),
            registration_closes_at: Set((now + chrono::Duration::hours(30)).fixed_offset()),
            ..Default::default()
        }
        .update(app.db())
        .await
        .unwrap();
        let told = srm::mail::schedule::deadline_reminders(app.db(), now)
            .await
            .unwrap();
        assert_eq!(told, 2, "both students with accounts");
        let again = srm::mail::schedule::deadline_reminders(app.db(), now)
            .await
            .unwrap();
        assert_eq!(again, 0, "once per term, across instances");
        let mut subjects: Vec<String> = rows(&app).await.into_iter().map(|r| r.subject).collect();
        subjects.sort();
        assert_eq!(
            subjects,
            [
                "2026 秋季学期 选课即将截止",
                "Registration for Fall 2026 closes soon"
            ]
        );
    })
    .await;
}

#[rocket::async_test]
async fn an_approved_grade_change_tells_the_student_the_new_grade_and_the_teacher_the_decision() {
    on_each_backend(|app| async move {
        mail_on(&app).await;
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        let admin = app.token(p.admin).await;
        let sec = p.section;
        let (s, v) = app
            .send_json(
                Method::Put,
                &format!("/api/v1/sections/{sec}/grades"),
                Some(&teacher),
                json!({"grades": [{"student_id": p.student_record, "score": 72}]}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let (s, v) = app
            .send_json(
                Method::Post,
                &format!("/api/v1/sections/{sec}/grades/publish"),
                Some(&teacher),
                json!({}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let grade = srm::entity::grades::Entity::find()
            .filter(srm::entity::grades::Column::StudentId.eq(p.student_record))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let (s, c) = app
            .send_json(
                Method::Post,
                &format!("/api/v1/grades/{}/change-requests", grade.id),
                Some(&teacher),
                json!({"new_score": 80, "reason": "question 3 re-marked"}),
            )
            .await;
        assert_eq!(s, Status::Created, "{c}");
        let (s, v) = app
            .send_json(
                Method::Post,
                &format!("/api/v1/grade-changes/{}/approve", c["id"]),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
        let mail = rows(&app).await;
        let to_student: Vec<_> = mail
            .iter()
            .filter(|m| m.to_addr == "li.hua@example.edu" && m.kind == "grade.change_approved")
            .collect();
        assert_eq!(to_student.len(), 1);
        assert!(
            to_student[0].body_text.contains("your grade is now 80"),
            "{}",
            to_student[0].body_text
        );
        let to_teacher: Vec<_> = mail
            .iter()
            .filter(|m| m.to_addr == "teacher@example.edu")
            .collect();
        assert_eq!(to_teacher.len(), 1);
        assert_eq!(to_teacher[0].kind, "grade.change_approved_teacher");
        assert!(to_teacher[0].body_text.contains("2025000001"));
    })
    .await;
}

#[rocket::async_test]
async fn a_portal_notification_reads_in_the_language_of_whoever_reads_it() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let teacher = app.token(p.teacher).await;
        crate::common::publish_grade(&app, &teacher, p.section, p.student_record, 88.0).await;
        let student = app.token(p.student).await;
        let zh = app.page_in("/notifications", &student, "zh-CN").await;
        assert!(zh.contains("成绩已发布"), "{zh}");
        assert!(
            !zh.contains("Grade published"),
            "English on the Chinese page"
        );
        let en = app.page_in("/notifications", &student, "en").await;
        assert!(en.contains("Grade published"), "{en}");
        assert!(!en.contains("成绩已发布"), "Chinese on the English page");
    })
    .await;
}
