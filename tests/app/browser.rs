//! A real browser: headless Chromium, driven through chromedriver's WebDriver protocol, logs in
//! through the login form as a student and as an administrator and reaches their dashboards, in
//! Chinese and in English. `.ci/run` installs Debian's chromium and chromium-driver; without
//! them the test fails under CI and is skipped (with a message) on a developer's machine.

use crate::common::{Backend, PASSWORD, TestApp};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub(crate) struct Driver {
    child: Child,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Option<Driver> {
        let bin = ["chromedriver", "/usr/bin/chromedriver"]
            .into_iter()
            .find(|b| {
                Command::new(b)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })?;
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        for _ in 0..100 {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                && r.status().is_success()
            {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("webdriver request");
        res.json::<Value>().await.expect("webdriver json")
    }

    pub(crate) async fn session(&self, accept_language: &str, profile: &std::path::Path) -> String {
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", profile.display()), format!("--lang={accept_language}")],
            "prefs": {"intl.accept_languages": accept_language}
        }}}});
        let v = self
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await;
        v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string()
    }
}

pub(crate) struct Page<'a> {
    pub(crate) d: &'a Driver,
    pub(crate) sid: String,
}

impl Page<'_> {
    pub(crate) async fn go(&self, url: &str) {
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/url", self.sid),
                Some(json!({"url": url})),
            )
            .await;
    }
    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/element", self.sid),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        let obj = v["value"]
            .as_object()
            .unwrap_or_else(|| panic!("element {css}: {v}"));
        obj.values()
            .next()
            .and_then(|x| x.as_str())
            .unwrap_or_else(|| panic!("element {css}: {v}"))
            .to_string()
    }
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/element/{el}/value", self.sid),
                Some(json!({"text": text})),
            )
            .await;
    }
    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/element/{el}/click", self.sid),
                Some(json!({})),
            )
            .await;
    }
    /// A property of the element `css` (e.g. an input's current `value`).
    pub(crate) async fn property(&self, css: &str, name: &str) -> Value {
        let el = self.find(css).await;
        self.d
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/element/{el}/property/{name}", self.sid),
                None,
            )
            .await["value"]
            .clone()
    }
    pub(crate) async fn url(&self) -> String {
        self.d
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/url", self.sid),
                None,
            )
            .await["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    pub(crate) async fn source(&self) -> String {
        self.d
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/source", self.sid),
                None,
            )
            .await["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    pub(crate) async fn wait_for_url(&self, suffix: &str) -> String {
        for _ in 0..50 {
            let u = self.url().await;
            if u.ends_with(suffix) {
                return u;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.url().await
    }
    /// The page's source once it contains `text` (the page may still be loading after its
    /// address changed), or the last source seen after five seconds.
    pub(crate) async fn wait_for_text(&self, text: &str) -> String {
        let mut html = String::new();
        for _ in 0..50 {
            html = self.source().await;
            if html.contains(text) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        html
    }
    pub(crate) async fn close(&self) {
        self.d
            .call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.sid),
                None,
            )
            .await;
    }
}

/// The app on a real port over the test's database; returns its base address.
pub(crate) async fn serve(app: &TestApp) -> String {
    serve_on(app, free_port()).await
}

/// The same on a port chosen beforehand (when the configuration must name the address).
pub(crate) async fn serve_on(app: &TestApp, port: u16) -> String {
    let state = srm::prepare(app.config.clone()).await.expect("state");
    let figment = rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("port", port))
        .merge(("address", "127.0.0.1"));
    let server = srm::build(figment, state).ignite().await.expect("ignite");
    tokio::spawn(server.launch());
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..50 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    base
}

/// Starts chromedriver, or says why the test is skipped (it fails under CI).
pub(crate) async fn driver_or_skip() -> Option<Driver> {
    let driver = Driver::start().await;
    if driver.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "chromedriver is missing: .ci/run must install chromium and chromium-driver"
        );
        eprintln!("SKIPPED: chromedriver not installed (apt-get install chromium chromium-driver)");
    }
    driver
}

#[rocket::async_test]
async fn a_browser_logs_in_through_the_form_and_reaches_each_dashboard_in_both_languages() {
    let Some(driver) = driver_or_skip().await else {
        return;
    };
    let app = TestApp::new(Backend::Sqlite).await;
    let base = serve(&app).await;

    for (lang, login_button, student_marker, admin_marker) in [
        ("zh-CN", "登录", "本学期我的课程", "各院系在读学生"),
        (
            "en-US",
            "Log in",
            "My courses this term",
            "Active students by department",
        ),
    ] {
        let profile = app.dir.join(format!("chrome-{lang}"));
        let page = Page {
            d: &driver,
            sid: driver.session(lang, &profile).await,
        };
        for (user, marker) in [
            (app.people.student, student_marker),
            (app.people.admin, admin_marker),
        ] {
            page.go(&format!("{base}/dashboard")).await;
            assert!(
                page.wait_for_url("/login?next=/dashboard")
                    .await
                    .contains("/login"),
                "sent to the login form"
            );
            let html = page.source().await;
            assert!(html.contains(login_button), "login form in {lang}");
            page.type_into("#username", &TestApp::username(user)).await;
            page.type_into("#password", PASSWORD).await;
            page.click("#login-submit").await;
            let url = page.wait_for_url("/dashboard").await;
            assert!(
                url.ends_with("/dashboard"),
                "reached the dashboard, at {url}"
            );
            let html = page.wait_for_text(marker).await;
            assert!(
                html.contains(marker),
                "{lang} dashboard for user {user}: {html}"
            );
            page.click("form[action='/logout'] button").await;
            page.wait_for_url("/login").await;
        }
        page.close().await;
    }
}

