//! Cross-site request forgery, as an attacker's page would try it: a form posted from another
//! site rides on the victim's session cookie but cannot know the session's token. The check is
//! one data guard (`web::csrf::Csrf<T>`, and the upload guard), run before any handler.

use crate::common::{Backend, TestApp};
use rocket::http::{ContentType, Status};

const REFUSAL: &str = "the form has expired or was not sent from this session";

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
    assert!(page.contains(REFUSAL), "the page says why: {page}");
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
    assert!(page.contains(REFUSAL), "the page says why");
    let (_, after) = app
        .get_json("/api/v1/students?q=S99001", Some(&admin))
        .await;
    assert_eq!(before["total"], after["total"], "nothing imported");
    assert!(before["total"].is_number());
}
