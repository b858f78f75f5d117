//! Security tests for data leaving the portal, robustness, headers and files (issue 15). Each
//! test is an attack as an outsider, a student or a curious teacher would send it, and the
//! refusal expected.

use crate::common::{Backend, TestApp};
use rocket::http::{ContentType, Header, Status};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use srm::entity::students;

const FORMULA: &str = r#"=HYPERLINK("http://x","y")"#;

fn cells(csv: &[u8]) -> Vec<Vec<String>> {
    let body = csv.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(csv);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn every_formula_start_is_prefixed_and_plain_numbers_are_not() {
    use srm::csv_safe::{neutralise, restore};
    for bad in [
        "=1+1",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "-",
        "+",
        "-1e9",
    ] {
        assert_eq!(neutralise(bad), format!("'{bad}"));
        assert_eq!(restore(&neutralise(bad)), bad);
    }
    for fine in ["-3", "+4.5", "12", "张三", "a=b", "", "'quoted"] {
        assert_eq!(neutralise(fine), fine);
        assert_eq!(restore(fine), fine);
    }
}

#[rocket::async_test]
async fn an_exported_formula_is_written_as_text() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    let s = students::Entity::find_by_id(p.student_record)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut am: students::ActiveModel = s.into();
    am.name_zh = Set(FORMULA.into());
    am.address = Set(Some("@SUM(1+1)*cmd|' /C calc'!A0".into()));
    am.phone = Set(Some("+8613800000000".into()));
    am.update(app.db()).await.unwrap();
    let admin = app.token(p.admin).await;
    let res = app.get("/api/v1/students/export.csv", Some(&admin)).await;
    assert_eq!(res.status(), Status::Ok);
    let csv = res.into_bytes().await.unwrap();
    let rows = cells(&csv);
    let row = rows
        .iter()
        .find(|r| r.iter().any(|c| c.contains("HYPERLINK")))
        .expect("the student is exported");
    assert_eq!(
        row[2],
        format!("'{FORMULA}"),
        "the name is text, not a live formula"
    );
    assert_eq!(row[8], "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(row[6], "+8613800000000", "a plain number stays a number");
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '@', '\t', '\r'])
                || cell
                    .trim_start_matches('+')
                    .bytes()
                    .all(|b| b.is_ascii_digit()),
            "live cell {cell:?}"
        );
    }
    // The export still imports back unchanged: the `'` is read as the prefix it is.
    let res = app
        .client
        .post("/api/v1/students/import?dry_run=false")
        .header(Header::new("Authorization", format!("Bearer {admin}")))
        .header(ContentType::CSV)
        .body(csv)
        .dispatch()
        .await;
    let r: serde_json::Value = res.into_json().await.unwrap();
    assert_eq!(r["updated"], 0, "{r}");
    assert_eq!(r["rejected"], 0, "{r}");
    let s = students::Entity::find_by_id(p.student_record)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.name_zh, FORMULA);
}

#[rocket::async_test]
async fn a_rejected_row_with_a_formula_is_written_as_text() {
    use srm::students::import::{ImportReport, RejectedRow};
    let report = ImportReport {
        rejected_rows: vec![RejectedRow {
            line: 2,
            column: "name_zh".into(),
            reason: "-bad".into(),
            student_no: "-1+2".into(),
            problems: Vec::new(),
            values: vec!["-1+2".into(), String::new(), FORMULA.into()],
        }],
        ..Default::default()
    };
    let csv = srm::students::import::rejected_csv(&report).unwrap();
    let rows = cells(&csv);
    assert_eq!(rows[1][0], "'-1+2");
    assert_eq!(rows[1][2], format!("'{FORMULA}"));
    assert_eq!(rows[1][16], "'-bad");
    assert_eq!(rows[1][14], "2");
}

#[rocket::async_test]
async fn an_administrator_cannot_lower_the_feedback_threshold_below_five() {
    let app = TestApp::new(Backend::Sqlite).await;
    let csrf = app.page_login(app.people.admin).await;
    let e = srm::web::url_encode;
    let body = format!(
        "_csrf={}&rule_category=*&rule_department=*&rule_queue=front-desk&sla_hours=48&min_responses=4&open_days=21&window_weeks=6&email=off",
        e(&csrf),
    );
    let res = app
        .client
        .post("/cases/settings")
        .header(ContentType::Form)
        .header(Header::new("Accept-Language", "en"))
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert!(res.into_string().await.unwrap().contains("from 5 to 1000"));
    assert!(
        srm::settings::get(app.db(), "feedback.min_responses")
            .await
            .unwrap()
            .is_none()
    );
    // A value stored below 5 by other means is read as 5.
    srm::settings::put(app.db(), "feedback.min_responses", "1".into())
        .await
        .unwrap();
    assert_eq!(
        srm::interaction::feedback::threshold(app.db())
            .await
            .unwrap(),
        5
    );
}

