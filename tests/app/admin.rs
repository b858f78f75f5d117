//! Administrators manage accounts, groups and modules; every write is audited.

use crate::common::{TestApp, on_each_backend};
use rocket::http::{Method, Status};
use serde_json::json;

#[rocket::async_test]
async fn a_custom_group_grants_exactly_its_permissions_to_its_members() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let (s, group) = app
            .send_json(Method::Post, "/api/v1/groups", Some(&admin),
                json!({"code": "registrar", "name": "Registrar", "permissions": ["students.view_any", "users.manage"]}))
            .await;
        assert_eq!(s, Status::Created);
        assert_eq!(group["permissions"], json!(["students.view_any", "users.manage"]));

        let (s, body) = app
            .send_json(Method::Post, "/api/v1/users", Some(&admin),
                json!({"username": "reg.one", "display_name": "Registrar One", "kind": "staff", "password": "registrar-pass", "groups": ["registrar"]}))
            .await;
        assert_eq!(s, Status::Created, "{body}");
        let (s, login) = app.send_json(Method::Post, "/api/v1/auth/login", None, json!({"username": "reg.one", "password": "registrar-pass"})).await;
        assert_eq!(s, Status::Ok);
        let t = login["token"].as_str().expect("token").to_string();
        let (_, me) = app.get_json("/api/v1/me", Some(&t)).await;
        assert_eq!(me["permissions"], json!(["students.view_any", "users.manage"]));
        assert_eq!(app.get("/api/v1/users", Some(&t)).await.status(), Status::Ok);
        assert_eq!(app.get("/api/v1/audit", Some(&t)).await.status(), Status::Forbidden);
        assert_eq!(app.get(&format!("/api/v1/students/{}", app.people.other_student_record), Some(&t)).await.status(), Status::Ok);

        // Duplicates and unknown permissions are refused clearly.
        let (s, e) = app.send_json(Method::Post, "/api/v1/groups", Some(&admin), json!({"code": "registrar", "name": "Again"})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::Conflict, Some("duplicate_code")));
        let (s, e) = app.send_json(Method::Post, "/api/v1/groups", Some(&admin), json!({"code": "x", "name": "X", "permissions": ["fly"]})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("unknown_permission")));
        let (s, e) = app.send_json(Method::Post, "/api/v1/users", Some(&admin),
            json!({"username": "reg.one", "display_name": "Dup", "kind": "staff", "password": "registrar-pass"})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::Conflict, Some("duplicate_username")));
        assert!(app.audit_count("groups.create", "ok").await >= 1);
        assert!(app.audit_count("users.create", "ok").await >= 1);
    })
    .await;
}

#[rocket::async_test]
async fn a_module_switched_off_disappears_from_menu_pages_and_api() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let student = app.token(app.people.student).await;
        assert_eq!(
            app.get("/api/v1/terms", Some(&student)).await.status(),
            Status::Ok
        );
        let path = format!("/api/v1/students/{}", app.people.student_record);
        assert_eq!(app.get(&path, Some(&student)).await.status(), Status::Ok);

        for code in ["courses", "students"] {
            let (s, _) = app
                .send_json(
                    Method::Put,
                    &format!("/api/v1/modules/{code}"),
                    Some(&admin),
                    json!({"enabled": false}),
                )
                .await;
            assert_eq!(s, Status::Ok);
        }
        let (s, body) = app.get_json("/api/v1/terms", Some(&student)).await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (Status::NotFound, Some("not_found"))
        );
        assert_eq!(
            app.get(&path, Some(&admin)).await.status(),
            Status::NotFound,
            "off for administrators too"
        );

        // The teacher's dashboard no longer lists sections (the courses module is off).
        app.page_login(app.people.teacher).await;
        let html = app
            .client
            .get("/dashboard")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page");
        assert!(
            !html.contains("CS101"),
            "course list hidden while the module is off"
        );
        assert!(
            !html.contains("href=\"&#x2F;courses\""),
            "menu entry gone while the module is off"
        );

        let (s, _) = app
            .send_json(
                Method::Put,
                "/api/v1/modules/courses",
                Some(&admin),
                json!({"enabled": true}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(
            app.get("/api/v1/terms", Some(&student)).await.status(),
            Status::Ok
        );
        let html = app
            .client
            .get("/dashboard")
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page");
        assert!(html.contains("CS101"), "back once switched on");
        assert!(
            html.contains("href=\"&#x2F;courses\""),
            "menu entry back too"
        );
        assert_eq!(
            app.send_json(
                Method::Put,
                "/api/v1/modules/teleport",
                Some(&admin),
                json!({"enabled": true})
            )
            .await
            .0,
            Status::NotFound
        );
        assert_eq!(app.audit_count("modules.switch", "ok").await, 3);
    })
    .await;
}

