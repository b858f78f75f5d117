//! The security tests of issue 15, written as the attacks they stop: a teacher activating a
//! student's account with what the portal shows them, guessing activation codes, forged
//! client addresses, parallel password guessing, locking out someone else, telling known
//! accounts from unknown ones by timing, and look-alike user and student names.

use crate::common::{TestApp, on_each_backend, on_each_backend_configured};
use chrono::{Duration, Utc};
use rocket::http::{ContentType, Method, Status};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use srm::entity::{activation_codes, students};

/// Adds a student with a national id and a date of birth, in the teacher's section.
pub(crate) async fn enrolled_student(app: &TestApp, admin: &str, no: &str, nid: &str) -> i64 {
    let (s, v) = app
        .send_json(
            Method::Post,
            "/api/v1/students",
            Some(admin),
            json!({"student_no": no, "name_zh": "周梅", "name_en": "Zhou Mei", "national_id": nid,
                   "birth_date": "2006-05-17", "major": "CS01", "cohort": 2026}),
        )
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let id = v["id"].as_i64().unwrap();
    crate::common::enrol(app.db(), id, app.people.section).await;
    id
}

/// Creates the missing accounts and answers the codes by student number.
pub(crate) async fn create_accounts(app: &TestApp, admin: &str) -> Value {
    let (s, report) = app
        .send_json(
            Method::Post,
            "/api/v1/students/accounts",
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{report}");
    report
}

pub(crate) fn code_in(letters: &Value, no: &str) -> String {
    letters["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["student_no"] == no)
        .and_then(|l| l["code"].as_str())
        .unwrap_or_else(|| panic!("no code for {no} in {letters}"))
        .to_string()
}

pub(crate) async fn activate(app: &TestApp, body: Value) -> (Status, Value) {
    app.send_json(Method::Post, "/api/v1/auth/activate", None, body)
        .await
}

#[rocket::async_test]
async fn a_teacher_who_reads_a_students_national_id_and_birth_date_cannot_activate_their_account() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let nid = "110101200605171234";
        let id = enrolled_student(&app, &admin, "2026000201", nid).await;
        let report = create_accounts(&app, &admin).await;
        let code = code_in(&report, "2026000201");
        assert_eq!(code.chars().filter(|c| c.is_ascii_alphanumeric()).count(), 20, "100 bits");
        let stored = activation_codes::Entity::find().all(app.db()).await.unwrap();
        assert!(stored.iter().all(|c| c.code_hash.len() == 64 && !c.code_hash.contains(&code)),
            "only a SHA-256 of the code is stored");

        // The attack: the teacher reads the record, then activates with what it shows.
        let teacher = app.token(app.people.teacher).await;
        let (s, record) = app.get_json(&format!("/api/v1/students/{id}"), Some(&teacher)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(record["birth_date"], "2006-05-17");
        let page = app.client.get("/login/activate").dispatch().await.into_string().await.unwrap();
        let csrf = crate::common::hidden_value(&page, "_csrf").unwrap();
        let res = app.client.post("/login/activate").header(ContentType::Form)
            .body(format!("_csrf={csrf}&student_no=2026000201&national_id={nid}&birth_date=2006-05-17&new_password=stolen-pass-1&confirm=stolen-pass-1"))
            .dispatch().await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "no code, no account");
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None,
            json!({"username": "2026000201", "password": "stolen-pass-1"})).await;
        assert_eq!(s, Status::Unauthorized, "the teacher cannot sign in as the student");

        // The code alone is not enough either when the record holds a second factor.
        let (s, _) = activate(&app, json!({"student_no": "2026000201", "code": code, "national_id": "110101200605170000",
            "new_password": "my-own-pass-1"})).await;
        assert_eq!(s, Status::UnprocessableEntity);

        // An expired code is refused.
        let row = activation_codes::Entity::find().one(app.db()).await.unwrap().unwrap();
        let mut am: activation_codes::ActiveModel = row.clone().into();
        am.expires_at = Set((Utc::now() - Duration::minutes(1)).fixed_offset());
        am.update(app.db()).await.unwrap();
        let (s, e) = activate(&app, json!({"student_no": "2026000201", "code": code, "national_id": nid,
            "new_password": "my-own-pass-1"})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("activation_mismatch")));

        // Re-issuing invalidates the old code; the new one works, once.
        let (s, teacher_try) = app.send_json(Method::Post, &format!("/api/v1/students/activation-codes?student={id}"),
            Some(&teacher), json!({})).await;
        assert_eq!(s, Status::Forbidden, "{teacher_try}");
        let (s, again) = app.send_json(Method::Post, &format!("/api/v1/students/activation-codes?student={id}"),
            Some(&admin), json!({})).await;
        assert_eq!(s, Status::Ok, "{again}");
        let fresh = code_in(&again, "2026000201");
        assert_ne!(fresh, code);
        assert!(activation_codes::Entity::find().one(app.db()).await.unwrap().unwrap().expires_at
            > (Utc::now() + Duration::days(13)).fixed_offset(), "valid 14 days by default");
        let (s, _) = activate(&app, json!({"student_no": "2026000201", "code": code, "national_id": nid,
            "new_password": "my-own-pass-1"})).await;
        assert_eq!(s, Status::UnprocessableEntity, "the re-issued code replaced the old one");
        let (s, ok) = activate(&app, json!({"student_no": "2026000201", "code": fresh.to_lowercase().replace('-', " "),
            "national_id": nid, "new_password": "my-own-pass-1"})).await;
        assert_eq!(s, Status::Ok, "{ok}");
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None,
            json!({"username": "2026000201", "password": "my-own-pass-1"})).await;
        assert_eq!(s, Status::Ok);
        let (s, _) = activate(&app, json!({"student_no": "2026000201", "code": fresh, "national_id": nid,
            "new_password": "other-pass-12"})).await;
        assert_eq!(s, Status::UnprocessableEntity, "a used code is spent");
        assert!(activation_codes::Entity::find().filter(activation_codes::Column::UserId.eq(ok["user"]["id"].as_i64().unwrap()))
            .one(app.db()).await.unwrap().is_none());
        assert!(students::Entity::find_by_id(id).one(app.db()).await.unwrap().unwrap().user_id.is_some());
    })
    .await;
}