#[rocket::async_test]
async fn stored_feedback_cannot_be_linked_to_a_student_or_put_in_order() {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    use srm::entity::{audit_log, feedback_answers, terms};
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    for t in terms::Entity::find().all(app.db()).await.unwrap() {
        let mut am: terms::ActiveModel = t.into();
        am.ends_on = Set(chrono::Utc::now().date_naive() + chrono::Duration::days(3));
        am.update(app.db()).await.unwrap();
    }
    let path = format!("/api/v1/feedback/{}", p.section);
    let mut students = vec![p.student];
    for i in 0..3 {
        let (user, record) = crate::common::extra_student(&app, &format!("20258000{i:02}")).await;
        crate::common::enrol(app.db(), record, p.section).await;
        students.push(user);
    }
    for (i, user) in students.iter().enumerate() {
        let t = app.token(*user).await;
        let a = serde_json::json!({"teaching": 1 + i, "content": 3, "workload": 3, "overall": 3});
        let (s, v) = app
            .send_json(rocket::http::Method::Post, &path, Some(&t), a)
            .await;
        assert_eq!(s, Status::Created, "{v}");
    }
    // Sorting the answers by id must not give the order they came in (1, 2, 3, 4).
    let mut rows = feedback_answers::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    rows.sort_by_key(|r| r.id);
    assert!(
        rows.iter().all(|r| r.id > 1_000_000),
        "ids are random, not a sequence"
    );
    // No audit row names a student next to the survey.
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Action.contains("feedback"))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[rocket::async_test]
async fn a_huge_or_negative_page_number_is_clamped_not_a_server_error() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    let lists = [
        "/students",
        "/courses",
        "/admin/users",
        "/admin/audit",
        "/api/v1/students",
        "/api/v1/sections",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/mining/runs",
    ];
    for list in lists {
        for page in ["18446744073709551615", "-1", "99999999999999999999999"] {
            let uri = format!("{list}?page={page}&per_page=18446744073709551615");
            let res = app.get(&uri, Some(&admin)).await;
            assert!(
                matches!(res.status().code, 200 | 400 | 422),
                "{uri}: {}",
                res.status()
            );
        }
    }
}

