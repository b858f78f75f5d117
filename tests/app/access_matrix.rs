//! The route × role matrix: every mounted route, for anonymous, student, teacher,
//! administrator and a custom group, with the expected answer. A route missing from the
//! table fails the test, and so does a table row with no route.

use crate::common::on_each_backend;
use rocket::http::{ContentType, Header, Method, Status};
use std::collections::BTreeSet;

/// Expected answer per role, in the order anonymous, student, teacher, admin, custom group:
/// `A` allowed (any 2xx/3xx other than a bounce to the login page, or a 422 for the deliberately
/// invalid body), `L` must log in first (401 from the API, redirect to /login from a page),
/// `F` forbidden (403), `U` unauthorized for everyone (401: wrong credentials), `O` logged out
/// (sent back to the login page), `N` not found (a feature this app is not configured for:
/// single sign-on; `sso::` tests it configured).
const MATRIX: &[(&str, &str, &str)] = &[
    ("GET", "/", "LAAAA"),
    ("GET", "/login", "AAAAA"),
    ("POST", "/login", "FFFFF"),
    ("POST", "/logout", "LOOOO"),
    ("GET", "/account/password", "LAAAA"),
    ("POST", "/account/password", "LAAAA"),
    ("GET", "/lang/<code>", "AAAAA"),
    ("GET", "/dashboard", "LAAAA"),
    ("GET", "/static/app.css", "AAAAA"),
    ("GET", "/static/app.js", "AAAAA"),
    ("GET", "/favicon.ico", "AAAAA"),
    ("GET", "/healthz", "AAAAA"),
    ("GET", "/readyz", "AAAAA"),
    ("GET", "/metrics", "AAAAA"),
    ("GET", "/api/docs", "AAAAA"),
    ("GET", "/admin/users", "LFFAF"),
    ("POST", "/admin/users", "LFFAF"),
    ("GET", "/admin/users/<id>", "LFFAF"),
    ("POST", "/admin/users/<id>/groups", "LFFAF"),
    ("POST", "/admin/users/<id>/active", "LFFAF"),
    ("POST", "/admin/users/<id>/throttles/clear", "LFFAF"),
    ("POST", "/admin/users/<id>/password", "LFFAF"),
    ("GET", "/admin/groups", "LFFAF"),
    ("POST", "/admin/groups", "LFFAF"),
    ("GET", "/admin/groups/<id>", "LFFAF"),
    ("POST", "/admin/groups/<id>", "LFFAF"),
    ("GET", "/admin/modules", "LFFAF"),
    ("POST", "/admin/modules/<code>", "LFFAF"),
    ("GET", "/admin/audit", "LFFAA"),
    ("GET", "/admin/backups", "LFFAF"),
    ("POST", "/admin/backups", "LFFAF"),
    ("GET", "/admin/backups/<name>", "LFFAF"),
    ("POST", "/api/v1/auth/login", "UUUUU"),
    ("POST", "/api/v1/auth/logout", "LAAAA"),
    ("POST", "/api/v1/auth/password", "LAAAA"),
    ("GET", "/api/v1/me", "LAAAA"),
    ("GET", "/api/v1/users", "LFFAF"),
    ("POST", "/api/v1/users", "LFFAF"),
    ("GET", "/api/v1/users/<id>", "LFFAF"),
    ("PATCH", "/api/v1/users/<id>", "LFFAF"),
    ("POST", "/api/v1/users/<id>/password", "LFFAF"),
    ("GET", "/api/v1/groups", "LFFAF"),
    ("POST", "/api/v1/groups", "LFFAF"),
    ("PUT", "/api/v1/groups/<id>", "LFFAF"),
    ("GET", "/api/v1/permissions", "LFFAF"),
    ("GET", "/api/v1/modules", "LFFAF"),
    ("PUT", "/api/v1/modules/<code>", "LFFAF"),
    ("GET", "/api/v1/audit", "LFFAA"),
    ("GET", "/api/v1/openapi.json", "AAAAA"),
    ("GET", "/api/v1/students/<id>", "LAAAF"),
    ("GET", "/api/v1/students", "LFAAF"),
    ("GET", "/api/v1/students/<id>/history", "LAAAF"),
    ("POST", "/api/v1/students", "LFFAF"),
    ("PATCH", "/api/v1/students/<id>", "LFFAF"),
    ("POST", "/api/v1/students/<id>/deactivate", "LFFAF"),
    ("GET", "/api/v1/students/export.csv", "LFAAF"),
    ("GET", "/api/v1/students/export.json", "LFAAF"),
    ("POST", "/api/v1/students/import", "LFFAF"),
    ("POST", "/api/v1/students/import/jobs/<id>/resume", "LFFAF"),
    ("POST", "/api/v1/students/import/jobs/<id>/cancel", "LFFAF"),
    ("GET", "/api/v1/me/record", "LAFAF"),
    ("PATCH", "/api/v1/me/record", "LAFAF"),
    ("GET", "/api/v1/me/record/reads", "LAFAF"),
    ("GET", "/api/v1/me/export", "LAFAF"),
    ("POST", "/api/v1/me/export", "LAFAF"),
    ("GET", "/students", "LFAAF"),
    ("GET", "/students/<id>", "LAAAF"),
    ("GET", "/students/new", "LFFAF"),
    ("POST", "/students", "LFFAF"),
    ("GET", "/students/<id>/edit", "LFFAF"),
    ("POST", "/students/<id>", "LFFAF"),
    ("POST", "/students/<id>/deactivate", "LFFAF"),
    ("GET", "/me/record", "LAFAF"),
    ("POST", "/me/record", "LAFAF"),
    ("GET", "/me/record/reads", "LAFAF"),
    ("GET", "/me/data", "LAFAF"),
    ("POST", "/me/data", "LAFAF"),
    ("GET", "/me/data/download", "LAFAF"),
    ("GET", "/students/settings", "LFFAF"),
    ("POST", "/students/settings", "LFFAF"),
    ("GET", "/students/lifecycle", "LAAAA"),
    ("GET", "/students/import", "LFFAF"),
    ("POST", "/students/import", "LFFAF"),
    ("GET", "/students/import/jobs/<id>", "LFFAF"),
    ("GET", "/students/import/jobs/<id>/rejected.csv", "LFFAF"),
    ("POST", "/students/import/jobs/<id>/cancel", "LFFAF"),
    ("POST", "/students/import/jobs/<id>/resume", "LFFAF"),
    ("GET", "/api/v1/terms", "LAAAA"),
    ("GET", "/courses", "LAAAA"),
    ("GET", "/registrations", "LAFAF"),
    ("POST", "/registrations", "LAFAF"),
    ("POST", "/registrations/<id>/drop", "LAFAF"),
    ("GET", "/api/v1/sections", "LAAAA"),
    ("GET", "/api/v1/registrations", "LAFAF"),
    ("POST", "/api/v1/registrations", "LAFAF"),
    ("DELETE", "/api/v1/registrations/<id>", "LAFAF"),
    ("POST", "/api/v1/registrations/swap", "LAFAF"),
    ("GET", "/api/v1/students/<id>/holds", "LFFAF"),
    ("POST", "/api/v1/students/<id>/holds", "LFFAF"),
    ("DELETE", "/api/v1/holds/<id>", "LFFAF"),
    ("POST", "/api/v1/students/<id>/overrides", "LFFAF"),
    ("GET", "/api/v1/sections/<id>/roster", "LFAAF"),
    ("GET", "/sections/<id>/roster", "LFAAF"),
    ("POST", "/api/v1/terms", "LFFAF"),
    ("PUT", "/api/v1/terms/<id>", "LFFAF"),
    ("POST", "/api/v1/courses", "LFFAF"),
    ("PUT", "/api/v1/courses/<id>", "LFFAF"),
    ("POST", "/api/v1/sections", "LFFAF"),
    ("PUT", "/api/v1/sections/<id>", "LFFAF"),
    ("POST", "/registrations/<id>/swap", "LAFAF"),
    ("GET", "/students/<id>/holds", "LFFAF"),
    ("POST", "/students/<id>/holds", "LFFAF"),
    ("POST", "/holds/<id>/lift", "LFFAF"),
    ("POST", "/students/<id>/overrides", "LFFAF"),
    ("GET", "/courses/manage", "LFFAF"),
    ("GET", "/courses/manage/term", "LFFAF"),
    ("POST", "/courses/manage/term", "LFFAF"),
    ("GET", "/courses/manage/course", "LFFAF"),
    ("POST", "/courses/manage/course", "LFFAF"),
    ("GET", "/courses/manage/section", "LFFAF"),
    ("POST", "/courses/manage/section", "LFFAF"),
    ("POST", "/api/v1/students/<id>/merge", "LFFAF"),
    ("GET", "/api/v1/students/settings", "LFFAF"),
    ("PUT", "/api/v1/students/settings", "LFFAF"),
    ("GET", "/students/<id>/merge", "LFFAF"),
    ("POST", "/api/v1/students/accounts", "LFFAF"),
    ("POST", "/api/v1/students/activation-codes", "LFFAF"),
    ("POST", "/students/accounts", "LFFAF"),
    ("POST", "/students/activation-codes", "LFFAF"),
    ("POST", "/students/segments", "LFAAF"),
    ("GET", "/grades/scales", "LFFAF"),
    ("GET", "/cases/settings", "LFFAF"),
    ("POST", "/cases/settings", "LFFAF"),
    ("POST", "/grades/scales", "LFFAF"),
    ("GET", "/login/activate", "AAAAA"),
    ("GET", "/login/sso", "NNNNN"),
    ("GET", "/login/sso/callback", "NNNNN"),
    ("POST", "/login/activate", "FFFFF"),
    ("POST", "/api/v1/auth/activate", "AAAAA"),
    ("POST", "/students/<id>/merge", "LFFAF"),
    ("GET", "/analytics/value-matrix", "LFAAF"),
    ("POST", "/analytics/value-matrix/compute", "LFFAF"),
    ("GET", "/analytics/value-matrix/settings", "LFFAF"),
    ("POST", "/analytics/value-matrix/settings", "LFFAF"),
    ("GET", "/analytics/lifecycle", "LFAAF"),
    ("GET", "/analytics/lifecycle.csv", "LFAAF"),
    ("GET", "/analytics/value-matrix.csv", "LFAAF"),
    ("GET", "/api/v1/analytics/value-matrix", "LFAAF"),
    ("POST", "/api/v1/analytics/value-matrix/compute", "LFFAF"),
    ("POST", "/analytics/value-matrix/cells/<cell>/care", "LFAAF"),
    ("GET", "/analytics/summary", "LFAAF"),
    ("GET", "/analytics/summary.csv", "LFAAF"),
    ("POST", "/analytics/snapshots", "LFFAF"),
    ("GET", "/api/v1/analytics/summary", "LFAAF"),
    ("POST", "/api/v1/analytics/snapshots", "LFFAF"),
    (
        "POST",
        "/api/v1/analytics/value-matrix/cells/<cell>/care",
        "LFAAF",
    ),
    ("GET", "/api/v1/analytics/lifecycle", "LFAAF"),
    ("GET", "/analytics/retention", "LFAAF"),
    ("GET", "/analytics/retention.csv", "LFAAF"),
    ("GET", "/api/v1/analytics/retention", "LFAAF"),
    ("GET", "/analytics/portfolio", "LFAAF"),
    ("GET", "/analytics/portfolio.csv", "LFAAF"),
    ("GET", "/api/v1/analytics/portfolio", "LFAAF"),
    ("GET", "/analytics/satisfaction", "LFAAF"),
    ("GET", "/analytics/satisfaction.csv", "LFAAF"),
    ("GET", "/api/v1/analytics/satisfaction", "LFAAF"),
    ("GET", "/api/v1/students/<id>/lifecycle", "LAAAF"),
];