#[rocket::async_test]
async fn guessing_activation_codes_is_refused_with_429_per_account_and_per_address() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        enrolled_student(&app, &admin, "2026000301", "110101200605170301").await;
        let report = create_accounts(&app, &admin).await;
        let code = code_in(&report, "2026000301");
        let guess = |c: &str| {
            json!({"student_no": "2026000301", "code": c, "national_id": "110101200605170301",
            "new_password": "my-own-pass-1"})
        };
        for i in 0..5 {
            let (s, _) = activate(&app, guess(&format!("AAAAA-AAAAA-AAAAA-AAAA{i}"))).await;
            assert_eq!(s, Status::UnprocessableEntity);
        }
        let (s, e) = activate(&app, guess(&code)).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (Status::TooManyRequests, Some("too_many_requests")),
            "after 5 wrong codes even the right one waits"
        );
        // Spraying many student numbers from one address hits the address limit.
        let mut statuses = Vec::new();
        for i in 0..40 {
            let (s, _) = activate(
                &app,
                json!({"student_no": format!("20269{i:05}"), "code": "AAAAA-AAAAA-AAAAA-AAAAA",
                "new_password": "my-own-pass-1"}),
            )
            .await;
            statuses.push(s);
        }
        assert!(statuses.contains(&Status::TooManyRequests), "{statuses:?}");
        assert!(app.audit_count("auth.activation_throttled", "denied").await >= 2);
    })
    .await;
}

