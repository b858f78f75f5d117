//! Phones and accessibility in a real browser (headless Chromium through chromedriver, as in
//! `browser`): every student page fits 360, 390 and 414 px without the page scrolling sideways,
//! the menu folds behind a button, the timetable has a day view that includes the weekend, chart
//! text is the size of the body text, and axe-core finds no serious or critical problem on the
//! main pages of a student, a teacher, an advisor and an administrator. Screenshots at 390 and
//! 1366 px are written under `target/screenshots/` for people to look at (not committed).
//! axe-core is read from `target/axe/` (`.ci/run` installs it from its npm package).

use crate::browser::{Page, driver_or_skip, serve};
use crate::common::{PASSWORD, TestApp};
use base64::Engine;
use chrono::Utc;
use rocket::http::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use srm::entity::{courses, enrolments, grades, section_meetings, sections, students};
use std::path::PathBuf;
use std::time::Duration;

/// The target directory this test binary runs from (`target/debug/deps/app-…`).
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")))
}

/// axe-core's source, or why there is none (then the test fails under CI, else is skipped).
pub(crate) fn axe_source() -> Option<String> {
    let path = target_dir().join("axe/node_modules/axe-core/axe.min.js");
    let src = std::fs::read_to_string(&path).ok();
    if src.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "{} is missing: .ci/run installs axe-core there",
            path.display()
        );
        eprintln!("SKIPPED: no {} (run .ci/run once)", path.display());
    }
    src
}

