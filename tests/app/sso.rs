//! Single sign-on against a real OpenID provider: panva's `oidc-provider` (installed by `.ci/run`
//! into `target/oidc`) started from `tests/tools/oidc/provider.mjs` on a free port. Without node
//! or the package the tests fail under CI and are skipped (with a message) elsewhere.

use crate::common::{Backend, TestApp, on_each_backend_configured};
use rocket::http::{ContentType, Cookie, Status};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use srm::config::AppConfig;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PUBLIC_URL: &str = "http://portal.test";
const SECRET: &str = "test-only-client-secret";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The provider process; stopped when dropped.
pub(crate) struct Idp {
    child: Child,
    pub(crate) issuer: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip_or_fail(why: &str) -> Option<Idp> {
    assert!(
        std::env::var("CI").is_err(),
        "{why}: .ci/run must install node and oidc-provider into target/oidc"
    );
    eprintln!("SKIPPED: {why} (run .ci/run once to install the test provider)");
    None
}

impl Idp {
    /// Starts the provider with clients whose redirect goes to `public_url`.
    pub(crate) async fn start_or_skip(public_url: &str) -> Option<Idp> {
        let root = env!("CARGO_MANIFEST_DIR");
        let modules = format!("{root}/target/oidc/node_modules");
        if !std::path::Path::new(&modules)
            .join("oidc-provider/package.json")
            .exists()
        {
            return skip_or_fail("oidc-provider is not installed in target/oidc");
        }
        let port = free_port();
        let Ok(child) = Command::new("node")
            .arg(format!("{root}/tests/tools/oidc/provider.mjs"))
            .env("OIDC_MODULES", &modules)
            .env("PORT", port.to_string())
            .env("REDIRECT_URI", format!("{public_url}/login/sso/callback"))
            .env("POST_LOGOUT_URI", format!("{public_url}/login"))
            .env("SECRET", SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return skip_or_fail("node is not installed");
        };
        let idp = Idp {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        };
        let discovery = format!("{}/.well-known/openid-configuration", idp.issuer);
        for _ in 0..100 {
            if reqwest::get(&discovery)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Some(idp);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the test provider did not start");
    }

    /// The portal's configuration for this provider, as client `client_id`.
    pub(crate) fn configure(&self, c: &mut AppConfig, client_id: &str, public_url: &str) {
        c.public_url = Some(public_url.to_string());
        c.oidc_issuer = Some(self.issuer.clone());
        c.oidc_client_id = Some(client_id.to_string());
        c.oidc_client_secret = Some(SECRET.to_string());
    }

    /// Signs in at the provider as `login`, as a browser would, from the authorization URL the
    /// portal sent; returns the portal's callback path with its query.
    async fn sign_in(&self, authorize_url: &str, login: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let mut cookies: HashMap<String, String> = HashMap::new();
        let mut url = authorize_url.to_string();
        for _ in 0..6 {
            let jar = cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let req = if url.contains("/interaction/") {
                http.post(format!("{url}/login"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(format!("login={login}"))
            } else {
                http.get(&url)
            };
            let res = req.header("Cookie", jar).send().await.expect("provider");
            for set in res.headers().get_all("set-cookie") {
                let pair = set.to_str().unwrap_or_default().split(';').next();
                if let Some((k, v)) = pair.and_then(|p| p.split_once('=')) {
                    cookies.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            let location = res
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_else(|| panic!("a redirect from {url}: {}", res.status()))
                .to_string();
            let next = if location.starts_with('/') {
                format!("{}{location}", self.issuer)
            } else {
                location
            };
            if let Some(path) = next.strip_prefix(PUBLIC_URL) {
                return path.to_string();
            }
            url = next;
        }
        panic!("the provider never sent the browser back to the portal");
    }
}

/// Starts a sign-in at the portal; returns the provider's authorization URL.
async fn start(app: &TestApp) -> String {
    let res = app.client.get("/login/sso").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther, "the sign-in starts");
    res.headers()
        .get_one("Location")
        .expect("to the provider")
        .to_string()
}

/// The reason of the last refused single sign-on in the audit log.
async fn last_refusal(app: &TestApp) -> String {
    use srm::entity::audit_log;
    let row = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("auth.sso_refused"))
        .order_by_desc(audit_log::Column::Id)
        .one(app.db())
        .await
        .expect("audit")
        .expect("a refusal was audited");
    let detail: serde_json::Value = serde_json::from_str(&row.detail).expect("detail");
    detail["reason"].as_str().unwrap_or_default().to_string()
}

fn query_param(path: &str, name: &str) -> String {
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

async fn dashboard_status(app: &TestApp) -> Status {
    app.client.get("/dashboard").dispatch().await.status()
}

#[rocket::async_test]
async fn a_student_signs_in_through_the_provider_with_a_real_session_and_logout_ends_it_there() {
    let Some(idp) = Idp::start_or_skip(PUBLIC_URL).await else {
        return;
    };
    let idp = &idp;
    on_each_backend_configured(
        true,
        |c| idp.configure(c, "portal", PUBLIC_URL),
        |app| async move {
            let login = app.client.get("/login").dispatch().await;
            let html = login.into_string().await.unwrap_or_default();
            assert!(
                html.contains("href=\"/login/sso"),
                "the login page offers SSO"
            );

            let authorize = start(&app).await;
            assert!(authorize.starts_with(&idp.issuer), "sent to the provider");
            for p in [
                "code_challenge=",
                "code_challenge_method=S256",
                "nonce=",
                "state=",
            ] {
                assert!(authorize.contains(p), "{p} in {authorize}");
            }
            let student = TestApp::username(app.people.student);
            let callback = idp.sign_in(&authorize, &student).await;
            let res = app.client.get(callback).dispatch().await;
            assert_eq!(res.status(), Status::SeeOther, "signed in");
            assert_eq!(res.headers().get_one("Location"), Some("/dashboard"));
            assert!(
                res.cookies().get("srm_session").is_some(),
                "the session cookie"
            );
            assert_eq!(dashboard_status(&app).await, Status::Ok);
            let me = app.client.get("/api/v1/me").dispatch().await;
            let me: serde_json::Value = me.into_json().await.expect("me");
            assert_eq!(me["username"], student.as_str());
            assert_eq!(app.audit_count("auth.login", "ok").await, 1);

            // Logout: the portal's session is revoked, and the browser goes on to the provider.
            let token = app
                .client
                .cookies()
                .get("srm_session")
                .map(|c| c.value().to_string())
                .expect("session");
            let csrf = app.page_csrf().await;
            let res = app
                .client
                .post("/logout")
                .header(ContentType::Form)
                .body(format!("_csrf={csrf}"))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::SeeOther);
            let to = res
                .headers()
                .get_one("Location")
                .unwrap_or_default()
                .to_string();
            assert!(
                to.starts_with(&format!("{}/session/end", idp.issuer)),
                "to the provider's end-session endpoint: {to}"
            );
            assert!(to.contains("id_token_hint="), "{to}");
            assert!(
                to.contains("post_logout_redirect_uri=http%3A%2F%2Fportal.test%2Flogin"),
                "{to}"
            );
            let (status, _) = app.get_json("/api/v1/me", Some(&token)).await;
            assert_eq!(status, Status::Unauthorized, "the old token is revoked");

            // A password session opened later in the same browser ends in the portal only.
            let callback = idp.sign_in(&start(&app).await, &student).await;
            let res = app.client.get(callback).dispatch().await;
            assert_eq!(res.status(), Status::SeeOther, "signed in again");
            app.client.get("/login").dispatch().await;
            let login_csrf = app
                .client
                .cookies()
                .get(srm::web::csrf::LOGIN_COOKIE)
                .map(|c| c.value().to_string())
                .expect("login csrf");
            let res = app
                .client
                .post("/login")
                .header(ContentType::Form)
                .body(format!(
                    "username={student}&password={}&_csrf={login_csrf}",
                    crate::common::PASSWORD
                ))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::SeeOther, "password login");
            let csrf = app.page_csrf().await;
            let res = app
                .client
                .post("/logout")
                .header(ContentType::Form)
                .body(format!("_csrf={csrf}"))
                .dispatch()
                .await;
            assert_eq!(res.headers().get_one("Location"), Some("/login"));
        },
    )
    .await;
}

#[rocket::async_test]
async fn a_callback_whose_state_is_not_the_flows_is_refused() {
    let Some(idp) = Idp::start_or_skip(PUBLIC_URL).await else {
        return;
    };
    let idp = &idp;
    on_each_backend_configured(
        true,
        |c| idp.configure(c, "portal", PUBLIC_URL),
        |app| async move {
            let authorize = start(&app).await;
            let student = TestApp::username(app.people.student);
            let callback = idp.sign_in(&authorize, &student).await;
            let state = query_param(&callback, "state");
            let forged = callback.replace(&format!("state={state}"), "state=forged-state");
            let res = app.client.get(forged).dispatch().await;
            assert_eq!(res.status(), Status::Forbidden);
            assert!(res.cookies().get("srm_session").is_none());
            assert_eq!(last_refusal(&app).await, "state");
            assert_ne!(dashboard_status(&app).await, Status::Ok, "no session");
        },
    )
    .await;
}

#[rocket::async_test]
async fn a_code_used_twice_is_refused_even_with_the_flow_cookie_replayed() {
    let Some(idp) = Idp::start_or_skip(PUBLIC_URL).await else {
        return;
    };
    let idp = &idp;
    on_each_backend_configured(
        true,
        |c| idp.configure(c, "portal", PUBLIC_URL),
        |app| async move {
            let authorize = start(&app).await;
            let flow = app
                .client
                .cookies()
                .get("srm_sso_flow")
                .map(|c| c.value().to_string())
                .expect("the flow cookie");
            let student = TestApp::username(app.people.student);
            let callback = idp.sign_in(&authorize, &student).await;
            let first = app.client.get(callback.clone()).dispatch().await;
            assert_eq!(first.status(), Status::SeeOther, "the first use signs in");
            app.client.cookies().remove(Cookie::from("srm_session"));

            // Without the flow cookie (it served once), the replay is refused by the portal...
            let res = app.client.get(callback.clone()).dispatch().await;
            assert_eq!(res.status(), Status::Forbidden);
            assert_eq!(last_refusal(&app).await, "state");
            // ...and with a copy of it, by the provider, which knows the code was used.
            let res = app
                .client
                .get(callback)
                .cookie(Cookie::new("srm_sso_flow", flow))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::Forbidden);
            assert!(res.cookies().get("srm_session").is_none());
            assert_eq!(last_refusal(&app).await, "exchange");
        },
    )
    .await;
}

/// Signs in the student through client `client_id`, whose ID token the provider deforms.
async fn refused_through(client_id: &'static str, reason: &str) {
    let Some(idp) = Idp::start_or_skip(PUBLIC_URL).await else {
        return;
    };
    let idp = &idp;
    on_each_backend_configured(
        true,
        |c| idp.configure(c, client_id, PUBLIC_URL),
        |app| async move {
            let authorize = start(&app).await;
            let student = TestApp::username(app.people.student);
            let callback = idp.sign_in(&authorize, &student).await;
            let res = app.client.get(callback).dispatch().await;
            assert_eq!(res.status(), Status::Forbidden, "{client_id}");
            assert!(res.cookies().get("srm_session").is_none());
            let html = res.into_string().await.unwrap_or_default();
            assert!(html.contains("role=\"alert\""), "a refusal is shown");
            assert_eq!(last_refusal(&app).await, reason);
            assert_eq!(app.audit_count("auth.login", "ok").await, 0);
        },
    )
    .await;
}

#[rocket::async_test]
async fn an_id_token_issued_for_another_audience_is_refused() {
    refused_through("portal-aud", "audience").await;
}

#[rocket::async_test]
async fn an_expired_id_token_is_refused() {
    refused_through("portal-expired", "expired").await;
}

#[rocket::async_test]
async fn a_university_account_without_a_portal_account_gets_a_clear_refusal() {
    let Some(idp) = Idp::start_or_skip(PUBLIC_URL).await else {
        return;
    };
    let idp = &idp;
    on_each_backend_configured(
        true,
        |c| idp.configure(c, "portal", PUBLIC_URL),
        |app| async move {
            let authorize = start(&app).await;
            let callback = idp.sign_in(&authorize, "ghost2026").await;
            let res = app
                .client
                .get(callback)
                .header(rocket::http::Header::new("Accept-Language", "en"))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::Forbidden);
            let html = res.into_string().await.unwrap_or_default();
            assert!(
                html.contains("Your university account (ghost2026) has no account in this portal"),
                "{html}"
            );
            assert_eq!(last_refusal(&app).await, "unknown_user");
        },
    )
    .await;
}

#[rocket::async_test]
async fn a_disabled_account_cannot_sign_in_through_the_provider() {
    let Some(idp) = Idp::start_or_skip(PUBLIC_URL).await else {
        return;
    };
    let idp = &idp;
    on_each_backend_configured(
        true,
        |c| idp.configure(c, "portal", PUBLIC_URL),
        |app| async move {
            use sea_orm::{ActiveModelTrait, Set};
            srm::entity::users::ActiveModel {
                id: Set(app.people.student),
                is_active: Set(false),
                ..Default::default()
            }
            .update(app.db())
            .await
            .expect("disable");
            let authorize = start(&app).await;
            let student = TestApp::username(app.people.student);
            let callback = idp.sign_in(&authorize, &student).await;
            let res = app.client.get(callback).dispatch().await;
            assert_eq!(res.status(), Status::Forbidden);
            assert_eq!(last_refusal(&app).await, "disabled");
        },
    )
    .await;
}

#[rocket::async_test]
async fn without_an_issuer_there_is_no_sso_link_and_its_routes_are_not_found() {
    let app = TestApp::new(Backend::Sqlite).await;
    let html = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap_or_default();
    assert!(!html.contains("/login/sso"), "no SSO link");
    for path in ["/login/sso", "/login/sso/callback?state=a&code=b"] {
        let res = app.client.get(path).dispatch().await;
        assert_eq!(res.status(), Status::NotFound, "{path}");
    }
}

/// The portal configured for single sign-on at an address nobody answers: enough for the rules
/// that hold while it is configured, without the provider.
fn sso_configured(c: &mut AppConfig) {
    c.public_url = Some(PUBLIC_URL.to_string());
    c.oidc_issuer = Some("http://127.0.0.1:9".to_string());
    c.oidc_client_id = Some("portal".to_string());
    c.oidc_client_secret = Some(SECRET.to_string());
}

/// Sets a built-in group to single sign-on only, through the API as the administrator.
async fn sso_only(app: &TestApp, admin_token: &str, code: &str) {
    let (status, groups) = app.get_json("/api/v1/groups", Some(admin_token)).await;
    assert_eq!(status, Status::Ok);
    let group = groups
        .as_array()
        .and_then(|all| all.iter().find(|g| g["code"] == code))
        .expect("group")
        .clone();
    assert_eq!(group["local_password"], true, "allowed by default");
    let body = serde_json::json!({
        "code": group["code"], "name": group["name"], "description": group["description"],
        "permissions": group["permissions"], "local_password": false,
    });
    let (status, saved) = app
        .send_json(
            rocket::http::Method::Put,
            &format!("/api/v1/groups/{}", group["id"]),
            Some(admin_token),
            body,
        )
        .await;
    assert_eq!(status, Status::Ok, "{saved}");
    assert_eq!(saved["local_password"], false);
}

async fn page_password_login(app: &TestApp, user: i64) -> (Status, String) {
    let form = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap_or_default();
    let csrf = crate::common::hidden_value(&form, "_csrf").expect("login csrf");
    let res = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .header(rocket::http::Header::new("Accept-Language", "en"))
        .body(format!(
            "username={}&password={}&next=%2Fdashboard&_csrf={csrf}",
            TestApp::username(user),
            crate::common::PASSWORD
        ))
        .dispatch()
        .await;
    (res.status(), res.into_string().await.unwrap_or_default())
}

#[rocket::async_test]
async fn a_group_set_to_sso_only_refuses_local_passwords_but_administrators_keep_break_glass() {
    on_each_backend_configured(true, sso_configured, |app| async move {
        let admin = app.token(app.people.admin).await;
        sso_only(&app, &admin, "student").await;
        sso_only(&app, &admin, "admin").await;

        let (status, html) = page_password_login(&app, app.people.student).await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(html.contains("single sign-on only"), "{html}");
        assert!(
            html.contains("href=\"/login/sso"),
            "pointing to single sign-on"
        );
        let body = serde_json::json!({
            "username": TestApp::username(app.people.student),
            "password": crate::common::PASSWORD,
        });
        let (status, err) = app
            .send_json(rocket::http::Method::Post, "/api/v1/auth/login", None, body)
            .await;
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(err["error"]["code"], "sso_only");
        assert_eq!(app.audit_count("auth.login_refused", "denied").await, 2);

        // A group that still allows passwords keeps them; an administrator breaks the glass.
        let (status, _) = page_password_login(&app, app.people.teacher).await;
        assert_eq!(
            status,
            Status::SeeOther,
            "the teacher's group allows passwords"
        );
        app.page_logout().await;
        let (status, _html) = page_password_login(&app, app.people.admin).await;
        assert_eq!(
            status,
            Status::SeeOther,
            "the administrator's break-glass login: {_html}"
        );
        use srm::entity::audit_log;
        let last = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("auth.login"))
            .filter(audit_log::Column::ActorId.eq(app.people.admin))
            .order_by_desc(audit_log::Column::Id)
            .one(app.db())
            .await
            .expect("audit")
            .expect("the admin's login");
        assert!(last.detail.contains("break_glass"), "{}", last.detail);
    })
    .await;
}