#[rocket::async_test]
async fn the_letters_page_prints_one_page_per_student_and_its_csv_cannot_run_formulas() {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let (s, v) = app.send_json(Method::Post, "/api/v1/students", Some(&admin),
            json!({"student_no": "2026000401", "name_zh": "陈晨", "name_en": "=HYPERLINK(\"http://x\")", "major": "CS01", "cohort": 2026,
                   "email": "chen@example.edu"})).await;
        assert_eq!(s, Status::Created, "{v}");
        let res = app.client.post("/api/v1/students/accounts?format=csv&mail=true")
            .header(rocket::http::Header::new("Authorization", format!("Bearer {admin}")))
            .dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        let csv = res.into_string().await.unwrap();
        let line = csv.lines().find(|l| l.contains("2026000401")).unwrap();
        assert!(line.contains("'=HYPERLINK"), "{line}");
        assert_eq!(app.audit_count("notifications.email", "ok").await, 1, "queued in the outbox");

        // The page: letters with a print page break, and the codes once.
        let csrf = app.page_login(app.people.admin).await;
        let (s, v) = app.send_json(Method::Post, "/api/v1/students", Some(&admin),
            json!({"student_no": "2026000402", "name_zh": "林琳", "name_en": "Lin Lin", "major": "CS01", "cohort": 2026})).await;
        assert_eq!(s, Status::Created, "{v}");
        let res = app.client.post("/students/accounts").header(ContentType::Form)
            .body(format!("_csrf={csrf}")).dispatch().await;
        assert_eq!(res.status(), Status::Ok);
        let html = res.into_string().await.unwrap();
        assert_eq!(html.matches("class=\"letter\"").count(), 1, "one letter for the one new account");
        assert!(html.contains("2026000402") && html.contains("data:text/csv"));
        let css = app.client.get("/static/app.css").dispatch().await.into_string().await.unwrap();
        assert!(css.contains("break-after: page"));
    })
    .await;
}

#[rocket::async_test]
async fn staff_see_national_ids_masked_unless_their_group_may_see_them_and_each_reveal_is_audited()
{
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let nid = "110101200605171234";
        let id = enrolled_student(&app, &admin, "2026000501", nid).await;
        let masked = "110101********1234";
        // The answer to the administrator's create showed the id once.
        let base = app.audit_count("students.identifier_revealed", "ok").await;
        assert_eq!(base, 1);
        assert_eq!(srm::students::identifiers::mask(nid), masked);

        // The teacher of the student's section: masked in the API, the export and the 360° page.
        let teacher = app.token(app.people.teacher).await;
        let (s, record) = app
            .get_json(&format!("/api/v1/students/{id}"), Some(&teacher))
            .await;
        assert_eq!(s, Status::Ok);
        assert_eq!(record["national_id"], masked);
        let csv = app
            .get("/api/v1/students/export.csv", Some(&teacher))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(csv.contains(masked) && !csv.contains(nid), "{csv}");
        let (_, rows) = app
            .get_json("/api/v1/students/export.json", Some(&teacher))
            .await;
        assert!(rows.to_string().contains(masked) && !rows.to_string().contains(nid));
        app.page_login(app.people.teacher).await;
        let page = app
            .client
            .get(format!("/students/{id}"))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(page.contains(masked) && !page.contains(nid));
        app.page_logout().await;
        assert_eq!(
            app.audit_count("students.identifier_revealed", "ok").await,
            base,
            "nothing revealed"
        );

        // The administrators' group holds "view full identifiers": full, and audited each time.
        let (_, record) = app
            .get_json(&format!("/api/v1/students/{id}"), Some(&admin))
            .await;
        assert_eq!(record["national_id"], nid);
        assert_eq!(
            app.audit_count("students.identifier_revealed", "ok").await,
            base + 1
        );
        let csv = app
            .get("/api/v1/students/export.csv", Some(&admin))
            .await
            .into_string()
            .await
            .unwrap();
        assert!(csv.contains(nid));
        assert_eq!(
            app.audit_count("students.identifier_revealed", "ok").await,
            base + 2
        );
        // Permitted staff still find the student by national id.
        let (_, found) = app
            .get_json(&format!("/api/v1/students?q={nid}"), Some(&admin))
            .await;
        assert_eq!(found["items"][0]["student_no"], "2026000501");

        // The permission is in the catalogue with both labels, and not in the teachers' group.
        let code = srm::access::Permission::ViewFullIdentifiers.code();
        for lang in [srm::i18n::Lang::Zh, srm::i18n::Lang::En] {
            assert!(
                srm::i18n::sources(lang)
                    .iter()
                    .any(|src| src.contains(&format!("\"perm.{code}\"")))
            );
        }
        let teacher_group = srm::access::permissions::BUILTIN_GROUPS
            .iter()
            .find(|g| g.code == srm::access::permissions::TEACHER_GROUP)
            .unwrap();
        assert!(
            !teacher_group
                .permissions
                .contains(&srm::access::Permission::ViewFullIdentifiers)
        );
    })
    .await;
}

