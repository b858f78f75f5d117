//! Cross-site request forgery, as an attacker's page would try it: a form posted from another
//! site rides on the victim's session cookie but cannot know the session's token. The check is
//! one data guard (`web::csrf::Csrf<T>`, and the upload guard), run before any handler.

use crate::common::{Backend, TestApp};
use rocket::http::{ContentType, Status};

/// The refusal as the page shows it, in Chinese (the default) and in English.
const REFUSAL_ZH: &str = "表单已过期或并非从本次会话提交";
const REFUSAL_EN: &str = "The form has expired or was not sent from this session";
/// The sign-in forms (no session yet) say it in their own words, on the form itself.
const LOGIN_REFUSAL: [&str; 2] = ["登录表单已过期", "The login form expired"];

fn says_refused(page: &str) -> bool {
    page.contains(REFUSAL_ZH)
        || page.contains(REFUSAL_EN)
        || LOGIN_REFUSAL.iter().any(|t| page.contains(t))
}

#[rocket::async_test]
async fn a_forged_logout_form_is_refused_and_the_session_survives() {
    let app = TestApp::new(Backend::Sqlite).await;
    let csrf = app.page_login(app.people.student).await;

    let res = app
        .client
        .post("/logout")
        .header(ContentType::Form)
        .body("_csrf=forged")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let page = res.into_string().await.unwrap_or_default();
    assert!(
        page.contains(REFUSAL_ZH),
        "the page says why, in Chinese: {page}"
    );
    let res = app.client.get("/dashboard").dispatch().await;
    assert_eq!(res.status(), Status::Ok, "still logged in");

    let res = app
        .client
        .post("/logout")
        .header(ContentType::Form)
        .body(format!("_csrf={csrf}"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let res = app.client.get("/dashboard").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther, "logged out");
}

#[rocket::async_test]
async fn a_forged_upload_is_refused_before_the_file_is_read() {
    let app = TestApp::new(Backend::Sqlite).await;
    app.page_login(app.people.admin).await;
    let admin = app.token(app.people.admin).await;
    let (_, before) = app
        .get_json("/api/v1/students?q=S99001", Some(&admin))
        .await;
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nforged\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nstudent_no,name_zh\nS99001,伪造\n\r\n--{boundary}--\r\n"
    );
    let res = app
        .client
        .post("/students/import")
        .header(
            ContentType::parse_flexible(&format!("multipart/form-data; boundary={boundary}"))
                .expect("content type"),
        )
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let page = res.into_string().await.unwrap_or_default();
    assert!(page.contains(REFUSAL_ZH), "the page says why");
    let (_, after) = app
        .get_json("/api/v1/students?q=S99001", Some(&admin))
        .await;
    assert_eq!(before["total"], after["total"], "nothing imported");
    assert!(before["total"].is_number());
}

/// A concrete path for a route pattern: every parameter filled with something plausible.
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg {
            s if s.starts_with('<') && s.ends_with("..>") => "x".to_string(),
            "<code>" => "messages".to_string(),
            s if s.starts_with('<') && s.ends_with('>') => "1".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[rocket::async_test]
async fn every_state_changing_page_form_refuses_a_forged_token_for_every_role() {
    let app = TestApp::new(Backend::Sqlite).await;
    let routes: Vec<(rocket::http::Method, String)> = app
        .client
        .rocket()
        .routes()
        .filter(|r| !r.uri.path().starts_with("/api/"))
        .filter(|r| {
            !matches!(
                r.method,
                rocket::http::Method::Get | rocket::http::Method::Head
            )
        })
        .map(|r| (r.method, r.uri.path().to_string()))
        .collect();
    assert!(routes.len() >= 30, "the page forms are found");
    let boundary = "FoRgEd";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nforged\r\n--{boundary}--\r\n"
    );
    let multipart =
        ContentType::parse_flexible(&format!("multipart/form-data; boundary={boundary}"))
            .expect("content type");
    let p = app.people.clone();
    // Per route: whether some role was refused for the token itself, and any acceptance.
    let mut refused_for_token = std::collections::BTreeSet::new();
    let mut accepted = Vec::new();
    for role in [p.admin, p.teacher, p.student] {
        app.page_login(role).await;
        for (method, pattern) in &routes {
            let res = app
                .client
                .req(*method, concrete(pattern))
                .header(multipart.clone())
                .body(body.clone())
                .dispatch()
                .await;
            let status = res.status();
            let page = res.into_string().await.unwrap_or_default();
            if status.code < 400 {
                accepted.push(format!("{method} {pattern} as user {role}: {status}"));
            } else if status == Status::Forbidden && says_refused(&page) {
                refused_for_token.insert(format!("{method} {pattern}"));
            }
        }
        app.page_logout().await;
    }
    assert!(
        accepted.is_empty(),
        "forged forms accepted:\n{}",
        accepted.join("\n")
    );
    // NOTE: the one-click unsubscribe (RFC 8058) is posted by mail clients without a session
    // or form token: its signed path token is the authority (a forged one is a 404, above).
    let unchecked: Vec<String> = routes
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .filter(|r| !refused_for_token.contains(r) && r != "POST /unsubscribe/<code>")
        .collect();
    assert!(
        unchecked.is_empty(),
        "no role got the CSRF refusal (the token is not checked first):\n{}",
        unchecked.join("\n")
    );
}