#[rocket::async_test]
async fn without_single_sign_on_a_group_set_to_sso_only_still_signs_in_with_passwords() {
    on_each_backend_configured(
        true,
        |_| {},
        |app| async move {
            let admin = app.token(app.people.admin).await;
            sso_only(&app, &admin, "student").await;
            let (status, _) = page_password_login(&app, app.people.student).await;
            assert_eq!(status, Status::SeeOther, "nobody is locked out");
        },
    )
    .await;
}

#[rocket::async_test]
async fn a_student_signs_in_through_the_university_in_a_browser_and_lands_on_their_dashboard() {
    use crate::browser::{Page, driver_or_skip, serve_on};
    let Some(driver) = driver_or_skip().await else {
        return;
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let Some(idp) = Idp::start_or_skip(&base).await else {
        return;
    };
    let app = TestApp::setup_with(Backend::Sqlite, true, &|c: &mut AppConfig| {
        idp.configure(c, "portal", &base)
    })
    .await;
    let base = serve_on(&app, port).await;
    let page = Page {
        d: &driver,
        sid: driver.session("en-US", &app.dir.join("chrome-sso")).await,
    };
    page.go(&format!("{base}/dashboard")).await;
    page.wait_for_url("/login?next=/dashboard").await;
    // The login page with its SSO button, on a 390 px phone: it fits, and axe finds nothing
    // serious.
    page.viewport(390, 844).await;
    page.wait_for_text("Sign in with the university").await;
    let (scroll, width, wide) = page.overflow().await;
    assert!(scroll <= width + 0.5, "the login page fits 390 px: {wide}");
    if let Some(axe) = crate::phone::axe_source() {
        let found = page.axe(&axe).await;
        assert!(found.is_empty(), "axe on the login page: {found:#?}");
    }
    page.click("#login-sso").await;
    page.wait_for_text("University sign-in").await;
    page.type_into("#login", &TestApp::username(app.people.student))
        .await;
    page.click("#idp-submit").await;
    let url = page.wait_for_url("/dashboard").await;
    assert!(url.starts_with(&base), "back at the portal: {url}");
    let html = page.wait_for_text("My courses this term").await;
    assert!(html.contains("My courses this term"), "{html}");
    page.close().await;
}

#[rocket::async_test]
async fn a_roster_student_without_an_account_gets_one_at_first_sign_in_when_configured() {
    let Some(idp) = Idp::start_or_skip(PUBLIC_URL).await else {
        return;
    };
    let idp = &idp;
    on_each_backend_configured(
        true,
        |c| {
            idp.configure(c, "portal", PUBLIC_URL);
            c.oidc_create_students = true;
        },
        |app| async move {
            use sea_orm::{ActiveModelTrait, Set};
            // A roster student whose account is gone: their old account took another name.
            let (old_user, record) = crate::common::extra_student(&app, "2026123456").await;
            srm::entity::students::ActiveModel {
                id: Set(record),
                user_id: Set(None),
                ..Default::default()
            }
            .update(app.db())
            .await
            .expect("unlink");
            srm::entity::users::ActiveModel {
                id: Set(old_user),
                username: Set("left-behind".into()),
                username_folded: Set(Some("left-behind".into())),
                ..Default::default()
            }
            .update(app.db())
            .await
            .expect("rename");

            // Not in the roster: still refused.
            let callback = idp.sign_in(&start(&app).await, "ghost2026").await;
            let res = app.client.get(callback).dispatch().await;
            assert_eq!(res.status(), Status::Forbidden);
            assert_eq!(last_refusal(&app).await, "unknown_user");

            let callback = idp.sign_in(&start(&app).await, "2026123456").await;
            let res = app.client.get(callback).dispatch().await;
            assert_eq!(res.status(), Status::SeeOther, "signed in");
            let me = app.client.get("/api/v1/me").dispatch().await;
            let me: serde_json::Value = me.into_json().await.expect("me");
            assert_eq!(me["username"], "2026123456");
            assert_eq!(me["student_id"], record, "linked to the roster record");
            assert_eq!(me["groups"], serde_json::json!(["student"]));
            assert_eq!(app.audit_count("students.account_created", "ok").await, 1);
        },
    )
    .await;
}

#[rocket::async_test]
async fn a_student_whose_group_signs_in_only_through_the_university_cannot_set_a_password() {
    use crate::account_security::{activate, code_in, create_accounts, enrolled_student};
    on_each_backend_configured(true, sso_configured, |app| async move {
        let admin = app.token(app.people.admin).await;
        let nid = "110101200605171234";
        enrolled_student(&app, &admin, "2026000301", nid).await;
        let code = code_in(&create_accounts(&app, &admin).await, "2026000301");
        sso_only(&app, &admin, "student").await;
        let (s, e) = activate(
            &app,
            serde_json::json!({"student_no": "2026000301", "code": code, "national_id": nid,
                "new_password": "my-own-pass-1"}),
        )
        .await;
        assert_eq!(s, Status::UnprocessableEntity, "{e}");
        assert_eq!(e["error"]["code"], "sso_only");
        let user = srm::entity::users::Entity::find()
            .filter(srm::entity::users::Column::Username.eq("2026000301"))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert!(user.password_hash.is_empty(), "no password was set");
        assert_eq!(
            app.audit_count("auth.activation_refused", "denied").await,
            1
        );
    })
    .await;
}