#[rocket::async_test]
async fn a_teacher_without_the_full_identifiers_permission_cannot_find_a_student_by_typing_their_national_id()
 {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let nid = "110101200605179876";
        let id = enrolled_student(&app, &admin, "2026000601", nid).await;
        let link = format!("/students/{id}\"");

        // Attack: the teacher of the student's section types the full national id.
        let teacher = app.token(app.people.teacher).await;
        let (s, found) = app
            .get_json(&format!("/api/v1/students?q={nid}"), Some(&teacher))
            .await;
        assert_eq!(s, Status::Ok, "{found}");
        assert_eq!(found["items"].as_array().map(Vec::len), Some(0), "{found}");
        // The student is in the teacher's scope: the number still finds them.
        let (_, by_no) = app
            .get_json("/api/v1/students?q=2026000601", Some(&teacher))
            .await;
        assert_eq!(by_no["items"][0]["id"], id, "{by_no}");
        app.page_login(app.people.teacher).await;
        let page = |q: String| {
            let app = &app;
            async move {
                app.client
                    .get(format!("/students?q={q}"))
                    .dispatch()
                    .await
                    .into_string()
                    .await
                    .unwrap()
            }
        };
        assert!(!page(nid.to_string()).await.contains(&link));
        assert!(page("2026000601".to_string()).await.contains(&link));
        app.page_logout().await;

        // An administrator, whose group holds the permission, finds them by the same id.
        let (_, found) = app
            .get_json(&format!("/api/v1/students?q={nid}"), Some(&admin))
            .await;
        assert_eq!(found["items"][0]["id"], id, "{found}");
        app.page_login(app.people.admin).await;
        assert!(page(nid.to_string()).await.contains(&link));
    })
    .await;
}

#[rocket::async_test]
async fn a_student_sees_their_own_full_national_id() {
    on_each_backend(|app| async move {
        let mut am: students::ActiveModel = students::Entity::find_by_id(app.people.student_record)
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .into();
        am.national_id = Set(Some("11010120050101123X".into()));
        am.update(app.db()).await.unwrap();
        let token = app.token(app.people.student).await;
        let (s, me) = app.get_json("/api/v1/me/record", Some(&token)).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(me["record"]["national_id"], "11010120050101123X");
    })
    .await;
}

async fn login_from(
    app: &TestApp,
    peer: &str,
    headers: &[(&str, String)],
    username: &str,
    password: &str,
) -> (Status, Option<u64>) {
    let mut req = app
        .client
        .post("/api/v1/auth/login")
        .remote(peer.parse().unwrap())
        .header(ContentType::JSON)
        // NOTE: the tracked client would send the last device cookie it got; a request from
        // "another browser" must not.
        .cookie(rocket::http::Cookie::new("srm_device", "none"))
        .body(json!({"username": username, "password": password}).to_string());
    for (name, value) in headers {
        req = req.header(rocket::http::Header::new(name.to_string(), value.clone()));
    }
    let res = req.dispatch().await;
    let retry = res
        .headers()
        .get_one("Retry-After")
        .and_then(|v| v.parse().ok());
    (res.status(), retry)
}

