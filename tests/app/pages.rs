//! Pages in both languages, escaping, error answers, the OpenAPI document and the health check.

use crate::common::{Backend, TestApp, on_each_backend};
use rocket::http::{Accept, ContentType, Header, Method, Status};
use serde_json::json;

/// Tera escapes `/` in attribute values; tests compare against the plain text.
fn unescape(html: &str) -> String {
    html.replace("&#x2F;", "/")
}

#[rocket::async_test]
async fn each_role_reaches_its_dashboard_in_chinese_and_english() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    for (user, marker_zh, marker_en) in [
        (p.admin, "各院系在读学生", "Active students by department"),
        (p.teacher, "我的教学班", "My sections"),
        (p.student, "本学期我的课程", "My courses this term"),
    ] {
        app.page_login(user).await;
        let zh = app
            .client
            .get("/dashboard")
            .header(Header::new("Accept-Language", "zh-CN,zh;q=0.9"))
            .dispatch()
            .await;
        assert_eq!(zh.status(), Status::Ok);
        let zh = zh.into_string().await.expect("page");
        assert!(zh.contains(marker_zh), "Chinese dashboard for {user}");
        assert!(zh.contains("<html lang=\"zh\">"));
        let en = app
            .client
            .get("/dashboard")
            .header(Header::new("Accept-Language", "en-US,en;q=0.9"))
            .dispatch()
            .await;
        let en = en.into_string().await.expect("page");
        assert!(en.contains(marker_en), "English dashboard for {user}");
        app.page_logout().await;
    }
    // The teacher sees their section; the student sees theirs.
    app.page_login(p.teacher).await;
    let html = unescape(
        &app.client
            .get("/dashboard")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page"),
    );
    assert!(html.contains("CS101") && html.contains("1 / 30"));
    // The menu shows only what the role may use.
    assert!(!html.contains("/admin/users"));
    app.page_logout().await;
    app.page_login(p.admin).await;
    let html = unescape(
        &app.client
            .get("/dashboard")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page"),
    );
    for link in [
        "/admin/users",
        "/admin/groups",
        "/admin/modules",
        "/admin/audit",
    ] {
        assert!(html.contains(link), "admin menu has {link}");
    }
    assert!(html.contains("<svg"), "a chart on the admin dashboard");
    assert!(
        !html.contains("/me/record") && !html.contains("\"/registrations\""),
        "no student-only pages for an account without a student record"
    );
    app.page_logout().await;
    app.page_login(p.student).await;
    let html = unescape(
        &app.client
            .get("/dashboard")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page"),
    );
    assert!(
        html.contains("/me/record") && html.contains("\"/registrations\""),
        "a student's own pages"
    );
}

#[rocket::async_test]
async fn the_language_switch_is_remembered_over_accept_language() {
    let app = TestApp::new(Backend::Sqlite).await;
    let res = app
        .client
        .get("/login")
        .header(Header::new("Accept-Language", "en"))
        .dispatch()
        .await;
    assert!(
        res.into_string()
            .await
            .expect("page")
            .contains("Log in with your student or staff number")
    );
    let res = app.client.get("/lang/zh?next=/login").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    let res = app
        .client
        .get("/login")
        .header(Header::new("Accept-Language", "en"))
        .dispatch()
        .await;
    assert!(
        res.into_string()
            .await
            .expect("page")
            .contains("请使用学号或工号登录"),
        "cookie wins over the header"
    );
    // The next page may not leave the site.
    let res = app
        .client
        .get("/lang/en?next=//evil.example")
        .dispatch()
        .await;
    assert_eq!(res.headers().get_one("Location"), Some("/dashboard"));
}

#[rocket::async_test]
async fn text_from_users_is_escaped_in_pages() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    let (s, _) = app
        .send_json(Method::Post, "/api/v1/users", Some(&admin),
            json!({"username": "xss", "display_name": "<script>alert(1)</script>", "kind": "staff", "password": "password-123"}))
        .await;
    assert_eq!(s, Status::Created);
    app.page_login(app.people.admin).await;
    let html = app
        .client
        .get("/admin/users?q=xss")
        .dispatch()
        .await
        .into_string()
        .await
        .expect("page");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
    assert!(!html.contains("<script>alert(1)</script>"));
}