/// The records a route's parameters are filled in with.
pub struct Ids {
    pub section: i64,
    pub target_user: i64,
    pub spare_group: i64,
    pub student: i64,
}

/// A concrete request: the path, and the body (content type and text) if any.
pub type Request = (String, Option<(ContentType, String)>);

/// One module's part of the matrix: its rows, and how to make a request for each of its routes
/// (`None` for a pattern it does not own).
pub struct Table {
    pub rows: &'static [(&'static str, &'static str, &'static str)],
    pub request: fn(&str, &str, &Ids) -> Option<Request>,
}

fn core_request(method: &str, pattern: &str, ids: &Ids) -> Option<Request> {
    Some(request_for(method, pattern, ids))
}

/// Every module's rows; a module's test file owns its own table.
fn tables() -> Vec<Table> {
    vec![
        crate::grades::MATRIX,
        crate::mining::MATRIX,
        crate::interaction::MATRIX,
        crate::attendance::MATRIX,
        crate::history_import::MATRIX,
        crate::mail::MATRIX,
        Table {
            rows: MATRIX,
            request: core_request,
        },
    ]
}

fn request(method: &str, pattern: &str, ids: &Ids) -> Request {
    tables()
        .iter()
        .find(|t| t.rows.iter().any(|(m, p, _)| *m == method && *p == pattern))
        .and_then(|t| (t.request)(method, pattern, ids))
        .unwrap_or_else(|| request_for(method, pattern, ids))
}