#[rocket::async_test]
async fn rotating_a_forged_forwarded_address_does_not_reset_the_per_address_limit() {
    on_each_backend(|app| async move {
        let limit = app.config.login_max_failures_per_ip;
        let mut statuses = Vec::new();
        for i in 0..=limit {
            let forged = format!("203.0.113.{}", i % 250);
            let headers = [("X-Forwarded-For", forged.clone()), ("X-Real-IP", forged)];
            statuses.push(
                login_from(
                    &app,
                    "198.51.100.7:40000",
                    &headers,
                    &format!("nobody{i}"),
                    "wrong-guess",
                )
                .await
                .0,
            );
        }
        assert!(
            statuses[..limit as usize]
                .iter()
                .all(|s| *s == Status::Unauthorized),
            "{statuses:?}"
        );
        assert_eq!(
            statuses[limit as usize],
            Status::TooManyRequests,
            "the forged headers were ignored"
        );
        // The audit log records the real peer, never the forged address.
        use sea_orm::PaginatorTrait;
        let rows = srm::entity::audit_log::Entity::find()
            .filter(srm::entity::audit_log::Column::Action.eq("auth.login_failed"))
            .all(app.db())
            .await
            .unwrap();
        assert!(!rows.is_empty());
        assert!(
            rows.iter().all(|r| r.ip.as_deref() == Some("198.51.100.7")),
            "{:?}",
            rows[0].ip
        );
        let forged = srm::entity::audit_log::Entity::find()
            .filter(srm::entity::audit_log::Column::Ip.like("203.0.113.%"))
            .count(app.db())
            .await
            .unwrap();
        assert_eq!(forged, 0);
    })
    .await;
}

#[test]
fn forwarded_addresses_are_believed_only_from_a_trusted_proxy() {
    use srm::access::client_addr::TrustedProxies;
    let none = TrustedProxies::parse("").unwrap();
    let peer = "198.51.100.7".parse().unwrap();
    assert_eq!(
        none.client(peer, Some("203.0.113.1"), Some("203.0.113.2"))
            .to_string(),
        "198.51.100.7"
    );
    let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
    let via = |peer: &str, xff: Option<&str>, real: Option<&str>| {
        proxies.client(peer.parse().unwrap(), xff, real).to_string()
    };
    assert_eq!(via("10.1.2.3", Some("203.0.113.9"), None), "203.0.113.9");
    // The client cannot hide behind an address it writes itself: the nearest untrusted hop wins.
    assert_eq!(
        via("10.1.2.3", Some("1.1.1.1, 203.0.113.9, 10.9.9.9"), None),
        "203.0.113.9"
    );
    assert_eq!(via("192.168.1.1", None, Some("203.0.113.5")), "203.0.113.5");
    assert_eq!(
        via("192.168.1.2", Some("203.0.113.9"), Some("203.0.113.5")),
        "192.168.1.2"
    );
    assert!(
        TrustedProxies::parse("10.0.0.0/8, proxy.local")
            .unwrap_err()
            .contains("proxy.local")
    );
}

#[rocket::async_test]
async fn forty_parallel_wrong_passwords_give_at_most_the_limits_worth_of_401s() {
    on_each_backend(|app| async move {
        let name = TestApp::username(app.people.student);
        let attempts = (0..40).map(|i| {
            let name = name.clone();
            let app = &app;
            async move {
                login_from(
                    app,
                    &format!("198.51.100.{}:4000", i + 1),
                    &[],
                    &name,
                    "wrong-guess",
                )
                .await
                .0
            }
        });
        let statuses = rocket::futures::future::join_all(attempts).await;
        let unauthorized = statuses
            .iter()
            .filter(|s| **s == Status::Unauthorized)
            .count();
        let throttled = statuses
            .iter()
            .filter(|s| **s == Status::TooManyRequests)
            .count();
        assert!(
            unauthorized <= app.config.login_max_failures as usize,
            "{unauthorized} answers 401: {statuses:?}"
        );
        assert_eq!(unauthorized + throttled, 40, "{statuses:?}");
    })
    .await;
}

