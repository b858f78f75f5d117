//! Every page each role can reach, and the main error paths, in Chinese and in English: no
//! untranslated key, no ISO datetime, and no raw English word or code in a Chinese page's
//! visible text (beyond what is genuinely written in Latin letters: codes, numbers, names).

use crate::common::{TestApp, multipart, on_each_backend};
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::json;
use std::collections::BTreeSet;

/// The visible text of a page: scripts, styles, `<code>`, the values in form fields
/// (`<textarea>`) and tags (with their attribute values) removed, entities decoded.
pub fn visible_text(html: &str) -> String {
    let mut s = html.to_string();
    for tag in ["script", "style", "code", "svg", "template", "textarea"] {
        while let Some(start) = s.find(&format!("<{tag}")) {
            let close = format!("</{tag}>");
            let end = s[start..]
                .find(&close)
                .map_or(s.len(), |e| start + e + close.len());
            s.replace_range(start..end, " ");
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// An ISO datetime (`2026-12-20T07:03`) anywhere in the text.
pub fn iso_datetime(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    (0..b.len())
        .find(|&i| {
            (0..4).all(|k| d(i + k))
                && at(i + 4, b'-')
                && d(i + 5)
                && d(i + 6)
                && at(i + 7, b'-')
                && d(i + 8)
                && d(i + 9)
                && at(i + 10, b'T')
                && d(i + 11)
                && d(i + 12)
                && at(i + 13, b':')
                && d(i + 14)
                && d(i + 15)
        })
        .map(|i| text[i..(i + 16).min(text.len())].to_string())
}

/// Words of the text that look like a translation key left untranslated (`grades.title`,
/// `error.code.time_conflict`): the i18n layer shows the key itself when a string is missing.
pub fn untranslated_keys(text: &str) -> Vec<String> {
    let prefixes: BTreeSet<String> = srm::i18n::Lang::Zh
        .dict()
        .keys()
        .filter_map(|k| k.split('.').next())
        .map(str::to_string)
        .collect();
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| {
            let mut parts = w.split('.');
            let first = parts.next().unwrap_or_default();
            w.contains('.')
                && prefixes.contains(first)
                && parts.all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
        })
        .map(str::to_string)
        .collect()
}

/// Latin words that may stand in a Chinese page: abbreviations used as such in Chinese, units,
/// the product name, file formats and encodings, letter grades.
const ALLOWED: &[&str] = &[
    "SRM",
    "GPA",
    "CSV",
    "UTF",
    "GBK",
    "KB",
    "MB",
    "GB",
    "API",
    "OpenAPI",
    "PDF",
    "UTC",
    "windows",
    "ISO",
    "Shift_JIS",
    "EUC",
    "KR",
    "A",
    "B",
    "C",
    "D",
    "F",
    "P",
    "English",
    "JSON",
    "Tab",
    "SQLite",
    "PostgreSQL",
];

/// Raw English words or codes in a Chinese page's visible text; `names` are the data values
/// written in Latin letters (user names, people's English names).
pub fn latin_words(text: &str, names: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split_whitespace() {
        if word.contains('@') || names.contains(word) {
            continue;
        }
        for tok in word.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let has_letter = tok.chars().any(|c| c.is_ascii_alphabetic());
            let has_digit = tok.chars().any(|c| c.is_ascii_digit());
            // Codes and numbers: CS101, 2025000001, user12, S01, v1.
            let code = has_digit && !tok.contains('_');
            if !has_letter || code || ALLOWED.contains(&tok) || names.contains(tok) {
                continue;
            }
            found.push(tok.to_string());
        }
    }
    found
}

/// The Latin-letter data of the fixtures: user names and display names, people's English
/// names, course titles in English are not allowed (a Chinese page shows the Chinese title).
async fn latin_names(app: &TestApp) -> BTreeSet<String> {
    use sea_orm::EntityTrait;
    let mut names = BTreeSet::new();
    for u in srm::entity::users::Entity::find()
        .all(app.db())
        .await
        .unwrap()
    {
        names.insert(u.username.clone());
        for w in u.display_name.split_whitespace() {
            names.insert(w.to_string());
        }
    }
    for g in srm::entity::groups::Entity::find()
        .all(app.db())
        .await
        .unwrap()
    {
        names.extend(g.name.split_whitespace().map(str::to_string));
    }
    // NOTE: a scale's name (the default one read from the seed) is written in both languages
    // by whoever defined it.
    let seed: serde_json::Value =
        serde_json::from_str(include_str!("../../seed/grading_scale.json")).unwrap();
    names.extend(
        seed["name"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string),
    );
    for s in srm::entity::grading_scales::Entity::find()
        .all(app.db())
        .await
        .unwrap()
    {
        names.extend(s.name.split_whitespace().map(str::to_string));
    }
    for s in srm::entity::students::Entity::find()
        .all(app.db())
        .await
        .unwrap()
    {
        for w in s.name_en.split_whitespace() {
            names.insert(w.to_string());
        }
    }
    names
}

/// What is wrong with one page in one language.
pub fn problems(html: &str, zh: bool, names: &BTreeSet<String>) -> Vec<String> {
    let text = visible_text(html);
    let mut out = Vec::new();
    for k in untranslated_keys(&text) {
        out.push(format!("untranslated key {k}"));
    }
    if let Some(d) = iso_datetime(&text) {
        out.push(format!("ISO datetime {d}"));
    }
    if zh {
        let words = latin_words(&text, names);
        if !words.is_empty() {
            out.push(format!("English in the Chinese page: {words:?}"));
        }
    }
    out
}

const LANGS: [(&str, bool); 2] = [("zh-CN,zh;q=0.9", true), ("en-US,en;q=0.9", false)];

/// The page routes to sweep, with their parameters filled from the fixtures.
fn page_paths(app: &TestApp, ids: &SweepIds) -> Vec<String> {
    let skip = [
        "/static/", "/favicon", "/healthz", "/readyz", "/metrics", "/lang/", "/api", "/logout",
    ];
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for r in app.client.rocket().routes() {
        let p = r.uri.path().to_string();
        if r.method != Method::Get
            || skip.iter().any(|s| p.starts_with(s))
            || p.ends_with(".csv")
            || p.ends_with(".json")
        {
            continue;
        }
        let filled = fill(&p, ids);
        if let Some(f) = filled {
            paths.insert(f);
        }
    }
    paths.into_iter().collect()
}

pub struct SweepIds {
    pub student: i64,
    pub section: i64,
    pub assessment: i64,
    pub grade: i64,
    pub job: i64,
    pub user: i64,
    pub group: i64,
    pub case: i64,
    pub conversation: i64,
    pub survey: i64,
    pub run: i64,
}

fn fill(pattern: &str, ids: &SweepIds) -> Option<String> {
    if !pattern.contains('<') {
        return Some(pattern.to_string());
    }
    if pattern == "/attendance/sections/<id>/<date>" {
        let today = chrono::Local::now().date_naive();
        return Some(format!("/attendance/sections/{}/{today}", ids.section));
    }
    let id = if pattern.starts_with("/students/import/jobs/") {
        ids.job
    } else if pattern.starts_with("/students/") {
        ids.student
    } else if pattern.starts_with("/grades/sections/")
        || pattern.starts_with("/sections/")
        || pattern.starts_with("/attendance/sections/")
    {
        ids.section
    } else if pattern.starts_with("/grades/assessments/") {
        ids.assessment
    } else if pattern.starts_with("/grades/entries/") {
        ids.grade
    } else if pattern.starts_with("/admin/users/") {
        ids.user
    } else if pattern.starts_with("/admin/groups/") {
        ids.group
    } else if pattern.starts_with("/cases/") {
        ids.case
    } else if pattern.starts_with("/messages/") {
        ids.conversation
    } else if pattern.starts_with("/feedback/") {
        ids.survey
    } else if pattern.starts_with("/mining/runs/") {
        ids.run
    } else {
        return None;
    };
    let open = pattern.find('<')?;
    let close = pattern[open..].find('>')? + open;
    Some(format!(
        "{}{}{}",
        &pattern[..open],
        id,
        &pattern[close + 1..]
    ))
}

/// Fetches `path` in both languages as the logged-in page session; returns the failures.
async fn sweep_one(app: &TestApp, who: &str, path: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let names = &latin_names(app).await;
    for (accept, zh) in LANGS {
        let res = app
            .client
            .get(path.to_string())
            .header(Header::new("Accept-Language", accept))
            .dispatch()
            .await;
        let status = res.status();
        let html_page = res.content_type().is_some_and(|c| c == ContentType::HTML);
        if status.code >= 500 {
            failures.push(format!("{who} {path}: {status}"));
            continue;
        }
        if !html_page {
            continue;
        }
        let html = res.into_string().await.unwrap_or_default();
        let found = problems(&html, zh, names);
        if let Some(dir) = std::env::var_os("SRM_SWEEP_DUMP").filter(|_| !found.is_empty()) {
            let name = format!(
                "{who}{}-{}.html",
                path.replace('/', "_"),
                if zh { "zh" } else { "en" }
            );
            std::fs::write(std::path::Path::new(&dir).join(name), &html).ok();
        }
        for p in found {
            failures.push(format!(
                "{who} {path} [{}]: {p}",
                if zh { "zh" } else { "en" }
            ));
        }
    }
    failures
}

/// Sends one request in both languages and checks the answer (following one redirect, as a
/// refusal that travels in a flash cookie does); returns the failures and the Chinese page.
async fn sweep_request(
    app: &TestApp,
    label: &str,
    method: Method,
    path: &str,
    body: Option<(ContentType, Vec<u8>)>,
) -> (Vec<String>, String) {
    let names = latin_names(app).await;
    let mut failures = Vec::new();
    let mut chinese = String::new();
    for (accept, zh) in LANGS {
        let mut req = app
            .client
            .req(method, path.to_string())
            .header(Header::new("Accept-Language", accept));
        if let Some((ct, b)) = &body {
            req = req.header(ct.clone()).body(b.clone());
        }
        let res = req.dispatch().await;
        let html = if res.status() == Status::SeeOther {
            let to = res
                .headers()
                .get_one("Location")
                .unwrap_or_default()
                .to_string();
            app.client
                .get(to)
                .header(Header::new("Accept-Language", accept))
                .dispatch()
                .await
                .into_string()
                .await
                .unwrap_or_default()
        } else {
            res.into_string().await.unwrap_or_default()
        };
        for p in problems(&html, zh, &names) {
            if let Some(dir) = std::env::var_os("SRM_SWEEP_DUMP") {
                let name = format!(
                    "{}-{}.html",
                    label.replace(' ', "_"),
                    if zh { "zh" } else { "en" }
                );
                std::fs::write(std::path::Path::new(&dir).join(name), &html).ok();
            }
            failures.push(format!("{label} [{}]: {p}", if zh { "zh" } else { "en" }));
        }
        if zh {
            chinese = html;
        }
    }
    (failures, chinese)
}

/// A multipart body with the form's CSRF token, a dry-run flag and a CSV file.
fn upload(csrf: &str, csv: &str, dry_run: bool) -> (ContentType, Vec<u8>) {
    let dry_run = dry_run.to_string();
    multipart(
        &[("_csrf", csrf), ("dry_run", &dry_run)],
        &[("file", "s.csv", csv.as_bytes())],
    )
}

const IMPORT_CSV: &str = "student_no,national_id,name_zh,name_en,gender,birth_date,phone,email,address,department,major,cohort,status,advisor\n\
2024300001,,页,Ye,X,2005-13-04,12,bad-mail,,CS,NOPE,19x4,asleep,nobody\n\
2024300002,,,,,,,,,,CS01,2024,,\n\
2024300002,,重复,,,,,,,,CS01,2024,,\n";

/// The data the pages are swept with: a waitlisted and an enrolled section, a complaint, an
/// import job with refused rows.
async fn populate(app: &TestApp) {
    use crate::registration::{course, current_term, section};
    let db = app.db();
    let p = app.people.clone();
    let term = current_term(db).await;
    let full = section(
        db,
        term,
        course(db, "T100", 2.0).await,
        "01",
        0,
        5,
        &[(1, 1, 2)],
    )
    .await;
    let r = srm::registration::service::add(db, p.student_record, full, None)
        .await
        .unwrap();
    assert_eq!(r.status.as_str(), "waitlisted");
    let mine = section(
        db,
        term,
        course(db, "T500", 2.0).await,
        "01",
        10,
        0,
        &[(3, 1, 2)],
    )
    .await;
    srm::registration::service::add(db, p.student_record, mine, None)
        .await
        .unwrap();
    // The fixture section meets today (evening periods, clashing with nothing), and its roll is
    // taken with the student absent: the roll, the student's record and the 360° page show it.
    {
        use chrono::Datelike;
        use sea_orm::{ActiveModelTrait, EntityTrait};
        let today = chrono::Local::now().date_naive();
        let term_id = srm::entity::sections::Entity::find_by_id(p.section)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .term_id;
        let mut t: srm::entity::terms::ActiveModel =
            srm::entity::terms::Entity::find_by_id(term_id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .into();
        t.starts_on = sea_orm::Set(today);
        t.update(db).await.unwrap();
        srm::entity::section_meetings::ActiveModel {
            section_id: sea_orm::Set(p.section),
            weekday: sea_orm::Set(i64::from(today.weekday().number_from_monday())),
            start_period: sea_orm::Set(11),
            end_period: sea_orm::Set(12),
            start_week: sea_orm::Set(1),
            end_week: sea_orm::Set(16),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        let teacher = app.token(p.teacher).await;
        let (s, v) = app
            .send_json(
                Method::Put,
                &format!("/api/v1/sections/{}/attendance/{today}", p.section),
                Some(&teacher),
                json!({"marks": [{"student_id": p.student_record, "status": "absent"}]}),
            )
            .await;
        assert_eq!(s, Status::Ok, "{v}");
    }
    let student = app.token(p.student).await;
    let (s, case) = app
        .send_json(
            Method::Post,
            "/api/v1/cases",
            Some(&student),
            json!({"category": "complaint", "subject": "宿舍", "body": "太吵"}),
        )
        .await;
    assert_eq!(s, Status::Created, "{case}");
    let csrf = app.page_login(p.admin).await;
    let (ct, body) = upload(&csrf, IMPORT_CSV, false);
    let res = app
        .client
        .post("/students/import")
        .header(ct)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let job = res
        .headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string();
    for _ in 0..100 {
        let html = app
            .client
            .get(job.clone())
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        if !html.contains("http-equiv=\"refresh\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.page_logout().await;
    // The value matrix and the lifecycle timeline have something to show.
    srm::analytics::history::backfill(db).await.unwrap();
}

/// The main error paths, as the person who meets them: a forbidden and a missing page, a grade
/// grid with bad scores, a registration that clashes, an import with bad rows, a formula that
/// cannot be read.
async fn error_paths(app: &TestApp) -> Vec<String> {
    use crate::registration::{course, current_term, section};
    let db = app.db();
    let p = app.people.clone();
    let form = |s: String| Some((ContentType::Form, s.into_bytes()));
    let mut failures = Vec::new();

    let csrf = app.page_login(p.student).await;
    let (f, _) = sweep_request(app, "student 403", Method::Get, "/admin/users", None).await;
    failures.extend(f);
    let term = current_term(db).await;
    let clash = section(
        db,
        term,
        course(db, "T600", 2.0).await,
        "01",
        10,
        0,
        &[(3, 2, 3)],
    )
    .await;
    let (f, zh) = sweep_request(
        app,
        "student registration conflict",
        Method::Post,
        "/registrations",
        form(format!("_csrf={csrf}&section_id={clash}")),
    )
    .await;
    failures.extend(f);
    if !zh.contains("上课时间冲突：本教学班与 T500-01") {
        failures.push(format!(
            "the clash is not said in Chinese with the section: {}",
            visible_text(&zh)
        ));
    }
    let (_, zh) = sweep_request(app, "student profile", Method::Get, "/me/record", None).await;
    if !(zh.contains("计算机学院") && zh.contains("软件工程") && zh.contains("<dd>女</dd>"))
    {
        failures.push("my profile shows the department, major and gender in Chinese".into());
    }
    app.page_logout().await;

    let csrf = app.page_login(p.teacher).await;
    let (f, zh) = sweep_request(
        app,
        "teacher bad grade grid",
        Method::Post,
        &format!("/grades/sections/{}", p.section),
        form(format!(
            "_csrf={csrf}&score_{}=%E4%B9%9D%E5%8D%81",
            p.student_record
        )),
    )
    .await;
    failures.extend(f);
    if !zh.contains("李华") {
        failures.push("the grade error names the student".into());
    }
    let (ct, body) = multipart(
        &[("_csrf", &csrf)],
        &[("file", "g.csv", "学号,总评\n2025000001,九十\n".as_bytes())],
    );
    let (f, zh) = sweep_request(
        app,
        "teacher bad grade CSV",
        Method::Post,
        &format!("/grades/sections/{}/import", p.section),
        Some((ct, body)),
    )
    .await;
    failures.extend(f);
    if !zh.contains("<td>总评</td>") {
        failures.push(format!(
            "the grade CSV error names the column as the file's header does: {}",
            visible_text(&zh)
        ));
    }
    app.page_logout().await;

    let csrf = app.page_login(p.admin).await;
    let (f, _) = sweep_request(app, "admin 404", Method::Get, "/students/999999", None).await;
    failures.extend(f);
    let (ct, body) = upload(&csrf, IMPORT_CSV, true);
    let (f, zh) = sweep_request(
        app,
        "admin import preview",
        Method::Post,
        "/students/import",
        Some((ct, body)),
    )
    .await;
    failures.extend(f);
    if !zh.contains("姓名：必填") || !zh.contains("性别：该值无效；出生日期：日期无效")
    {
        failures.push(format!(
            "import reasons by column label, in Chinese: {}",
            visible_text(&zh)
        ));
    }
    let (ct, body) = upload(&csrf, "名字\n张三\n", true);
    let (f, _) = sweep_request(
        app,
        "admin import without a header",
        Method::Post,
        "/students/import",
        Some((ct, body)),
    )
    .await;
    failures.extend(f);
    let (ct, body) = multipart(
        &[("_csrf", &csrf)],
        &[("file", "a.csv", "学号,教学班,日期,考勤\n2099000001,CS101-01,2026-13-45,睡觉\n2025000001,CS101-01,2020-01-06,缺勤\n".as_bytes())],
    );
    let (f, zh) = sweep_request(
        app,
        "admin attendance import",
        Method::Post,
        "/attendance/import",
        Some((ct, body)),
    )
    .await;
    failures.extend(f);
    if !zh.contains("没有学号为 2099000001 的学生") {
        failures.push(format!(
            "the attendance import's reasons are said in Chinese: {}",
            visible_text(&zh)
        ));
    }
    let (f, _) = sweep_request(
        app,
        "admin formula trial",
        Method::Post,
        "/mining/formula",
        form(format!(
            "_csrf={csrf}&name=x&department=&weights=nonsense&threshold=1&action=trial"
        )),
    )
    .await;
    failures.extend(f);
    let (_, zh) = sweep_request(app, "admin audit", Method::Get, "/admin/audit", None).await;
    if !(zh.contains("<td>登录</td>") && zh.contains("<td>用户 ")) {
        failures.push(format!(
            "the audit log names its actions in Chinese: {}",
            zh
        ));
    }
    let (_, zh) = sweep_request(app, "admin cases", Method::Get, "/cases", None).await;
    if !zh.contains("投诉") {
        failures.push("the complaints queue by its Chinese name".into());
    }
    app.page_logout().await;
    failures
}

#[rocket::async_test]
async fn every_page_of_every_role_is_all_chinese_or_all_english() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;
        let teacher = app.token(p.teacher).await;
        let (s, a) = app
            .send_json(
                Method::Post,
                &format!("/api/v1/sections/{}/assessments", p.section),
                Some(&teacher),
                json!({"name": "期中", "weight": 40, "max_score": 100}),
            )
            .await;
        assert_eq!(s, Status::Created, "{a}");
        let assessment = a["id"].as_i64().unwrap();
        populate(&app).await;
        let ids = SweepIds {
            student: p.student_record,
            section: p.section,
            assessment,
            grade: 1,
            job: 1,
            user: p.target,
            group: p.custom_group,
            case: 1,
            conversation: 1,
            survey: 1,
            run: 1,
        };
        let _ = admin;
        let paths = page_paths(&app, &ids);
        let mut failures = Vec::new();
        for (who, user) in [
            ("admin", p.admin),
            ("teacher", p.teacher),
            ("student", p.student),
        ] {
            app.page_login(user).await;
            for path in &paths {
                failures.extend(sweep_one(&app, who, path).await);
            }
            app.page_logout().await;
        }
        for path in ["/no/such/page", "/admin/users"] {
            failures.extend(sweep_one(&app, "anonymous", path).await);
        }
        failures.extend(error_paths(&app).await);
        assert!(
            failures.is_empty(),
            "{} problems:\n{}",
            failures.len(),
            failures.join("\n")
        );
    })
    .await;
}

#[test]
fn dates_and_times_read_the_same_way_everywhere_in_each_language() {
    use srm::i18n::Lang;
    assert_eq!(Lang::Zh.when("2026-12-20T07:03"), "2026年12月20日 07:03");
    assert_eq!(Lang::En.when("2026-12-20T07:03"), "20 Dec 2026 07:03");
    assert_eq!(
        Lang::Zh.when("2026-12-20T07:03:59.123+00:00"),
        "2026年12月20日 07:03"
    );
    assert_eq!(Lang::En.when("2026-01-05 18:30:00"), "5 Jan 2026 18:30");
    assert_eq!(Lang::Zh.when("2026-01-05"), "2026年1月5日");
    assert_eq!(Lang::En.when("2026-01-05"), "5 Jan 2026");
    assert_eq!(
        Lang::Zh.when("下周一"),
        "下周一",
        "text that is not a date stays"
    );
}

#[test]
fn a_coded_error_is_said_in_the_readers_language_with_its_values() {
    use srm::error::AppError;
    use srm::i18n::Lang;
    let e = AppError::conflict(
        "time_conflict",
        "this section meets at the same time as CS101-01",
    )
    .arg("other", "CS101-01");
    assert_eq!(
        Lang::Zh.error(&e),
        "上课时间冲突：本教学班与 CS101-01 同时上课"
    );
    assert!(Lang::En.error(&e).contains("CS101-01"));
    // A code without a Chinese sentence says the status in Chinese, never the English words.
    let e = AppError::unprocessable("no_such_code_anywhere", "some english words");
    assert_eq!(Lang::Zh.error(&e), Lang::Zh.t("error.422"));
    assert_eq!(Lang::En.error(&e), "some english words");
    assert_eq!(
        Lang::Zh.error(&AppError::Forbidden),
        Lang::Zh.t("error.code.forbidden")
    );
}

#[test]
fn the_checks_catch_what_they_are_for() {
    let names = BTreeSet::new();
    assert!(iso_datetime("截止 2026-12-20T07:03").is_some());
    assert!(iso_datetime("2026年12月20日 07:03").is_none());
    assert_eq!(
        untranslated_keys("保存 grades.nothing_here 了"),
        ["grades.nothing_here"]
    );
    assert!(untranslated_keys("见 example.com 或 3.5").is_empty());
    let text =
        visible_text("<p title=\"waitlisted\">状态：waitlisted <code>name_zh</code> CS101</p>");
    assert_eq!(latin_words(&text, &names), ["waitlisted"]);
}