/// A concrete request for a route pattern: the path with its parameters filled in, and a body
/// that is harmless (a no-op, or deliberately invalid so nothing is written).
fn request_for(method: &str, pattern: &str, ids: &Ids) -> Request {
    let path = match pattern {
        "/lang/<code>" => "/lang/en".to_string(),
        // No matrix is computed in the fixture: nobody is handed over, but the request is served.
        p if p.contains("<cell>") => p.replace("<cell>", "rescue"),
        "/admin/backups/<name>" => "/admin/backups/srm-20260101T000000000Z.tar.zst".to_string(),
        "/admin/modules/<code>" | "/api/v1/modules/<code>" => pattern.replace("<code>", "messages"),
        "/admin/groups/<id>" | "/api/v1/groups/<id>" => {
            pattern.replace("<id>", &ids.spare_group.to_string())
        }
        "/api/v1/students/<id>"
        | "/api/v1/students/<id>/history"
        | "/api/v1/students/<id>/holds"
        | "/api/v1/students/<id>/overrides"
        | "/students/<id>"
        | "/students/<id>/holds"
        | "/students/<id>/merge"
        | "/api/v1/students/<id>/merge"
        | "/api/v1/students/<id>/lifecycle"
        | "/students/<id>/overrides"
        | "/students/<id>/edit" => pattern.replace("<id>", &ids.student.to_string()),
        // A record that does not exist: deactivating must not touch the fixtures.
        "/students/<id>/deactivate" | "/api/v1/students/<id>/deactivate" => {
            pattern.replace("<id>", "999999")
        }
        "/api/v1/sections/<id>/roster" | "/sections/<id>/roster" => {
            pattern.replace("<id>", &ids.section.to_string())
        }
        p => p.replace("<id>", &ids.target_user.to_string()),
    };
    let form = |s: &str| Some((ContentType::Form, s.to_string()));
    let json = |s: &str| Some((ContentType::JSON, s.to_string()));
    let body = match (method, pattern) {
        ("POST", "/login") => form("username=x&password=y&_csrf=forged"),
        ("POST", "/login/activate") => form("student_no=x&_csrf=forged"),
        ("POST", "/api/v1/auth/activate") => {
            json(r#"{"student_no":"nobody","new_password":"short"}"#)
        }
        ("POST", "/account/password") => {
            form("current=wrong-pass&new_password=12345678&confirm=12345678")
        }
        ("POST", "/admin/users") => {
            form("username=not%20valid!&display_name=x&kind=staff&password=12345678")
        }
        ("POST", "/admin/users/<id>/groups") => form("_csrf="),
        ("POST", "/admin/users/<id>/active") => form("active=true"),
        ("POST", "/admin/users/<id>/password") => form("password=short"),
        ("POST", "/admin/groups") => form("code=Not%20Valid&name=x"),
        ("POST", "/admin/groups/<id>") => form("code=spare&name=Spare&permissions=audit.view"),
        ("POST", "/admin/modules/<code>") => form("enabled=true"),
        ("POST", "/admin/backups") => form("_csrf="),
        ("POST", "/api/v1/auth/login") => {
            json(r#"{"username":"nobody","password":"wrong-password"}"#)
        }
        ("POST", "/api/v1/auth/password") => {
            json(r#"{"current_password":"wrong-pass","new_password":"12345678"}"#)
        }
        ("POST", "/api/v1/users") => json(
            r#"{"username":"bad name!","display_name":"x","kind":"staff","password":"12345678"}"#,
        ),
        ("PATCH", "/api/v1/users/<id>") => json("{}"),
        ("POST", "/api/v1/users/<id>/password") => json(r#"{"password":"short"}"#),
        ("POST", "/api/v1/groups") => json(r#"{"code":"Not Valid","name":"x"}"#),
        ("PUT", "/api/v1/groups/<id>") => {
            json(r#"{"code":"spare","name":"Spare","permissions":["audit.view"]}"#)
        }
        ("PUT", "/api/v1/modules/<code>") => json(r#"{"enabled":true}"#),
        ("POST", "/api/v1/students") => json(r#"{"student_no":""}"#),
        ("PATCH", "/api/v1/students/<id>") | ("PATCH", "/api/v1/me/record") => json("{}"),
        ("POST", "/registrations") => form("section_id=999999"),
        ("POST", "/api/v1/terms") | ("PUT", "/api/v1/terms/<id>") => json(r#"{"code":""}"#),
        ("POST", "/api/v1/courses") | ("PUT", "/api/v1/courses/<id>") => json(r#"{"code":""}"#),
        ("POST", "/api/v1/sections") | ("PUT", "/api/v1/sections/<id>") => json(r#"{"term_id":0}"#),
        ("POST", "/api/v1/students/<id>/holds") => json(r#"{"reason":""}"#),
        // Merging a record into itself is refused before anything is read or written.
        ("POST", "/api/v1/students/<id>/merge") => {
            json(&format!(r#"{{"duplicate_id":{}}}"#, ids.student))
        }
        ("POST", "/students/<id>/merge") => form(&format!("duplicate_id={}", ids.student)),
        ("PUT", "/api/v1/students/settings") => json(r#"{"self_editable":["student_no"]}"#),
        ("POST", "/api/v1/students/<id>/overrides") => {
            json(r#"{"section_id":999999,"kind":"capacity","reason":"x"}"#)
        }
        ("POST", "/api/v1/registrations") => json(r#"{"section_id":999999}"#),
        ("POST", "/api/v1/registrations/swap") => {
            json(r#"{"from_registration_id":999999,"to_section_id":999999}"#)
        }
        ("POST", _) => form(""),
        _ => None,
    };
    (path, body)
}

#[rocket::async_test]
async fn every_route_answers_each_role_as_the_matrix_says() {
    on_each_backend(|app| async move {
        let mounted: BTreeSet<(String, String)> = app
            .client
            .rocket()
            .routes()
            .map(|r| (r.method.as_str().to_string(), r.uri.path().to_string()))
            .collect();
        let tables = tables();
        let rows: Vec<_> = tables.iter().flat_map(|t| t.rows.iter()).collect();
        let listed: BTreeSet<(String, String)> = rows.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
        assert_eq!(listed.len(), rows.len(), "a route is listed twice");
        let missing: Vec<_> = mounted.difference(&listed).collect();
        let stale: Vec<_> = listed.difference(&mounted).collect();
        assert!(missing.is_empty(), "routes missing from the matrix: {missing:?}");
        assert!(stale.is_empty(), "matrix rows with no route: {stale:?}");

        let p = app.people.clone();
        let admin_token = app.token(p.admin).await;
        let (s, spare) = app
            .send_json(Method::Post, "/api/v1/groups", Some(&admin_token),
                serde_json::json!({"code": "spare", "name": "Spare", "permissions": ["audit.view"]}))
            .await;
        assert_eq!(s, Status::Created);
        let ids = Ids { section: p.section, target_user: p.target, spare_group: spare["id"].as_i64().expect("id"), student: p.student_record };
        let roles = [None, Some(p.student), Some(p.teacher), Some(p.admin), Some(p.auditor)];
        let names = ["anonymous", "student", "teacher", "admin", "custom group"];
        let mut tokens = Vec::new();
        for r in roles {
            tokens.push(match r {
                Some(id) => Some(app.token(id).await),
                None => None,
            });
        }
        let mut failures = Vec::new();
        for (method, pattern, expected) in rows {
            for (i, want) in expected.chars().enumerate() {
                let (path, body) = request(method, pattern, &ids);
                // Logging out ends the session it is sent with, so it gets one of its own.
                let token = match (*pattern, roles[i]) {
                    ("/logout" | "/api/v1/auth/logout", Some(id)) => Some(app.token(id).await),
                    _ => tokens[i].clone(),
                };
                let m: Method = method.parse().expect("method");
                let mut req = app.client.req(m, path.clone());
                if let Some(t) = &token {
                    req = req.header(Header::new("Authorization", format!("Bearer {t}")));
                }
                if let Some((ct, b)) = body {
                    req = req.header(ct).body(b);
                }
                let res = req.dispatch().await;
                let status = res.status();
                let location = res.headers().get_one("Location").unwrap_or_default().to_string();
                let is_api = path.starts_with("/api/");
                let ok = match want {
                    'A' => status.code < 500 && status != Status::Unauthorized && status != Status::Forbidden
                        && !(status == Status::SeeOther && location.starts_with("/login")),
                    'L' => if is_api { status == Status::Unauthorized } else { status == Status::SeeOther && location.starts_with("/login") },
                    'F' => status == Status::Forbidden,
                    'U' => status == Status::Unauthorized,
                    'O' => status == Status::SeeOther && location == "/login",
                    'N' => status == Status::NotFound,
                    _ => false,
                };
                if !ok {
                    failures.push(format!("{method} {path} as {}: expected {want}, got {status} {location}", names[i]));
                }
            }
        }
        assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));

        // Refusals and staff reads of a student's record are in the audit log.
        assert!(app.audit_count("access.denied", "denied").await >= 10);
        assert!(app.audit_count("students.read", "ok").await >= 2, "teacher's and admin's reads recorded");
        assert!(app.audit_count("students.read", "denied").await >= 1, "the custom group's refusal recorded");
    })
    .await;
}