/// Registration day: many students sign in at once from the campus network, which the portal
/// sees as one address. Successful sign-ins in flight are no failures: every one gets in, and
/// the address is not shut afterwards. (Before, each attempt in flight counted against the
/// address: past the limit the rest were refused, and the refusals kept the whole campus out
/// for the rest of the window.)
#[rocket::async_test]
async fn a_rush_of_students_signing_in_from_one_campus_address_all_get_in() {
    on_each_backend_configured(
        true,
        |c| c.login_max_failures_per_ip = 2,
        |app| async move {
            let p = &app.people;
            let names: Vec<String> = [
                p.admin,
                p.teacher,
                p.other_teacher,
                p.student,
                p.other_student,
                p.auditor,
            ]
            .iter()
            .map(|id| TestApp::username(*id))
            .collect();
            let campus = "198.51.100.20:4000";
            let rush = names
                .iter()
                .map(|n| login_from(&app, campus, &[], n, crate::common::PASSWORD));
            let statuses: Vec<Status> = rocket::futures::future::join_all(rush)
                .await
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            assert!(statuses.iter().all(|s| *s == Status::Ok), "{statuses:?}");
            let (after, _) =
                login_from(&app, campus, &[], &names[3], crate::common::PASSWORD).await;
            assert_eq!(after, Status::Ok, "the campus address is not shut");
        },
    )
    .await;
}

/// An orientation class activating their accounts at once from one campus address: every
/// activation goes through, and only failures count against the address.
#[rocket::async_test]
async fn an_orientation_class_activating_at_once_from_one_campus_address_all_get_in() {
    on_each_backend_configured(
        true,
        |c| c.activation_max_failures_per_ip = 2,
        |app| async move {
            let admin = app.token(app.people.admin).await;
            let class: Vec<(String, String)> = (0..6)
                .map(|i| (format!("202600050{i}"), format!("11010120060517050{i}")))
                .collect();
            for (no, nid) in &class {
                enrolled_student(&app, &admin, no, nid).await;
            }
            let report = create_accounts(&app, &admin).await;
            let campus: std::net::SocketAddr = "198.51.100.40:4000".parse().unwrap();
            let send = |body: Value| {
                app.client
                    .post("/api/v1/auth/activate")
                    .remote(campus)
                    .header(ContentType::JSON)
                    .body(body.to_string())
                    .dispatch()
            };
            let rush = class.iter().map(|(no, nid)| {
                send(json!({"student_no": no, "code": code_in(&report, no), "national_id": nid,
                    "new_password": "my-own-pass-1"}))
            });
            let statuses: Vec<Status> = rocket::futures::future::join_all(rush)
                .await
                .iter()
                .map(|r| r.status())
                .collect();
            assert!(statuses.iter().all(|s| *s == Status::Ok), "{statuses:?}");
            // Failures still count: two wrong codes shut the address for the window.
            for i in 0..2 {
                let wrong = json!({"student_no": format!("20269000{i}"), "code": "AAAAA-AAAAA-AAAAA-AAAAA",
                    "new_password": "my-own-pass-1"});
                assert_eq!(send(wrong).await.status(), Status::UnprocessableEntity);
            }
            let late = json!({"student_no": "2026000599", "code": "AAAAA-AAAAA-AAAAA-AAAAA",
                "new_password": "my-own-pass-1"});
            assert_eq!(send(late).await.status(), Status::TooManyRequests);
        },
    )
    .await;
}

