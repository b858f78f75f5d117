//! The token matrix: every way a token can be wrong is refused on the next request.

use crate::common::{JWT_SECRET, TestApp, on_each_backend};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rocket::http::{Method, Status};
use serde_json::json;

fn claims(user: i64, ver: i64, exp_offset: i64, iss: &str, aud: &str) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": user.to_string(), "ver": ver, "jti": uuid::Uuid::new_v4().to_string(),
           "iat": now, "exp": now + exp_offset, "iss": iss, "aud": aud})
}

fn sign(alg: Algorithm, claims: &serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

async fn me(app: &TestApp, token: &str) -> Status {
    app.get("/api/v1/me", Some(token)).await.status()
}

async fn version(app: &TestApp, user: i64) -> i64 {
    use sea_orm::EntityTrait;
    srm::entity::users::Entity::find_by_id(user)
        .one(app.db())
        .await
        .expect("db")
        .expect("user")
        .token_version
}

#[rocket::async_test]
async fn forged_or_stale_tokens_are_refused() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let ver = version(&app, p.student).await;
        let good = sign(
            Algorithm::HS256,
            &claims(p.student, ver, 600, "srm", "srm-portal"),
            JWT_SECRET,
        );
        assert_eq!(
            me(&app, &good).await,
            Status::Ok,
            "a correctly made token works"
        );

        // Tampered signature.
        let mut tampered = good.clone();
        let last = tampered.pop().expect("char");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(
            me(&app, &tampered).await,
            Status::Unauthorized,
            "tampered signature"
        );

        // Tampered payload (claims another user) with the original signature.
        let parts: Vec<&str> = good.split('.').collect();
        let other =
            URL_SAFE_NO_PAD.encode(claims(p.admin, ver, 600, "srm", "srm-portal").to_string());
        assert_eq!(
            me(&app, &format!("{}.{}.{}", parts[0], other, parts[2])).await,
            Status::Unauthorized,
            "tampered payload"
        );

        // alg: none.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body =
            URL_SAFE_NO_PAD.encode(claims(p.student, ver, 600, "srm", "srm-portal").to_string());
        assert_eq!(
            me(&app, &format!("{header}.{body}.")).await,
            Status::Unauthorized,
            "alg none"
        );

        // Another algorithm with the same secret.
        let hs512 = sign(
            Algorithm::HS512,
            &claims(p.student, ver, 600, "srm", "srm-portal"),
            JWT_SECRET,
        );
        assert_eq!(me(&app, &hs512).await, Status::Unauthorized, "HS512");

        // Expired, wrong issuer, wrong audience, wrong key.
        let expired = sign(
            Algorithm::HS256,
            &claims(p.student, ver, -5, "srm", "srm-portal"),
            JWT_SECRET,
        );
        assert_eq!(me(&app, &expired).await, Status::Unauthorized, "expired");
        let iss = sign(
            Algorithm::HS256,
            &claims(p.student, ver, 600, "elsewhere", "srm-portal"),
            JWT_SECRET,
        );
        assert_eq!(me(&app, &iss).await, Status::Unauthorized, "issuer");
        let aud = sign(
            Algorithm::HS256,
            &claims(p.student, ver, 600, "srm", "another-app"),
            JWT_SECRET,
        );
        assert_eq!(me(&app, &aud).await, Status::Unauthorized, "audience");
        let key = sign(
            Algorithm::HS256,
            &claims(p.student, ver, 600, "srm", "srm-portal"),
            "some-other-secret-some-other-secret",
        );
        assert_eq!(me(&app, &key).await, Status::Unauthorized, "other key");
        assert_eq!(
            me(&app, "not-a-token").await,
            Status::Unauthorized,
            "garbage"
        );
    })
    .await;
}

#[rocket::async_test]
async fn logout_disabling_and_group_changes_revoke_tokens_at_once() {
    on_each_backend(|app| async move {
        let p = app.people.clone();
        let admin = app.token(p.admin).await;

        // After logout.
        let t = app.token(p.student).await;
        let other_session = app.token(p.student).await;
        assert_eq!(me(&app, &t).await, Status::Ok);
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/logout", Some(&t), json!({})).await;
        assert_eq!(s, Status::NoContent);
        assert_eq!(me(&app, &t).await, Status::Unauthorized, "after logout");
        assert_eq!(me(&app, &other_session).await, Status::Ok, "logout ends only that session");

        // After the account is disabled; enabling it again does not revive old tokens.
        let t = app.token(p.other_student).await;
        let (s, _) = app.send_json(Method::Patch, &format!("/api/v1/users/{}", p.other_student), Some(&admin), json!({"is_active": false})).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(me(&app, &t).await, Status::Unauthorized, "after disabling");
        let (s, body) = app.send_json(Method::Post, "/api/v1/auth/login", None,
            json!({"username": TestApp::username(p.other_student), "password": crate::common::PASSWORD})).await;
        assert_eq!(s, Status::Unauthorized, "a disabled account cannot log in");
        assert_eq!(body["error"]["code"], "bad_credentials");
        app.send_json(Method::Patch, &format!("/api/v1/users/{}", p.other_student), Some(&admin), json!({"is_active": true})).await;
        assert_eq!(me(&app, &t).await, Status::Unauthorized, "old token stays dead after re-enabling");

        // After a group is removed.
        let t = app.token(p.teacher).await;
        assert_eq!(me(&app, &t).await, Status::Ok);
        let (s, _) = app.send_json(Method::Patch, &format!("/api/v1/users/{}", p.teacher), Some(&admin), json!({"groups": []})).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(me(&app, &t).await, Status::Unauthorized, "after group removal");

        // After a password change, on every session.
        let t = app.token(p.auditor).await;
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/password", Some(&t),
            json!({"current_password": crate::common::PASSWORD, "new_password": "a-brand-new-pass"})).await;
        assert_eq!(s, Status::NoContent);
        assert_eq!(me(&app, &t).await, Status::Unauthorized, "after password change");

        // A group's permissions changing also takes effect at once.
        let t = app.token(p.student).await;
        let (s, groups) = app.get_json("/api/v1/groups", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        let student_group = groups.as_array().expect("list").iter().find(|g| g["code"] == "student").expect("student group").clone();
        let (s, _) = app.send_json(Method::Put, &format!("/api/v1/groups/{}", student_group["id"]), Some(&admin),
            json!({"code": "student", "name": "Students", "permissions": ["record.view_own"]})).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(me(&app, &t).await, Status::Unauthorized, "after the group's permissions changed");
    })
    .await;
}
