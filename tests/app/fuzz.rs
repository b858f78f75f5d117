//! Drives every mounted route with extreme and malformed values in every path and query
//! parameter, as every role, and asserts that none answers with a server error.

use crate::common::{Backend, TestApp};
use rocket::http::{ContentType, Header, Method};

/// Already URL-encoded, so control characters and non-UTF-8 bytes reach the app as sent.
fn values() -> Vec<String> {
    vec![
        "18446744073709551615".into(),
        "-1".into(),
        "-9223372036854775809".into(),
        "99999999999999999999999999999".into(),
        "0".into(),
        "%00%07%1B%7F".into(),
        "%0D%0ASet-Cookie:%20x=1".into(),
        "x".repeat(5000),
        "%E4%B8%AD%FF%FE".into(),
        "1e309".into(),
        "NaN".into(),
        "..%2F..%2Fetc%2Fpasswd".into(),
        "%2Fstudents%0D%0AX:%20y".into(),
    ]
}

/// Query keys tried on every route with a `<f..>` catch-all (the list filters).
const FILTER_KEYS: [&str; 12] = [
    "page", "per_page", "q", "sort", "dir", "next", "id", "term", "cohort", "status", "from", "to",
];

/// The route's URI with every `<param>` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let (path, query) = template.split_once('?').unwrap_or((template, ""));
    let path: Vec<String> = path
        .split('/')
        .map(|seg| {
            if seg.starts_with('<') && seg.ends_with('>') {
                value.to_string()
            } else {
                seg.to_string()
            }
        })
        .collect();
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let name = part.trim_start_matches('<').trim_end_matches('>');
        if let Some(_catch_all) = name.strip_suffix("..") {
            for k in FILTER_KEYS {
                pairs.push(format!("{k}={value}"));
            }
        } else if part.starts_with('<') {
            pairs.push(format!("{name}={value}"));
        } else {
            pairs.push(part.to_string());
        }
    }
    let path = path.join("/");
    if pairs.is_empty() {
        path
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

#[rocket::async_test]
async fn no_route_answers_a_server_error_to_extreme_or_malformed_parameters() {
    let app = TestApp::new(Backend::Sqlite).await;
    let p = app.people.clone();
    let mut roles: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    for (name, id) in [
        ("student", p.student),
        ("teacher", p.teacher),
        ("admin", p.admin),
    ] {
        roles.push((name, Some(app.token(id).await)));
    }
    let routes: Vec<(Method, String)> = app
        .client
        .rocket()
        .routes()
        .map(|r| (r.method, r.uri.to_string()))
        // NOTE: logging out would revoke the role's token and end the test's coverage.
        .filter(|(_, uri)| !uri.contains("logout"))
        .collect();
    assert!(routes.len() > 100, "every mounted route: {}", routes.len());
    let mut failures = Vec::new();
    let mut sent = 0;
    for (method, template) in &routes {
        for value in values() {
            let uri = fill(template, &value);
            for (role, token) in &roles {
                let mut req = app.client.req(*method, uri.clone());
                if let Some(t) = token {
                    req = req.header(Header::new("Authorization", format!("Bearer {t}")));
                }
                if *method == Method::Post || *method == Method::Put || *method == Method::Patch {
                    req = req.header(ContentType::Form).body(format!(
                        "id={value}&page={value}&next={value}&_csrf={value}"
                    ));
                }
                let status = req.dispatch().await.status();
                sent += 1;
                if status.code >= 500 {
                    failures.push(format!(
                        "{method} {} as {role}: {status}",
                        uri.chars().take(120).collect::<String>()
                    ));
                }
            }
        }
    }
    assert!(sent > 1000);
    assert!(
        failures.is_empty(),
        "{} server errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