/// Parallel guesses from one address against many accounts: the address's failures are checked
/// and counted within the hashing turn, so at most one verification per core gets past its
/// limit, and the rest are refused unverified.
#[rocket::async_test]
async fn parallel_guesses_from_one_address_pass_its_limit_by_at_most_one_per_core() {
    on_each_backend_configured(
        true,
        |c| c.login_max_failures_per_ip = 3,
        |app| async move {
            let guesses = (0..30).map(|i| {
                let name = format!("nobody{i}");
                let app = &app;
                async move {
                    login_from(app, "198.51.100.30:4000", &[], &name, "wrong-guess")
                        .await
                        .0
                }
            });
            let statuses = rocket::futures::future::join_all(guesses).await;
            let count = |want: Status| statuses.iter().filter(|s| **s == want).count();
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            let (unauthorized, throttled) =
                (count(Status::Unauthorized), count(Status::TooManyRequests));
            assert!(
                (3..=3 + cores - 1).contains(&unauthorized),
                "{unauthorized} answers 401 with {cores} cores: {statuses:?}"
            );
            assert_eq!(unauthorized + throttled, 30, "{statuses:?}");
        },
    )
    .await;
}

#[rocket::async_test]
async fn failures_from_elsewhere_do_not_lock_the_owner_out() {
    on_each_backend(|app| async move {
        let name = TestApp::username(app.people.teacher);
        // The owner signs in once from their browser, which keeps a device cookie.
        let (s, _) = login_from(&app, "192.0.2.10:5000", &[], &name, crate::common::PASSWORD).await;
        assert_eq!(s, Status::Ok);
        let device = app
            .client
            .cookies()
            .get("srm_device")
            .map(|c| c.value().to_string())
            .expect("device cookie");
        // An attacker elsewhere guesses until the account is throttled.
        let mut last = (Status::Ok, None);
        for i in 0..6 {
            last = login_from(
                &app,
                &format!("203.0.113.{}:6000", i + 1),
                &[],
                &name,
                "wrong-guess",
            )
            .await;
        }
        assert_eq!(last.0, Status::TooManyRequests);
        let (s, retry) =
            login_from(&app, "192.0.2.99:5000", &[], &name, crate::common::PASSWORD).await;
        assert_eq!(s, Status::TooManyRequests, "a new browser waits");
        // The owner's browser is not locked out.
        let res = app
            .client
            .post("/api/v1/auth/login")
            .remote("192.0.2.10:5000".parse().unwrap())
            .cookie(rocket::http::Cookie::new("srm_device", device))
            .header(ContentType::JSON)
            .body(json!({"username": name, "password": crate::common::PASSWORD}).to_string())
            .dispatch()
            .await;
        assert_eq!(
            res.status(),
            Status::Ok,
            "the owner's known browser signs in"
        );
        // Anyone with the right password gets in after the (growing, short) delay.
        for _ in 0..6 {
            login_from(&app, "203.0.113.50:6000", &[], &name, "wrong-guess").await;
        }
        let (s, retry2) =
            login_from(&app, "192.0.2.99:5000", &[], &name, crate::common::PASSWORD).await;
        assert_eq!(s, Status::TooManyRequests);
        let wait = retry2.or(retry).unwrap();
        assert!(wait <= 60, "a delay, not a 15-minute lockout: {wait}");
        tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 1100)).await;
        let (s, _) = login_from(&app, "192.0.2.99:5000", &[], &name, crate::common::PASSWORD).await;
        assert_eq!(s, Status::Ok, "the right password after the delay");
    })
    .await;
}

#[rocket::async_test]
async fn a_login_for_an_unknown_name_does_the_same_argon2_work_as_for_a_known_one() {
    on_each_backend(|app| async move {
        use std::sync::atomic::Ordering;
        let state = app.state();
        // The dummy hash is a real argon2id hash at the configured cost, made once.
        let cost = format!(
            "m={},t={}",
            app.config.argon2_memory_kib, app.config.argon2_iterations
        );
        assert!(
            state.dummy_hash.starts_with("$argon2id$") && state.dummy_hash.contains(&cost),
            "{}",
            state.dummy_hash
        );
        let before = state.verifications.load(Ordering::Relaxed);
        let (s, _) = login_from(&app, "192.0.2.1:1", &[], "no-such-user", "wrong-guess").await;
        assert_eq!(s, Status::Unauthorized);
        let unknown = state.verifications.load(Ordering::Relaxed) - before;
        let (s, _) = login_from(
            &app,
            "192.0.2.1:1",
            &[],
            &TestApp::username(app.people.teacher),
            "wrong-guess",
        )
        .await;
        assert_eq!(s, Status::Unauthorized);
        let known = state.verifications.load(Ordering::Relaxed) - before - unknown;
        assert_eq!(
            (unknown, known),
            (1, 1),
            "one argon2 verification on both paths"
        );
    })
    .await;
}