#[rocket::async_test]
async fn the_audit_log_filters_by_user_student_action_and_date() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let teacher = app.token(app.people.teacher).await;
        let path = format!("/api/v1/students/{}", app.people.student_record);
        assert_eq!(app.get(&path, Some(&teacher)).await.status(), Status::Ok);
        let other = format!("/api/v1/students/{}", app.people.other_student_record);
        assert_eq!(
            app.get(&other, Some(&teacher)).await.status(),
            Status::Forbidden,
            "not in the teacher's sections"
        );

        let q = format!(
            "/api/v1/audit?student={}&action=students.read",
            app.people.student_record
        );
        let (s, page) = app.get_json(&q, Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["actor_id"], app.people.teacher);
        assert_eq!(page["items"][0]["outcome"], "ok");
        let (_, page) = app
            .get_json(
                &format!(
                    "/api/v1/audit?actor={}&action=students.read",
                    app.people.teacher
                ),
                Some(&admin),
            )
            .await;
        assert_eq!(page["total"], 2, "one read, one refusal");
        let today = chrono::Utc::now().date_naive();
        let (_, page) = app
            .get_json(
                &format!("/api/v1/audit?from={today}&to={today}&action=auth.login"),
                Some(&admin),
            )
            .await;
        assert_eq!(page["total"], 2);
        let (_, page) = app
            .get_json("/api/v1/audit?from=2001-01-01&to=2001-01-02", Some(&admin))
            .await;
        assert_eq!(page["total"], 0);

        // A student reading their own record is not a staff read.
        let student = app.token(app.people.student).await;
        assert_eq!(app.get(&path, Some(&student)).await.status(), Status::Ok);
        let (_, page) = app
            .get_json(
                &format!(
                    "/api/v1/audit?actor={}&action=students.read",
                    app.people.student
                ),
                Some(&admin),
            )
            .await;
        assert_eq!(page["total"], 0);
        assert_eq!(
            app.get(&other, Some(&student)).await.status(),
            Status::Forbidden
        );

        // The page shows the same rows.
        app.page_login(app.people.admin).await;
        let html = app
            .client
            .get(format!(
                "/admin/audit?student={}",
                app.people.student_record
            ))
            .dispatch()
            .await
            .into_string()
            .await
            .expect("page");
        assert!(
            html.contains("<td>查看学生档案</td>"),
            "the action by its label, not its code"
        );
        assert!(html.contains(&TestApp::username(app.people.teacher)));
    })
    .await;
}

#[rocket::async_test]
async fn every_account_and_administration_api_route_is_typed_in_the_api_document() {
    let app = TestApp::new(crate::common::Backend::Sqlite).await;
    let (_, doc) = app.get_json("/api/v1/openapi.json", None).await;
    let ours = [
        "/api/v1/auth/",
        "/api/v1/users",
        "/api/v1/groups",
        "/api/v1/permissions",
        "/api/v1/modules",
        "/api/v1/audit",
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let mut seen = 0;
    for (path, item) in paths {
        if path != "/api/v1/me" && !ours.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for (method, op) in item.as_object().expect("operations") {
            seen += 1;
            let ok = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .any(|k| k.starts_with('2'));
            assert!(ok, "{method} {path} has no success answer");
            if path != "/api/v1/auth/login" && path != "/api/v1/auth/activate" {
                assert!(
                    op["security"].is_array(),
                    "{method} {path} names no security"
                );
            }
        }
    }
    assert_eq!(seen, 17, "5 sign-in and 12 administration operations");
    let users = &doc["paths"]["/api/v1/users"]["get"]["parameters"];
    let page = users
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "page"))
        .expect("a page parameter");
    assert_eq!(page["schema"]["minimum"], 1);
    let row = &doc["components"]["schemas"]["UserRow"]["properties"];
    assert!(row["username"].is_object() && row["groups"].is_object());
    assert!(!doc.to_string().contains("password_hash"));
}

