//! Issue 15's last holes: a flash cookie someone else set is never shown as an official message
//! (the portal signs its own), and no forged address header reaches the client address, not
//! even through Rocket's own `X-Real-IP` default.

use crate::common::{Backend, TestApp, test_config, test_figment};
use rocket::http::{ContentType, Cookie, Header, Status};

const BAIT: &str = "Please join QQ group 123456";

async fn page_with_flash(app: &TestApp, uri: &str, flash: &str) -> String {
    let res = app
        .client
        .get(uri.to_string())
        .header(Header::new("Accept-Language", "en"))
        .cookie(Cookie::new("_flash", flash.to_string()))
        .dispatch()
        .await;
    assert!(res.status().code < 500, "{uri}: {}", res.status());
    res.into_string().await.unwrap_or_default()
}

#[rocket::async_test]
async fn a_forged_flash_cookie_is_not_shown_as_an_official_message() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    app.page_login(p.student).await;
    // Rocket's flash cookie: the kind's length, ':', the kind, the message.
    let forged = format!("5:error{BAIT}");
    let html = page_with_flash(&app, "/registrations?error=hold", &forged).await;
    assert!(!html.contains("QQ group"), "the forged flash text is shown");
    assert!(
        html.contains("A hold blocks registration"),
        "the code's own message is shown instead"
    );
    // A signature copied from nowhere does not help either.
    let html = page_with_flash(
        &app,
        "/registrations?error=hold",
        &format!("{forged}\u{1f}0123456789abcdef0123456789abcdef"),
    )
    .await;
    assert!(
        !html.contains("QQ group"),
        "a made-up signature is believed"
    );
    app.page_logout().await;

    app.page_login(p.admin).await;
    let uri = format!("/students/{}/holds?error=invalid_reason", p.student_record);
    let html = page_with_flash(&app, &uri, &forged).await;
    assert!(
        !html.contains("QQ group"),
        "the holds page shows the forged text"
    );
}

#[rocket::async_test]
async fn the_portals_own_flash_cookie_is_signed_and_its_text_shown() {
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
    let set: Vec<String> = res
        .headers()
        .get("Set-Cookie")
        .filter(|c| c.starts_with("_flash="))
        .map(str::to_string)
        .collect();
    assert_eq!(set.len(), 1, "one flash cookie");
    let flash = Cookie::parse_encoded(set[0].clone()).unwrap();
    let (text, mac) = flash.value().rsplit_once('\u{1f}').expect("a signature");
    assert!(text.ends_with("请填写 1–500 字的原因。"), "{text}");
    assert_eq!(mac.len(), 32);
    let loc = res.headers().get_one("Location").unwrap().to_string();
    let html = app
        .client
        .get(loc)
        .header(Header::new("Accept-Language", "en"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap_or_default();
    assert!(
        html.contains("请填写 1–500 字的原因。"),
        "the signed text as written: {html}"
    );
}

#[rocket::get("/probe/client-ip")]
fn probe(ip: Option<std::net::IpAddr>) -> String {
    ip.map(|ip| ip.to_string()).unwrap_or_default()
}

#[rocket::async_test]
async fn rockets_own_client_address_never_comes_from_a_forged_header() {
    let dir = std::env::temp_dir().join(format!("srm-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = srm::prepare(test_config(&dir, None)).await.unwrap();
    let rocket = srm::build(test_figment(), state).mount("/", rocket::routes![probe]);
    let client = rocket::local::asynchronous::Client::untracked(rocket)
        .await
        .unwrap();
    assert!(
        client.rocket().config().ip_header.is_none(),
        "Rocket's X-Real-IP default is off"
    );
    let peer: std::net::SocketAddr = "10.9.8.7:40000".parse().unwrap();
    for (name, value) in [
        ("X-Real-IP", "6.6.6.6"),
        ("X-Forwarded-For", "6.6.6.6"),
        ("Forwarded", "for=6.6.6.6"),
    ] {
        let seen = client
            .get("/probe/client-ip")
            .remote(peer)
            .header(Header::new(name, value))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        assert_eq!(seen, "10.9.8.7", "{name} was believed");
    }
    drop(client);
    std::fs::remove_dir_all(&dir).ok();
}