#[rocket::async_test]
async fn control_characters_in_next_are_ignored_not_a_server_error() {
    let app = TestApp::new(Backend::Sqlite).await;
    for next in ["%2Fstudents%0D%0ASet-Cookie:%20a=b", "%2F%00", "%2Fx%1B"] {
        let res = app
            .client
            .get(format!("/lang/en?next={next}"))
            .dispatch()
            .await;
        assert!(res.status().code < 500, "lang: {}", res.status());
        if let Some(loc) = res.headers().get_one("Location") {
            assert!(!loc.chars().any(char::is_control), "{loc:?}");
        }
        let res = app
            .client
            .get(format!("/login?next={next}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
    }
    // Logging in with a poisoned `next` lands on the dashboard.
    let form = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let csrf = crate::common::hidden_value(&form, "_csrf").unwrap();
    let res = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body(format!(
            "username={}&password={}&next=%2Fstudents%0D%0AX:%20y&_csrf={csrf}",
            TestApp::username(app.people.admin),
            crate::common::PASSWORD
        ))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(res.headers().get_one("Location"), Some("/dashboard"));
}

const BAIT: &str = "please%20join%20QQ%20group%20123456";

async fn page_text(app: &TestApp, uri: &str) -> String {
    let res = app
        .client
        .get(uri.to_string())
        .header(Header::new("Accept-Language", "en"))
        .dispatch()
        .await;
    assert!(res.status().code < 500, "{uri}: {}", res.status());
    res.into_string().await.unwrap_or_default()
}

#[rocket::async_test]
async fn a_crafted_link_cannot_put_its_own_words_in_an_official_message() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    app.page_login(p.student).await;
    for uri in [
        format!("/registrations?error={BAIT}"),
        format!("/registrations?flash={BAIT}"),
        format!("/dashboard?flash={BAIT}"),
    ] {
        let html = page_text(&app, &uri).await;
        assert!(!html.contains("QQ group"), "{uri} shows the bait");
    }
    app.page_logout().await;
    app.page_login(p.teacher).await;
    let html = page_text(
        &app,
        &format!(
            "/grades/sections/{}?saved=QQ%20group%20123456-1-2",
            p.section
        ),
    )
    .await;
    assert!(!html.contains("QQ group"), "grades saved= shows the bait");
    app.page_logout().await;
    app.page_login(p.admin).await;
    for uri in [
        format!("/students/{}/holds?error={BAIT}", p.student_record),
        format!("/students/{}/holds?done={BAIT}", p.student_record),
        format!("/courses/manage?saved={BAIT}"),
    ] {
        let html = page_text(&app, &uri).await;
        assert!(!html.contains("QQ group"), "{uri} shows the bait");
    }
}

#[rocket::async_test]
async fn a_refusal_still_reaches_the_page_through_a_flash_cookie() {
    let app = TestApp::new(Backend::Sqlite).await;
    let me = app.people.student_record;
    let csrf = app.page_login(app.people.admin).await;
    let res = app
        .client
        .post(format!("/students/{me}/holds"))
        .header(ContentType::Form)
        .body(format!("_csrf={}&reason=", srm::web::url_encode(&csrf)))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let loc = res.headers().get_one("Location").unwrap().to_string();
    assert!(loc.ends_with("error=invalid_reason"), "{loc}");
    let html = page_text(&app, &loc).await;
    assert!(html.contains("请填写 1–500 字的原因"), "{html}");
}

#[rocket::async_test]
async fn every_answer_forbids_inline_script_sniffing_and_caching() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    for uri in [
        "/login",
        "/students",
        "/api/v1/students",
        "/dashboard",
        "/nope",
    ] {
        let res = app.get(uri, Some(&admin)).await;
        let h = res.headers();
        let csp = h.get_one("Content-Security-Policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{uri}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}");
        assert_eq!(
            h.get_one("X-Content-Type-Options"),
            Some("nosniff"),
            "{uri}"
        );
        assert!(h.get_one("Referrer-Policy").is_some(), "{uri}");
        assert_eq!(
            h.get_one("Cache-Control"),
            Some("no-store"),
            "{uri}: Back after logout"
        );
        assert!(
            h.get_one("Strict-Transport-Security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
    // The static files may be cached; they are the same for everyone.
    let res = app.get("/static/app.js", None).await;
    assert_ne!(res.headers().get_one("Cache-Control"), Some("no-store"));
}

#[rocket::async_test]
async fn secure_cookies_turn_on_hsts() {
    let dir = std::env::temp_dir().join(format!("srm-test-{}", uuid::Uuid::new_v4().simple()));
    let mut config = crate::common::test_config(&dir, None);
    config.cookie_secure = true;
    let state = srm::prepare(config).await.unwrap();
    let client = rocket::local::asynchronous::Client::tracked(srm::build(
        crate::common::test_figment(),
        state,
    ))
    .await
    .unwrap();
    let res = client.get("/login").dispatch().await;
    let hsts = res
        .headers()
        .get_one("Strict-Transport-Security")
        .unwrap_or_default();
    assert!(hsts.starts_with("max-age="), "{hsts}");
    drop(res);
    drop(client);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn no_template_has_inline_script_or_event_handlers() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".tera") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        &mut files,
    );
    assert!(files.len() > 20);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap().to_lowercase();
        for (i, _) in text.match_indices("<script") {
            let tag = &text[i..text[i..].find('>').map_or(text.len(), |e| i + e)];
            assert!(tag.contains(" src="), "{}: inline <script>", f.display());
        }
        for handler in [
            " onclick=",
            " onchange=",
            " onsubmit=",
            " oninput=",
            " onload=",
            "javascript:",
        ] {
            assert!(!text.contains(handler), "{}: {handler}", f.display());
        }
    }
}

#[cfg(unix)]
#[rocket::async_test]
async fn the_data_directory_and_database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = std::env::temp_dir().join(format!("srm-test-{}", uuid::Uuid::new_v4().simple()));
    let dir = root.join("data");
    let config = crate::common::test_config(&dir, None);
    let state = srm::prepare(config.clone()).await.unwrap();
    srm::settings::put(&state.db, "probe", "1".into())
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data dir");
    let db = config.sqlite_path();
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert!(p.exists(), "{} after the first write", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    drop(state);
    let _ = std::fs::remove_dir_all(root);
}

fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> (ContentType, Vec<u8>) {
    let b = "XSECBOUNDARYX";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes(),
        );
    }
    if let Some(f) = file {
        body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n").bytes());
        body.extend_from_slice(f);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{b}--\r\n").bytes());
    let ct = ContentType::new("multipart", "form-data").with_params(("boundary", b));
    (ct, body)
}