#[rocket::async_test]
async fn errors_are_json_for_the_api_and_pages_elsewhere() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (s, body) = app.get_json("/api/v1/nothing-here", None).await;
    assert_eq!(s, Status::NotFound);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let (s, body) = app.get_json("/api/v1/me", None).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (Status::Unauthorized, Some("unauthorized"))
    );
    let admin = app.token(app.people.admin).await;
    let res = app
        .client
        .post("/api/v1/users")
        .header(ContentType::JSON)
        .header(Header::new("Authorization", format!("Bearer {admin}")))
        .body("{not json")
        .dispatch()
        .await;
    assert!(res.status() == Status::BadRequest || res.status() == Status::UnprocessableEntity);
    let body: serde_json::Value = res.into_json().await.expect("json error");
    assert!(body["error"]["code"].is_string());

    let res = app
        .client
        .get("/no/such/page")
        .header(Accept::HTML)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotFound);
    let html = res.into_string().await.expect("html");
    // The portal's own page, with its stylesheet and language switch, not a bare fallback.
    assert!(
        html.contains("404")
            && html.contains("/static/app.css")
            && html.contains("next=&#x2F;no&#x2F;such&#x2F;page"),
        "{html}"
    );
    let res = app.client.get("/admin/users").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(
        res.headers().get_one("Location"),
        Some("/login?next=/admin/users")
    );
    let (s, _) = app.get_json("/api/v1/users/999999", Some(&admin)).await;
    assert_eq!(s, Status::NotFound);
}

