//! Logging in and out, throttling, CSRF and password changes.

use crate::common::{PASSWORD, TestApp, on_each_backend};
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::json;

#[rocket::async_test]
async fn api_login_returns_a_token_and_hides_which_part_was_wrong() {
    on_each_backend(|app| async move {
        let name = TestApp::username(app.people.student);
        let (s, body) = app
            .send_json(
                Method::Post,
                "/api/v1/auth/login",
                None,
                json!({"username": name, "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert!(
            body["token"]
                .as_str()
                .is_some_and(|t| t.split('.').count() == 3)
        );
        assert!(body["expires_at"].as_str().is_some());
        assert_eq!(body["user"]["username"], name);
        assert_eq!(body["user"]["groups"], json!(["student"]));

        let (s1, wrong_pw) = app
            .send_json(
                Method::Post,
                "/api/v1/auth/login",
                None,
                json!({"username": name, "password": "nope-nope"}),
            )
            .await;
        let (s2, no_user) = app
            .send_json(
                Method::Post,
                "/api/v1/auth/login",
                None,
                json!({"username": "nobody-here", "password": "nope-nope"}),
            )
            .await;
        assert_eq!((s1, s2), (Status::Unauthorized, Status::Unauthorized));
        assert_eq!(
            wrong_pw, no_user,
            "the answer does not say whether the account exists"
        );
        assert_eq!(wrong_pw["error"]["code"], "bad_credentials");

        let (s, body) = app
            .send_json(
                Method::Post,
                "/api/v1/auth/login",
                None,
                json!({"username": 5}),
            )
            .await;
        assert!(
            s == Status::UnprocessableEntity || s == Status::BadRequest,
            "malformed body: {s}"
        );
        assert!(body["error"]["code"].is_string());

        assert_eq!(app.audit_count("auth.login", "ok").await, 1);
        assert_eq!(app.audit_count("auth.login_failed", "failed").await, 2);
    })
    .await;
}

#[rocket::async_test]
async fn repeated_failures_are_slowed_then_refused_with_retry_after() {
    on_each_backend(|app| async move {
        let name = TestApp::username(app.people.student);
        for _ in 0..5 {
            let (s, _) = app
                .send_json(
                    Method::Post,
                    "/api/v1/auth/login",
                    None,
                    json!({"username": name, "password": "wrong-guess"}),
                )
                .await;
            assert_eq!(s, Status::Unauthorized);
        }
        let res = app
            .client
            .post("/api/v1/auth/login")
            .header(ContentType::JSON)
            .body(json!({"username": name, "password": PASSWORD}).to_string())
            .dispatch()
            .await;
        assert_eq!(
            res.status(),
            Status::TooManyRequests,
            "even the right password waits"
        );
        let retry: u64 = res
            .headers()
            .get_one("Retry-After")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!(retry > 0 && retry <= 15 * 60);
        let body: serde_json::Value = res.into_json().await.expect("json");
        assert_eq!(body["error"]["code"], "too_many_requests");
        // Another account from the same address is not locked out by this one.
        let other = TestApp::username(app.people.other_student);
        let (s, _) = app
            .send_json(
                Method::Post,
                "/api/v1/auth/login",
                None,
                json!({"username": other, "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(app.audit_count("auth.login_throttled", "denied").await, 1);
    })
    .await;
}

#[rocket::async_test]
async fn forms_without_this_sessions_csrf_token_are_refused() {
    on_each_backend(|app| async move {
        // A second session's token, from a separate client.
        let other_client = rocket::local::asynchronous::Client::tracked(srm::build(
            crate::common::test_figment(),
            srm::prepare(app.config.clone()).await.expect("state"),
        ))
        .await
        .expect("client");
        let form = other_client
            .get("/login")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page");
        let login_csrf = crate::common::hidden_value(&form, "_csrf").expect("csrf");
        other_client
            .post("/login")
            .header(ContentType::Form)
            .body(format!(
                "username={}&password={PASSWORD}&_csrf={login_csrf}",
                TestApp::username(app.people.admin)
            ))
            .dispatch()
            .await;
        let other_page = other_client
            .get("/account/password")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page");
        let foreign = crate::common::hidden_value(&other_page, "_csrf").expect("csrf");

        let mine = app.page_login(app.people.admin).await;
        assert_ne!(mine, foreign);
        for body in [
            "enabled=false".to_string(),
            format!("enabled=false&_csrf={foreign}"),
        ] {
            let res = app
                .client
                .post("/admin/modules/messages")
                .header(ContentType::Form)
                .body(body)
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::Forbidden);
        }
        let (_, modules) = app
            .get_json("/api/v1/modules", Some(&app.token(app.people.admin).await))
            .await;
        assert!(
            modules
                .as_array()
                .expect("list")
                .iter()
                .all(|m| m["enabled"] == true),
            "nothing changed"
        );

        let res = app
            .client
            .post("/admin/modules/messages")
            .header(ContentType::Form)
            .body(format!("enabled=false&_csrf={mine}"))
            .dispatch()
            .await;
        assert_eq!(
            res.status(),
            Status::SeeOther,
            "with the right token it works"
        );

        // The API called with the cookie instead of a bearer token needs the header.
        let res = app
            .client
            .put("/api/v1/modules/messages")
            .header(ContentType::JSON)
            .body(r#"{"enabled":true}"#)
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden);
        let res = app
            .client
            .put("/api/v1/modules/messages")
            .header(ContentType::JSON)
            .header(Header::new("X-CSRF-Token", mine.clone()))
            .body(r#"{"enabled":true}"#)
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);

        // The login form itself carries a pre-session token.
        app.page_logout().await;
        let res = app
            .client
            .post("/login")
            .header(ContentType::Form)
            .body(format!(
                "username={}&password={PASSWORD}&_csrf=forged",
                TestApp::username(app.people.admin)
            ))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden);
    })
    .await;
}

#[rocket::async_test]
async fn a_user_changes_their_password_with_errors_shown_next_to_the_field() {
    on_each_backend(|app| async move {
        let csrf = app.page_login(app.people.student).await;
        let res = app
            .client
            .post("/account/password")
            .header(ContentType::Form)
            .body(format!("current=wrong-one&new_password=short&confirm=short&_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = res.into_string().await.expect("page");
        assert!(html.contains("field-error"), "error shown in the form");

        let res = app
            .client
            .post("/account/password")
            .header(ContentType::Form)
            .body(format!("current={PASSWORD}&new_password=new-password-9&confirm=new-password-9&_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        // The fresh session keeps working; the old password no longer does.
        assert_eq!(app.client.get("/dashboard").dispatch().await.status(), Status::Ok);
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None,
            json!({"username": TestApp::username(app.people.student), "password": PASSWORD})).await;
        assert_eq!(s, Status::Unauthorized);
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None,
            json!({"username": TestApp::username(app.people.student), "password": "new-password-9"})).await;
        assert_eq!(s, Status::Ok);
    })
    .await;
}