#[rocket::async_test]
async fn a_teacher_types_two_scores_saves_and_publishing_asks_first() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use srm::entity::grades;
    let Some(driver) = driver_or_skip().await else {
        return;
    };
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    let extra = crate::grades::enrol(&app, p.section, 3, "2025800").await;
    // Homework is in for everyone, so each student has a partial computed score that the old
    // grid put into the boxes.
    let teacher = app.token(p.teacher).await;
    let (_, a) = app
        .send_json(
            rocket::http::Method::Post,
            &format!("/api/v1/sections/{}/assessments", p.section),
            Some(&teacher),
            json!({"name": "Homework 1", "weight": 25, "max_score": 100}),
        )
        .await;
    let everyone: Vec<i64> = std::iter::once(p.student_record)
        .chain(extra.iter().map(|e| e.0))
        .collect();
    let rows: Vec<Value> = everyone
        .iter()
        .map(|s| json!({"student_id": s, "score": 30}))
        .collect();
    app.send_json(
        rocket::http::Method::Put,
        &format!("/api/v1/assessments/{}/scores", a["id"]),
        Some(&teacher),
        json!({ "scores": rows }),
    )
    .await;
    let base = serve(&app).await;
    let profile = app.dir.join("chrome-teacher");
    let page = Page {
        d: &driver,
        sid: driver.session("en-US", &profile).await,
    };
    let grid = format!("/grades/sections/{}", p.section);
    page.go(&format!("{base}{grid}")).await;
    page.wait_for_url(&format!("next={grid}")).await;
    page.type_into("#username", &TestApp::username(p.teacher))
        .await;
    page.type_into("#password", PASSWORD).await;
    page.click("#login-submit").await;
    page.wait_for_url(&grid).await;
    let html = page.wait_for_text("grade-grid").await;
    assert!(
        html.contains("1 of 1 assessments") || html.contains("all 1 assessments"),
        "{html}"
    );
    for s in &everyone {
        assert_eq!(
            page.property(&format!("input[name='score_{s}']"), "value")
                .await,
            json!(""),
            "box of student {s} starts empty"
        );
    }
    page.type_into(&format!("input[name='score_{}']", everyone[0]), "88")
        .await;
    page.type_into(&format!("input[name='score_{}']", everyone[2]), "57")
        .await;
    page.click("#grid-save").await;
    let url = page.wait_for_url("saved=2-0-0").await;
    assert!(url.ends_with("saved=2-0-0"), "saved two, at {url}");
    page.wait_for_text("grade-grid").await;
    for (i, s) in everyone.iter().enumerate() {
        let want = match i {
            0 => "88",
            2 => "57",
            _ => "",
        };
        assert_eq!(
            page.property(&format!("input[name='score_{s}']"), "value")
                .await,
            json!(want),
            "box of student {s} after saving"
        );
    }
    let count = |status: &'static str| {
        let db = app.db().clone();
        async move {
            grades::Entity::find()
                .filter(grades::Column::Status.eq(status))
                .count(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("draft").await, 2);

    // Publishing asks first: the summary, and no confirm while two students have no grade.
    page.click("#grid-publish").await;
    let html = page.wait_for_text("publish-summary").await;
    assert!(
        html.contains("4 students: 2 with a grade, 2 without; 1 failing (25%)."),
        "{html}"
    );
    assert!(
        !html.contains("publish-confirm"),
        "no confirm while grades are missing"
    );
    assert_eq!(count("published").await, 0, "nothing published");

    // With every grade in, the summary offers the confirmation, and only that publishes.
    page.go(&format!("{base}{grid}")).await;
    page.wait_for_text("grade-grid").await;
    page.type_into(&format!("input[name='score_{}']", everyone[1]), "70")
        .await;
    page.type_into(&format!("input[name='score_{}']", everyone[3]), "91")
        .await;
    page.click("#grid-save").await;
    page.wait_for_url("saved=2-0-2").await;
    page.wait_for_text("grade-grid").await;
    page.click("#grid-publish").await;
    page.wait_for_text("publish-confirm").await;
    assert_eq!(count("published").await, 0, "still nothing published");
    page.click("#publish-confirm").await;
    let url = page.wait_for_url("published=4").await;
    assert!(
        url.ends_with("published=4"),
        "published after confirming, at {url}"
    );
    assert_eq!(count("published").await, 4);
    page.close().await;
}