impl Page<'_> {
    async fn exec(&self, script: &str) -> Value {
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/execute/sync", self.sid),
                Some(json!({"script": script, "args": []})),
            )
            .await["value"]
            .clone()
    }

    async fn exec_async(&self, script: &str) -> Value {
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/execute/async", self.sid),
                Some(json!({"script": script, "args": []})),
            )
            .await["value"]
            .clone()
    }

    /// A Chrome DevTools command, through chromedriver.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/goog/cdp/execute", self.sid),
                Some(json!({"cmd": cmd, "params": params})),
            )
            .await["value"]
            .clone()
    }

    /// The page as a phone (`mobile`, so `<meta name="viewport">` counts) or a desktop of
    /// `width` CSS pixels.
    pub(crate) async fn viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 800}),
        )
        .await;
    }

    /// The whole page (not just the screen) as a PNG at `path`.
    async fn screenshot(&self, width: u32, path: &std::path::Path) {
        let height = self
            .exec("return document.documentElement.scrollHeight;")
            .await
            .as_f64()
            .unwrap_or(800.0)
            .min(6000.0);
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                       "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .unwrap_or_default();
        assert!(!png.is_empty(), "screenshot of {}: {shot}", path.display());
        std::fs::create_dir_all(path.parent().expect("folder")).expect("screenshot folder");
        std::fs::write(path, png).expect("write screenshot");
    }

    async fn login(&self, base: &str, user: i64) {
        self.go(&format!("{base}/login")).await;
        self.type_into("#username", &TestApp::username(user)).await;
        self.type_into("#password", PASSWORD).await;
        self.click("#login-submit").await;
        let url = self.wait_for_url("/dashboard").await;
        assert!(url.ends_with("/dashboard"), "logged in as {user}: {url}");
    }

    async fn logout(&self, base: &str) {
        self.go(&format!("{base}/dashboard")).await;
        self.exec("document.querySelector(\"form[action='/logout']\").submit();")
            .await;
        self.wait_for_url("/login").await;
    }

    /// Opens `path` and checks it rendered as a page of the portal (not an error, not the login).
    async fn open(&self, base: &str, path: &str) {
        self.go(&format!("{base}{path}")).await;
        let state = self
            .exec("return [location.pathname, !!document.querySelector('main#main h1'), document.title];")
            .await;
        let want = path.split(['?', '#']).next().unwrap_or(path);
        assert_eq!(state[0], json!(want), "{path} stayed put: {state}");
        assert_eq!(state[1], json!(true), "{path} has a heading: {state}");
    }

    /// How wide the page is against the window, with the widest elements when it overflows.
    pub(crate) async fn overflow(&self) -> (f64, f64, Value) {
        let v = self
            .exec(
                "const w = window.innerWidth;
                 const wide = Array.from(document.querySelectorAll('body *'))
                   .filter(e => e.getBoundingClientRect().right > w + 0.5)
                   .slice(0, 6)
                   .map(e => e.tagName + '.' + e.className + ' → ' + Math.round(e.getBoundingClientRect().right));
                 return [document.documentElement.scrollWidth, w, wide];",
            )
            .await;
        (
            v[0].as_f64().unwrap_or(f64::MAX),
            v[1].as_f64().unwrap_or(0.0),
            v[2].clone(),
        )
    }

    /// axe-core's serious and critical findings on the current page, one line each.
    pub(crate) async fn axe(&self, axe: &str) -> Vec<String> {
        let loaded = self
            .exec(&format!("{axe}\n;return typeof window.axe;"))
            .await;
        assert_eq!(loaded, json!("object"), "axe-core loads");
        let v = self
            .exec_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' @ ' +
                          v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' [' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160) + ']').join(' | '))))
                   .catch(e => done(['axe failed: ' + e]));",
            )
            .await;
        v.as_array()
            .unwrap_or_else(|| panic!("axe answer: {v}"))
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// The test university plus what a student's pages show: a course with a long title that meets
/// on Monday, Saturday and Sunday, times for the first section, a published grade, a
/// conversation with the teacher and an open case; the other teacher advises the student.
async fn phone_university(app: &TestApp) -> (i64, i64) {
    let p = &app.people;
    let db = app.db();
    let now = Utc::now().fixed_offset();
    let first = sections::Entity::find_by_id(p.section)
        .one(db)
        .await
        .expect("query")
        .expect("section");
    let first_course = courses::Entity::find_by_id(first.course_id)
        .one(db)
        .await
        .expect("query")
        .expect("course");
    let course = courses::ActiveModel {
        code: Set("CS450".into()),
        department_id: Set(first_course.department_id),
        title_zh: Set("分布式系统与云计算基础设施高级专题研讨课".into()),
        title_en: Set(
            "Advanced Seminar on Distributed Systems and Cloud Computing Infrastructure".into(),
        ),
        credits: Set(4.0),
        description: Set(String::new()),
        is_active: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("course");
    let section = sections::ActiveModel {
        term_id: Set(first.term_id),
        course_id: Set(course.id),
        section_no: Set("02".into()),
        teacher_id: Set(Some(p.teacher)),
        capacity: Set(40),
        waitlist_capacity: Set(5),
        enrolled_count: Set(1),
        room: Set("Science Building B-1203".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("section");
    for (section_id, weekday, start, end) in [
        (section.id, 1, 5, 6),
        (section.id, 6, 1, 2),
        (section.id, 7, 3, 4),
        (p.section, 3, 1, 2),
    ] {
        section_meetings::ActiveModel {
            section_id: Set(section_id),
            weekday: Set(weekday),
            start_period: Set(start),
            end_period: Set(end),
            start_week: Set(1),
            end_week: Set(16),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("meeting");
    }
    enrolments::ActiveModel {
        student_id: Set(p.student_record),
        section_id: Set(section.id),
        status: Set(srm::entity::enrolments::EnrolmentStatus::Enrolled),
        waitlist_position: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        dropped_at: Set(None),
        override_reason: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("enrolment");
    grades::ActiveModel {
        section_id: Set(p.section),
        student_id: Set(p.student_record),
        score: Set(88.0),
        letter: Set("B+".into()),
        points: Set(3.3),
        status: Set(srm::entity::grades::GradeStatus::Published),
        entered_by: Set(Some(p.teacher)),
        updated_at: Set(now),
        published_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("grade");
    students::ActiveModel {
        id: Set(p.student_record),
        advisor_id: Set(Some(p.other_teacher)),
        ..Default::default()
    }
    .update(db)
    .await
    .expect("advisor");
    let st = app.token(p.student).await;
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/conversations",
            Some(&st),
            json!({"to_user_id": p.teacher, "subject": "Question about the Saturday seminar",
                   "body": "Is the room https://example.invalid/a-very-long-link-without-any-spaces-at-all-0123456789 right?"}),
        )
        .await;
    assert!(s.code < 300, "conversation: {v}");
    let conversation = v["id"].as_i64().expect("conversation id");
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/cases",
            Some(&st),
            json!({"category": "inquiry", "subject": "Transcript correction for the autumn term",
                   "body": "My grade in CS101 is missing."}),
        )
        .await;
    assert!(s.code < 300, "case: {v}");
    (conversation, v["id"].as_i64().expect("case id"))
}

#[rocket::async_test]
async fn every_student_page_fits_a_phone_with_a_folding_menu_and_a_weekend_day_view() {
    let Some(driver) = driver_or_skip().await else {
        return;
    };
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let (conversation, case) = phone_university(&app).await;
    let base = serve(&app).await;
    let shots = target_dir().join("screenshots");
    let student_pages = [
        ("dashboard", "/dashboard".to_string()),
        ("catalogue", "/courses".to_string()),
        ("registrations", "/registrations".to_string()),
        ("timetable", "/registrations#timetable".to_string()),
        ("grades", "/me/record".to_string()),
        ("transcript", "/me/transcript".to_string()),
        ("attendance", "/me/attendance".to_string()),
        ("suggestions", "/me/suggestions".to_string()),
        ("messages", "/messages".to_string()),
        ("conversation", format!("/messages/{conversation}")),
        ("cases", "/cases".to_string()),
        ("case", format!("/cases/{case}")),
        ("surveys", "/feedback".to_string()),
        ("notifications", "/notifications".to_string()),
        ("profile", "/me/record".to_string()),
        ("record-reads", "/me/record/reads".to_string()),
        ("my-data", "/me/data".to_string()),
        ("password", "/account/password".to_string()),
        ("mail-prefs", "/account/notifications".to_string()),
    ];
    for lang in ["zh-CN", "en-US"] {
        let profile = app.dir.join(format!("chrome-phone-{lang}"));
        let page = Page {
            d: &driver,
            sid: driver.session(lang, &profile).await,
        };
        page.viewport(390, 844).await;
        page.login(&base, app.people.student).await;
        let short = &lang[..2];
        for width in [360, 390, 414, 1366] {
            page.viewport(width, if width < 800 { 844 } else { 900 })
                .await;
            for (name, path) in &student_pages {
                page.open(&base, path).await;
                let (scroll, inner, wide) = page.overflow().await;
                assert_eq!(inner, f64::from(width), "the window is {width} px wide");
                assert!(
                    scroll <= inner,
                    "{lang} {path} at {width} px: the page is {scroll} px wide; widest: {wide}"
                );
                if width == 390 || width == 1366 {
                    page.screenshot(
                        width,
                        &shots.join(format!("student-{name}-{short}-{width}.png")),
                    )
                    .await;
                }
            }
        }

        // On a phone the menu is folded behind one button and opens with a tap; logging out is
        // then on the screen. On a desktop the menu is simply there.
        page.viewport(390, 844).await;
        page.open(&base, "/courses").await;
        let shown = "return [getComputedStyle(document.querySelector('.nav-panel')).display !== 'none',
                             getComputedStyle(document.querySelector('.nav-toggle-label')).display !== 'none'];";
        assert_eq!(
            page.exec(shown).await,
            json!([false, true]),
            "folded on a phone"
        );
        page.click(".nav-toggle-label").await;
        assert_eq!(
            page.exec(shown).await,
            json!([true, true]),
            "opened by a tap"
        );
        let logout = page
            .exec("const r = document.querySelector(\"form[action='/logout'] button\").getBoundingClientRect();
                   return [r.left >= 0 && r.right <= window.innerWidth, r.height >= 44];")
            .await;
        assert_eq!(
            logout,
            json!([true, true]),
            "log out is on screen and thumb-sized"
        );
        page.screenshot(
            390,
            &shots.join(format!("student-menu-open-{short}-390.png")),
        )
        .await;
        page.viewport(1366, 900).await;
        page.open(&base, "/courses").await;
        assert_eq!(
            page.exec(shown).await,
            json!([true, false]),
            "open on a desktop"
        );

        // The catalogue's rows are cards on a phone, with the register action full width.
        page.viewport(390, 844).await;
        page.open(&base, "/courses").await;
        let cards = page
            .exec("const rows = Array.from(document.querySelectorAll('table.cards tbody tr'));
                   return [rows.length, rows.every(r => getComputedStyle(r).display === 'flex'),
                           Array.from(document.querySelectorAll('table.cards td.card-title')).every(t => t.getBoundingClientRect().width > 250)];")
            .await;
        assert_eq!(
            cards,
            json!([2, true, true]),
            "two course cards with readable titles"
        );

        // The timetable on a phone: a list per day, Saturday and Sunday included, with clock times.
        page.open(&base, "/registrations").await;
        let days = page
            .exec("const v = document.querySelector('.dayview');
                   return [getComputedStyle(v).display, getComputedStyle(document.querySelector('table.timetable')).display,
                           Array.from(v.querySelectorAll('h3')).map(h => h.textContent.trim()),
                           Array.from(v.querySelectorAll('li')).map(l => l.textContent.replace(/\\s+/g, ' ').trim())];")
            .await;
        assert_eq!(days[0], json!("block"), "day view shown on a phone: {days}");
        assert_eq!(
            days[1],
            json!("none"),
            "week grid hidden on a phone: {days}"
        );
        let heads: Vec<&str> = days[2]
            .as_array()
            .expect("days")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let (sat, sun) = if short == "zh" {
            ("周六", "周日")
        } else {
            ("Sat", "Sun")
        };
        assert_eq!(heads.len(), 7, "seven days: {heads:?}");
        assert!(
            heads[5].contains(sat) && heads[6].contains(sun),
            "{heads:?}"
        );
        let items = days[3].to_string();
        assert!(
            items.contains("CS450") && items.matches("CS450").count() == 3,
            "three meetings of CS450 (Mon, Sat, Sun): {items}"
        );
        assert!(items.contains("08:00"), "clock times: {items}");
        // Drop (and swap) are full-width, thumb-sized buttons at the foot of each card.
        let thumbs = page
            .exec("return Array.from(document.querySelectorAll('table.cards td.card-actions button'))
                     .map(b => { const r = b.getBoundingClientRect(); return r.height >= 44 && r.width >= 300; });")
            .await;
        assert_eq!(thumbs, json!([true, true]), "two drop buttons: {thumbs}");
        page.screenshot(390, &shots.join(format!("student-dayview-{short}-390.png")))
            .await;
        page.close().await;
    }
}

#[rocket::async_test]
async fn axe_finds_nothing_serious_on_the_main_pages_of_each_role() {
    let Some(driver) = driver_or_skip().await else {
        return;
    };
    let Some(axe) = axe_source() else {
        return;
    };
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let (conversation, case) = phone_university(&app).await;
    let p = app.people.clone();
    let base = serve(&app).await;
    let s = p.section;
    let roles: Vec<(&str, Option<i64>, Vec<String>)> = vec![
        (
            "anonymous",
            None,
            vec!["/login".into(), "/login/activate".into()],
        ),
        (
            "student",
            Some(p.student),
            [
                "/dashboard",
                "/courses",
                "/registrations",
                "/me/record",
                "/me/transcript",
                "/me/attendance",
                "/me/suggestions",
                "/me/data",
                "/messages",
                "/cases",
                "/feedback",
                "/notifications",
                "/account/password",
                "/account/notifications",
            ]
            .iter()
            .map(|x| x.to_string())
            .chain([
                format!("/messages/{conversation}"),
                format!("/cases/{case}"),
            ])
            .collect(),
        ),
        (
            "teacher",
            Some(p.teacher),
            vec![
                "/dashboard".into(),
                "/grades".into(),
                "/attendance".into(),
                format!("/grades/sections/{s}"),
                format!("/grades/sections/{s}/statistics"),
                "/messages".into(),
                "/care".into(),
                "/feedback".into(),
            ],
        ),
        (
            "advisor",
            Some(p.other_teacher),
            vec![
                "/dashboard".into(),
                "/students".into(),
                format!("/students/{}", p.student_record),
                "/mining/flags".into(),
                "/care".into(),
            ],
        ),
        (
            "admin",
            Some(p.admin),
            vec![
                "/dashboard".into(),
                "/students".into(),
                "/admin/users".into(),
                "/admin/groups".into(),
                "/admin/modules".into(),
                "/admin/audit".into(),
                "/admin/backups".into(),
                "/admin/outbox".into(),
                "/courses/manage".into(),
                "/mining".into(),
                "/cases".into(),
                "/announcements".into(),
            ],
        ),
    ];
    let mut found = Vec::new();
    for lang in ["zh-CN", "en-US"] {
        let profile = app.dir.join(format!("chrome-axe-{lang}"));
        let page = Page {
            d: &driver,
            sid: driver.session(lang, &profile).await,
        };
        page.d
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/timeouts", page.sid),
                Some(json!({"script": 60000})),
            )
            .await;
        for (role, user, paths) in &roles {
            if let Some(u) = user {
                page.login(&base, *u).await;
            }
            for width in [390, 1366] {
                page.viewport(width, 900).await;
                for path in paths {
                    page.open(&base, path).await;
                    for v in page.axe(&axe).await {
                        found.push(format!("{lang} {role} {path} @{width}px: {v}"));
                    }
                    if *role != "student" {
                        let slug = path.trim_matches('/').replace('/', "-");
                        let name = format!("{role}-{slug}-{}-{width}.png", &lang[..2]);
                        page.screenshot(width, &target_dir().join("screenshots").join(name))
                            .await;
                    }
                }
            }
            if user.is_some() {
                page.logout(&base).await;
            }
        }
        page.close().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found.is_empty(), "axe-core found:\n{}", found.join("\n"));
}

#[rocket::async_test]
async fn chart_text_is_body_sized_and_statistics_headers_sit_over_their_values() {
    let Some(driver) = driver_or_skip().await else {
        return;
    };
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    phone_university(&app).await;
    let p = app.people.clone();
    let base = serve(&app).await;
    let profile = app.dir.join("chrome-charts");
    let page = Page {
        d: &driver,
        sid: driver.session("en-US", &profile).await,
    };
    let body_sized = "const body = parseFloat(getComputedStyle(document.body).fontSize);
        return Array.from(document.querySelectorAll('.bar-label, .bar-value'))
          .map(e => parseFloat(getComputedStyle(e).fontSize) / body);";
    page.login(&base, p.student).await;
    for width in [390, 1366] {
        page.viewport(width, 900).await;
        page.open(&base, "/me/record").await;
        let sizes = page.exec(body_sized).await;
        let sizes = sizes.as_array().expect("sizes");
        assert!(!sizes.is_empty(), "the GPA chart has labels at {width} px");
        assert!(
            sizes.iter().all(|r| r.as_f64() == Some(1.0)),
            "chart text is body text at {width} px: {sizes:?}"
        );
    }
    page.logout(&base).await;

    page.login(&base, p.teacher).await;
    page.viewport(1366, 900).await;
    page.open(&base, &format!("/grades/sections/{}/statistics", p.section))
        .await;
    let misaligned = page
        .exec("const t = document.querySelector('table.table-stats');
               const th = Array.from(t.querySelectorAll('thead th'));
               const td = Array.from(t.querySelectorAll('tbody tr:first-child td'));
               return [th.length, td.length, th.map((h, i) => Math.abs(h.getBoundingClientRect().right - td[i].getBoundingClientRect().right))
                 .filter(d => d > 1)];")
        .await;
    assert_eq!(
        misaligned,
        json!([7, 7, []]),
        "each statistic sits under its header"
    );
    page.screenshot(
        1366,
        &target_dir().join("screenshots/teacher-statistics-en-1366.png"),
    )
    .await;
    page.close().await;
}

#[rocket::async_test]
async fn the_teachers_roll_fits_a_phone_with_thumb_sized_marks() {
    let Some(driver) = driver_or_skip().await else {
        return;
    };
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    crate::attendance::meets_weekly(&app).await;
    let p = app.people.clone();
    let base = serve(&app).await;
    let shots = target_dir().join("screenshots");
    for lang in ["zh-CN", "en-US"] {
        let profile = app.dir.join(format!("chrome-roll-{lang}"));
        let page = Page {
            d: &driver,
            sid: driver.session(lang, &profile).await,
        };
        page.viewport(390, 844).await;
        page.login(&base, p.teacher).await;
        let today = chrono::Local::now().date_naive();
        for path in [
            "/attendance".to_string(),
            format!("/attendance/sections/{}/{today}", p.section),
        ] {
            page.open(&base, &path).await;
            let (scroll, inner, wide) = page.overflow().await;
            assert!(
                scroll <= inner,
                "{lang} {path} at 390 px: the page is {scroll} px wide; widest: {wide}"
            );
        }
        let marks = page
            .exec(
                "const m = Array.from(document.querySelectorAll('.roll-mark'));
                   return [m.length, m.every(e => e.getBoundingClientRect().height >= 44)];",
            )
            .await;
        assert_eq!(
            marks,
            json!([8, true]),
            "four thumb-sized marks per student"
        );
        page.screenshot(
            390,
            &shots.join(format!("teacher-roll-{}-390.png", &lang[..2])),
        )
        .await;
        page.close().await;
    }
}