/// Found by schemathesis: the only administrator replaced their own groups with none and the
/// portal could never be administered again. Each way to lose the last account that can manage
/// accounts is refused, and nothing of the refused change is stored.
#[rocket::async_test]
async fn the_last_account_that_can_manage_accounts_cannot_be_stripped_of_that_right() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let me = format!("/api/v1/users/{}", app.people.admin);
        // Its own groups replaced by none.
        let (s, e) = app
            .send_json(Method::Patch, &me, Some(&admin), json!({"groups": []}))
            .await;
        assert_eq!(s, Status::Conflict, "{e}");
        assert_eq!(e["error"]["code"], "last_administrator");
        // All or nothing: re-enabling in the same request stores nothing either.
        let (s, _) = app
            .send_json(
                Method::Patch,
                &me,
                Some(&admin),
                json!({"is_active": true, "groups": ["student"]}),
            )
            .await;
        assert_eq!(s, Status::Conflict);
        // The permission taken from the only group that holds it.
        let (_, groups) = app.get_json("/api/v1/groups", Some(&admin)).await;
        let holder = groups
            .as_array()
            .or_else(|| groups["items"].as_array())
            .expect("groups")
            .iter()
            .find(|g| g["code"] == "admin")
            .cloned()
            .expect("the admin group");
        let kept: Vec<String> = holder["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| *p != "users.manage")
            .map(String::from)
            .collect();
        let (s, e) = app
            .send_json(
                Method::Put,
                &format!("/api/v1/groups/{}", holder["id"]),
                Some(&admin),
                json!({"code": "admin", "name": holder["name"], "permissions": kept}),
            )
            .await;
        assert_eq!(s, Status::Conflict, "{e}");
        assert_eq!(e["error"]["code"], "last_administrator");
        // Still an administrator, with the same token (no group change happened).
        let (s, me_now) = app.get_json("/api/v1/me", Some(&admin)).await;
        assert_eq!(s, Status::Ok);
        assert!(
            me_now["permissions"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p == "users.manage")),
            "{me_now}"
        );
        // With a second administrator, the first may give the right up.
        let (s, _) = app
            .send_json(
                Method::Patch,
                &format!("/api/v1/users/{}", app.people.target),
                Some(&admin),
                json!({"groups": ["admin"]}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        let (s, _) = app
            .send_json(
                Method::Patch,
                &me,
                Some(&admin),
                json!({"groups": ["teacher"]}),
            )
            .await;
        assert_eq!(s, Status::Ok);
        // And the second, now the last, can neither be disabled nor stripped by anyone.
        let second = app.token(app.people.target).await;
        let (s, e) = app
            .send_json(
                Method::Patch,
                &format!("/api/v1/users/{}", app.people.target),
                Some(&second),
                json!({"groups": []}),
            )
            .await;
        assert_eq!(s, Status::Conflict, "{e}");

        // The page form says why, in the administrator's language.
        app.page_login(app.people.target).await;
        let csrf = app.page_csrf().await;
        let res = app
            .client
            .post(format!("/admin/users/{}/groups", app.people.target))
            .header(rocket::http::ContentType::Form)
            .header(rocket::http::Header::new("Accept-Language", "zh-CN"))
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Conflict);
        let html = res.into_string().await.unwrap_or_default();
        assert!(html.contains("请先将该权限授予另一个账户"), "{html}");
    })
    .await;
}