#[rocket::async_test]
async fn a_student_cannot_park_a_large_body_on_a_text_form() {
    let app = TestApp::new(Backend::Sqlite).await;
    let csrf = app.page_login(app.people.student).await;
    let big = "x".repeat(3 * 1024 * 1024);
    let (ct, body) = multipart(
        &[("_csrf", &csrf), ("section_id", "1"), ("junk", &big)],
        None,
    );
    // Rocket's defaults were raised to 64 MiB for every form; now only the upload routes read more.
    let limits = &app.client.rocket().config().limits;
    let kib = |name: &str| limits.get(name).map(|l| l.as_u64() / 1024);
    assert_eq!(kib("form"), Some(64));
    assert_eq!(kib("data-form"), Some(64));
    assert!(kib("file").unwrap_or(0) <= 1024 && kib("bytes").unwrap_or(0) <= 1024);
    let res = app
        .client
        .post("/registrations")
        .header(ct)
        .body(body)
        .dispatch()
        .await;
    assert!(matches!(res.status().code, 413 | 422), "{}", res.status());
    let page = res.into_string().await.unwrap_or_default();
    assert!(
        page.len() < 20_000 && !page.contains("xxxxxxxxxx"),
        "the error page echoes nothing"
    );
    let res = app
        .client
        .post("/registrations")
        .header(ContentType::Form)
        .body(format!("_csrf={csrf}&section_id=1&junk={big}"))
        .dispatch()
        .await;
    assert!(matches!(res.status().code, 413 | 422), "{}", res.status());
    // A multipart body of the same size is refused on the upload route too, for a student.
    let (ct, body) = multipart(&[("_csrf", &csrf)], Some(big.as_bytes()));
    let res = app
        .client
        .post("/students/import")
        .header(ct)
        .body(body)
        .dispatch()
        .await;
    assert!(matches!(res.status().code, 403 | 404), "{}", res.status());
}

#[rocket::async_test]
async fn an_import_file_larger_than_rockets_defaults_is_still_accepted_on_the_import_page() {
    let app = TestApp::new(Backend::Sqlite).await;
    let csrf = app.page_login(app.people.admin).await;
    let mut csv = String::from("student_no,name_zh,major,cohort,address\n");
    let pad = "a".repeat(1000);
    let mut i = 0;
    while csv.len() < 3 * 1024 * 1024 {
        csv.push_str(&format!("20291{i:05},学生,CS01,2029,{pad}\n"));
        i += 1;
    }
    let (ct, body) = multipart(
        &[("_csrf", &csrf), ("dry_run", "true"), ("encoding", "auto")],
        Some(csv.as_bytes()),
    );
    let res = app
        .client
        .post("/students/import")
        .header(ct)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains(&i.to_string()),
        "the preview counts every row"
    );
}

#[rocket::async_test]
async fn a_latin1_file_is_not_read_as_gbk_and_the_user_can_choose_the_encoding() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    // "Renée Müller" in Latin-1: é and ü are single bytes that GBK would pair with the next one.
    let mut csv = b"student_no,name_zh,name_en,major,cohort\n2029000001,".to_vec();
    csv.extend_from_slice(b"Ren\xe9e M\xfcller,Ren\xe9e M\xfcller,CS01,2029\n");
    let send = |query: &str| {
        app.client
            .post(format!("/api/v1/students/import?dry_run=true{query}"))
            .header(Header::new("Authorization", format!("Bearer {admin}")))
            .header(ContentType::CSV)
            .body(csv.clone())
            .dispatch()
    };
    let r: serde_json::Value = send("").await.into_json().await.unwrap();
    let enc = r["encoding"].as_str().unwrap_or_default();
    assert_eq!(enc, "windows-1252", "{r}");
    assert_eq!(r["added"], 1, "{r}");
    let r: serde_json::Value = send("&encoding=latin1").await.into_json().await.unwrap();
    assert!(
        r["encoding"]
            .as_str()
            .unwrap_or_default()
            .contains("chosen"),
        "{r}"
    );
    let r: serde_json::Value = send("&encoding=gbk").await.into_json().await.unwrap();
    assert!(
        r["encoding"]
            .as_str()
            .unwrap_or_default()
            .starts_with("GBK"),
        "{r}"
    );
    let res = send("&encoding=klingon").await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    // Stored for real, the name is the one in the file.
    let res = app
        .client
        .post("/api/v1/students/import?dry_run=false")
        .header(Header::new("Authorization", format!("Bearer {admin}")))
        .header(ContentType::CSV)
        .body(csv.clone())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    use sea_orm::{ColumnTrait, QueryFilter};
    let s = students::Entity::find()
        .filter(students::Column::StudentNo.eq("2029000001"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.name_en, "Renée Müller");
    // The import page offers the choice.
    app.page_login(app.people.admin).await;
    let html = app
        .client
        .get("/students/import")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(html.contains("name=\"encoding\"") && html.contains("windows-1252"));
}