#[rocket::async_test]
async fn the_api_document_is_derived_from_the_handlers_and_their_types() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, doc) = app.get_json("/api/v1/openapi.json", None).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    let login = &doc["paths"]["/api/v1/auth/login"]["post"];
    assert_eq!(
        login["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/LoginRequest"
    );
    let ok = &doc["components"]["schemas"]["LoginOk"]["properties"];
    assert!(ok["token"].is_object() && ok["expires_at"].is_object() && ok["user"].is_object());
    assert!(ok["jti"].is_null(), "the token id stays inside");
    let me = &doc["paths"]["/api/v1/me"]["get"];
    assert_eq!(
        me["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    assert!(me["security"].is_array());
    assert!(!doc.to_string().contains("password_hash"));
}

#[rocket::async_test]
async fn a_known_path_asked_with_another_method_answers_405_with_the_allowed_methods() {
    let app = TestApp::new(Backend::Sqlite).await;
    let res = app.client.put("/api/v1/me").dispatch().await;
    assert_eq!(res.status(), Status::MethodNotAllowed);
    assert_eq!(res.headers().get_one("Allow"), Some("GET"));
    let body: serde_json::Value =
        serde_json::from_str(&res.into_string().await.unwrap_or_default()).expect("json");
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let res = app.client.delete("/api/v1/users/1").dispatch().await;
    assert_eq!(res.status(), Status::MethodNotAllowed);
    assert_eq!(res.headers().get_one("Allow"), Some("GET, PATCH"));
    let res = app.client.get("/api/v1/no-such-thing").dispatch().await;
    assert_eq!(res.status(), Status::NotFound);
    // Found by schemathesis: `export.csv` is no `{id}`, so PATCH /students/{id} is not offered.
    for (path, allow) in [
        ("/api/v1/students/export.csv", "GET"),
        ("/api/v1/students/settings", "GET, PUT"),
        ("/api/v1/registrations/swap", "POST"),
    ] {
        let res = app.client.delete(path).dispatch().await;
        assert_eq!(res.status(), Status::MethodNotAllowed, "{path}");
        assert_eq!(res.headers().get_one("Allow"), Some(allow), "{path}");
    }
}

/// Found by schemathesis: a bad value (`per_page=abc`, `per_page=501`, a date `2026-13-01`, a
/// second `per_page`) was read as absent and answered 200 with the defaults. Every API value is
/// checked against its documented type and range and refused with 422 naming it.
#[rocket::async_test]
async fn api_values_outside_their_documented_type_or_range_are_refused_naming_them() {
    let app = TestApp::new(Backend::Sqlite).await;
    let admin = app.token(app.people.admin).await;
    for (url, name) in [
        ("/api/v1/users?per_page=abc", "per_page"),
        ("/api/v1/users?per_page=501", "per_page"),
        ("/api/v1/users?page=0", "page"),
        ("/api/v1/users?group=x", "group"),
        ("/api/v1/cases?per_page=5&per_page=6", "per_page"),
        ("/api/v1/audit?from=2026-13-01", "from"),
        ("/api/v1/sections?open_only=yes", "open_only"),
        ("/api/v1/sections?day=8", "day"),
        ("/api/v1/students/abc", "id"),
        ("/api/v1/students/99999999999999999999", "id"),
    ] {
        let (s, e) = app.get_json(url, Some(&admin)).await;
        assert_eq!(s, Status::UnprocessableEntity, "{url}: {e}");
        assert_eq!(e["error"]["code"], "invalid_parameter", "{url}");
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(name), "{url}: {message}");
    }
    for url in [
        "/api/v1/users?per_page=500&page=2&q=a%20b",
        "/api/v1/audit?from=2026-12-01",
        "/api/v1/sections?open_only=true&day=7",
    ] {
        let (s, e) = app.get_json(url, Some(&admin)).await;
        assert_eq!(s, Status::Ok, "{url}: {e}");
    }
    // The pages share the query types and stay forgiving.
    app.page_login(app.people.admin).await;
    let res = app.client.get("/admin/users?per_page=abc").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
}

/// A JSON route sent a form or plain text says 415 (it said 404, as if the route did not exist).
#[rocket::async_test]
async fn a_json_route_sent_another_kind_of_body_answers_415() {
    let app = TestApp::new(Backend::Sqlite).await;
    let student = app.token(app.people.student).await;
    let admin = app.token(app.people.admin).await;
    let body = r#"{"kind":"inquiry","subject":"s","body":"b"}"#;
    for (path, token, kind) in [
        ("/api/v1/cases", &student, ContentType::Plain),
        ("/api/v1/cases", &student, ContentType::Form),
        ("/api/v1/conversations", &student, ContentType::Plain),
        ("/api/v1/announcements", &admin, ContentType::Form),
        ("/api/v1/groups", &admin, ContentType::Plain),
    ] {
        let res = app
            .client
            .post(path)
            .header(kind.clone())
            .header(Header::new("Authorization", format!("Bearer {token}")))
            .body(body)
            .dispatch()
            .await;
        assert_eq!(
            res.status(),
            Status::UnsupportedMediaType,
            "{path} as {kind}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&res.into_string().await.unwrap_or_default()).expect("json");
        assert_eq!(v["error"]["code"], "unsupported_media_type", "{path}");
    }
    // The same body as JSON reaches the handler.
    let res = app
        .client
        .post("/api/v1/cases")
        .header(ContentType::JSON)
        .header(Header::new("Authorization", format!("Bearer {student}")))
        .body(body)
        .dispatch()
        .await;
    assert_ne!(res.status(), Status::UnsupportedMediaType);
    assert_ne!(res.status(), Status::NotFound);
}

#[rocket::async_test]
async fn the_openapi_document_lists_every_api_route_and_the_docs_page_renders_it() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (s, doc) = app.get_json("/api/v1/openapi.json", None).await;
    assert_eq!(s, Status::Ok);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3 document"
    );
    let paths = doc["paths"].as_object().expect("paths");
    let mut count = 0;
    for r in app
        .client
        .rocket()
        .routes()
        .filter(|r| r.uri.path().starts_with("/api/v1/"))
    {
        count += 1;
        let path = r.uri.path().replace('<', "{").replace('>', "}");
        let method = r.method.as_str().to_lowercase();
        assert!(
            paths.get(&path).and_then(|p| p.get(&method)).is_some(),
            "{method} {path} missing from the document"
        );
    }
    assert!(count >= 20);
    let html = unescape(
        &app.client
            .get("/api/docs")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page"),
    );
    assert!(html.contains("/api/v1/users/{id}") && html.contains("PATCH"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing loaded from elsewhere"
    );
}

/// Every operation needs a login unless its handler says it does not (only logging in,
/// activating an account and this document), and is filed under its domain's tag; both are
/// said once (a default and the domain's `typed_api!`), not on every handler. What the
/// document says holds: a secured list asked without a login is refused with 401, and no read
/// is said to need the CSRF header.
#[rocket::async_test]
async fn the_document_says_which_operations_need_a_login_and_files_each_under_its_domain() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, doc) = app.get_json("/api/v1/openapi.json", None).await;
    let domains = [
        "admin",
        "analytics",
        "announcements",
        "api",
        "attendance",
        "auth",
        "care",
        "cases",
        "courses",
        "feedback",
        "grades",
        "mail",
        "messages",
        "mining",
        "registration",
        "students",
    ];
    let (mut public, mut refused) = (Vec::new(), 0);
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let tags = op["tags"].as_array().expect("tags");
            assert!(
                tags.len() == 1 && tags[0].as_str().is_some_and(|t| domains.contains(&t)),
                "{method} {path} is filed under {tags:?}"
            );
            let Some(security) = op.get("security") else {
                public.push(format!("{method} {path}"));
                continue;
            };
            assert_eq!(
                security,
                &json!([{"bearer": []}, {"cookie": []}]),
                "{method} {path}"
            );
            let forbidden = op["responses"]["403"]["description"].as_str();
            assert!(
                method != "get" || forbidden.is_some_and(|d| !d.contains("X-CSRF-Token")),
                "{method} {path}: a read never needs the CSRF header ({forbidden:?})"
            );
            if method == "get" && !path.contains('{') {
                let (status, body) = app.get_json(path, None).await;
                assert_eq!(status, Status::Unauthorized, "{path} answered {body}");
                refused += 1;
            }
        }
    }
    public.sort();
    assert_eq!(
        public,
        [
            "get /api/v1/openapi.json",
            "post /api/v1/auth/activate",
            "post /api/v1/auth/login"
        ]
    );
    assert!(refused > 20, "{refused} lists asked");
}