#[rocket::async_test]
async fn administrators_see_and_clear_an_accounts_throttles_on_its_page() {
    on_each_backend(|app| async move {
        let name = TestApp::username(app.people.teacher);
        for _ in 0..6 {
            login_from(&app, "203.0.113.7:1", &[], &name, "wrong-guess").await;
        }
        let (s, _) = login_from(&app, "192.0.2.3:1", &[], &name, crate::common::PASSWORD).await;
        assert_eq!(s, Status::TooManyRequests);
        let csrf = app.page_login(app.people.admin).await;
        let page = app
            .client
            .get(format!("/admin/users/{}", app.people.teacher))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        assert!(
            page.contains(&format!("user:{name}")),
            "the counter is listed"
        );
        let res = app
            .client
            .post(format!(
                "/admin/users/{}/throttles/clear",
                app.people.teacher
            ))
            .header(ContentType::Form)
            .body(format!("_csrf={csrf}"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(app.audit_count("users.throttles_cleared", "ok").await, 1);
        let (s, _) = login_from(&app, "192.0.2.3:1", &[], &name, crate::common::PASSWORD).await;
        assert_eq!(s, Status::Ok, "cleared: the owner signs in at once");
    })
    .await;
}

#[rocket::async_test]
async fn a_user_name_differing_only_in_case_is_refused_and_invisible_characters_in_names_are_refused()
 {
    on_each_backend(|app| async move {
        let admin = app.token(app.people.admin).await;
        let new_user = |name: &str, display: &str| json!({"username": name, "display_name": display, "kind": "staff",
            "groups": [], "password": "a-good-password-1"});
        let (s, v) = app.send_json(Method::Post, "/api/v1/users", Some(&admin), new_user("registrar", "Registrar")).await;
        assert!(s == Status::Created || s == Status::Ok, "{s} {v}");
        let (s, e) = app.send_json(Method::Post, "/api/v1/users", Some(&admin), new_user("Registrar", "Another")).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::Conflict, Some("duplicate_username")), "{e}");
        // The index holds even past the service: a second row folding alike cannot be written.
        let mut am: srm::entity::users::ActiveModel = srm::entity::users::Entity::find()
            .filter(srm::entity::users::Column::Id.eq(app.people.target)).one(app.db()).await.unwrap().unwrap().into();
        am.username = Set("REGISTRAR".into());
        assert!(am.update(app.db()).await.is_err(), "unique index on the folded name");
        // Signing in with another case finds the one account.
        let (s, _) = app.send_json(Method::Post, "/api/v1/auth/login", None,
            json!({"username": "REGISTRAR", "password": "a-good-password-1"})).await;
        assert_eq!(s, Status::Ok);

        let (s, e) = app.send_json(Method::Post, "/api/v1/users", Some(&admin), new_user("clerk", "Cl\u{200b}erk")).await;
        assert_eq!((s, e["error"]["code"].as_str()), (Status::UnprocessableEntity, Some("invisible_characters")), "{e}");
        let (s, e) = app.send_json(Method::Post, "/api/v1/students", Some(&admin),
            json!({"student_no": "2026000601", "name_zh": "吴\u{200b}升", "name_en": "Wu Sheng", "major": "CS01", "cohort": 2026})).await;
        assert_eq!(s, Status::UnprocessableEntity, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("invisible"), "{e}");
        let zh = srm::i18n::Lang::Zh.t("students.err.invisible");
        assert!(zh.contains("不可见"), "{zh}");
    })
    .await;
}