#[rocket::async_test]
async fn health_answers_ok_once_the_database_answers() {
    on_each_backend(|app| async move {
        let (s, body) = app.get_json("/healthz", None).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(body, json!({"status": "ok"}));
    })
    .await;
}

#[rocket::async_test]
async fn both_languages_have_the_same_strings() {
    use srm::i18n::Lang;
    let zh: Vec<_> = Lang::Zh.dict().keys().collect();
    let en: Vec<_> = Lang::En.dict().keys().collect();
    assert!(zh.len() > 100);
    assert_eq!(zh, en);
    // Every file parses, the two languages' files pair up key for key, and no key is defined twice.
    let mut seen = std::collections::BTreeSet::new();
    for (zh_src, en_src) in srm::i18n::sources(Lang::Zh)
        .iter()
        .zip(srm::i18n::sources(Lang::En))
    {
        let zh: serde_json::Map<String, serde_json::Value> = serde_json::from_str(zh_src).unwrap();
        let en: serde_json::Map<String, serde_json::Value> = serde_json::from_str(en_src).unwrap();
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
        for key in zh.keys() {
            assert!(seen.insert(key.clone()), "{key} is defined in two files");
        }
    }
    assert_eq!(
        Lang::from_accept_language("fr;q=1, en-US;q=0.8, zh-CN;q=0.9"),
        Some(Lang::Zh)
    );
    assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Some(Lang::En));
    assert_eq!(Lang::from_accept_language("fr"), None);
}

/// A stored status has one name: in the database, in JSON and in the API document (the
/// document once listed `Running` where the API answered `running`).
#[test]
fn a_stored_status_has_the_same_name_in_the_database_in_json_and_in_the_api_document() {
    use sea_orm::ActiveEnum;
    use srm::entity::{cases::CaseStatus, enrolments::EnrolmentStatus, grades::GradeStatus};
    use srm::entity::{job_status::JobStatus, students::StudentStatus};
    let doc = serde_json::to_value(srm::api_docs::typed_document()).expect("document");
    fn names<T: ActiveEnum<Value = String> + serde::Serialize + Copy>(
        all: &[T],
        as_str: fn(T) -> &'static str,
    ) -> Vec<String> {
        all.iter()
            .map(|v| {
                let stored = v.to_value();
                assert_eq!(serde_json::to_value(v).expect("json"), stored.as_str());
                assert_eq!(as_str(*v), stored);
                stored
            })
            .collect()
    }
    for (schema, stored) in [
        ("CaseStatus", names(CaseStatus::ALL, CaseStatus::as_str)),
        (
            "EnrolmentStatus",
            names(EnrolmentStatus::ALL, EnrolmentStatus::as_str),
        ),
        ("GradeStatus", names(GradeStatus::ALL, GradeStatus::as_str)),
        ("JobStatus", names(JobStatus::ALL, JobStatus::as_str)),
        (
            "StudentStatus",
            names(StudentStatus::ALL, StudentStatus::as_str),
        ),
    ] {
        assert_eq!(
            doc["components"]["schemas"][schema]["enum"],
            serde_json::json!(stored),
            "{schema}"
        );
    }
}
