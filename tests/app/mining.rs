//! The mining module's tests, and its rows of the route × role matrix.

use crate::access_matrix::{Ids, Request, Table};
use crate::common::{Backend, TestApp};

/// The model library and `srm mine evaluate` (the mining-ML helper's tests).
#[path = "mining_ml.rs"]
mod ml;

/// Runs, flags, feedback, suggestions, formulas and scope (the portal-mining helper's tests).
#[path = "mining_portal.rs"]
mod portal;

/// Suggestion rules and saved scoring formulas, as administrators change them.
#[path = "mining_admin.rs"]
mod admin;

/// The leaving target, the demo's leavers and the leaving model, the GPA trend in training.
#[path = "mining_leave.rs"]
mod leave;

/// This module's routes for `access_matrix` (same letters as there).
pub const MATRIX: Table = Table {
    rows: &[
        ("GET", "/mining", "LFAAF"),
        ("POST", "/mining/runs", "LFFAF"),
        ("GET", "/mining/runs/<id>", "LFFAF"),
        ("POST", "/mining/runs/<id>/cancel", "LFFAF"),
        ("POST", "/mining/settings", "LFFAF"),
        ("GET", "/mining/flags", "LFAAF"),
        ("POST", "/mining/flags/<id>/feedback", "LFAAF"),
        ("GET", "/mining/rules", "LFFAF"),
        ("POST", "/mining/rules", "LFFAF"),
        ("POST", "/mining/rules/<id>", "LFFAF"),
        ("POST", "/mining/rules/<id>/active", "LFFAF"),
        ("POST", "/mining/rules/<id>/delete", "LFFAF"),
        ("GET", "/mining/formula", "LFFAF"),
        ("POST", "/mining/formula", "LFFAF"),
        ("POST", "/mining/formula/<id>/active", "LFFAF"),
        ("POST", "/mining/formula/<id>/delete", "LFFAF"),
        ("GET", "/me/suggestions", "LAFAF"),
        ("GET", "/api/v1/mining/runs", "LFFAF"),
        ("GET", "/api/v1/mining/runs/<id>", "LFFAF"),
        ("POST", "/api/v1/mining/runs", "LFFAF"),
        ("POST", "/api/v1/mining/runs/<id>/cancel", "LFFAF"),
        ("GET", "/api/v1/mining/flags", "LFAAF"),
        ("POST", "/api/v1/mining/flags/<id>/feedback", "LFAAF"),
        ("POST", "/api/v1/mining/formula/trial", "LFFAF"),
        ("GET", "/api/v1/mining/rules", "LFFAF"),
        ("POST", "/api/v1/mining/rules", "LFFAF"),
        ("PUT", "/api/v1/mining/rules/<id>", "LFFAF"),
        ("DELETE", "/api/v1/mining/rules/<id>", "LFFAF"),
        ("GET", "/api/v1/mining/formulas", "LFFAF"),
        ("POST", "/api/v1/mining/formulas", "LFFAF"),
        ("PUT", "/api/v1/mining/formulas/<id>", "LFFAF"),
        ("DELETE", "/api/v1/mining/formulas/<id>", "LFFAF"),
        ("GET", "/api/v1/me/suggestions", "LAFAF"),
        ("GET", "/api/v1/me/recommendations", "LAFAF"),
    ],
    request,
};

/// Harmless requests: a run id or flag id that does not exist, and bodies that are refused
/// (an empty form or `{}` lacks the required fields), so nothing is started or written.
fn request(method: &str, pattern: &str, _ids: &Ids) -> Option<Request> {
    use rocket::http::ContentType;
    if !(pattern.starts_with("/mining")
        || pattern.starts_with("/api/v1/mining")
        || pattern.ends_with("/suggestions"))
    {
        return None;
    }
    let path = pattern.replace("<id>", "999999");
    let body = match (method, pattern.starts_with("/api/")) {
        ("POST" | "PUT", true) => Some((ContentType::JSON, "{}".to_string())),
        ("POST", false) => Some((ContentType::Form, String::new())),
        _ => None,
    };
    Some((path, body))
}

/// Every mining API route is in the OpenAPI document, typed: a documented answer, the error
/// body, a typed request body where it takes one, and a ranged page size.
#[rocket::async_test]
async fn every_mining_api_route_is_typed_in_the_document() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, doc) = app.get_json("/api/v1/openapi.json", None).await;
    let mut routes: Vec<(String, String, bool)> = Vec::new();
    for route in srm::mining::api_routes() {
        let path = route
            .uri
            .path()
            .to_string()
            .replace('<', "{")
            .replace('>', "}");
        routes.push((
            route.method.as_str().to_lowercase(),
            format!("/api/v1{path}"),
            route.format.is_some(),
        ));
    }
    assert_eq!(routes.len(), 17, "{routes:?}");
    assert_eq!(routes.iter().filter(|r| r.2).count(), 7, "{routes:?}");
    for (method, path, json_body) in routes {
        let op = &doc["paths"][&path][&method];
        assert!(op.is_object(), "{method} {path} is in the document");
        let answers = op["responses"].as_object().cloned().unwrap_or_default();
        assert!(
            answers.keys().any(|s| s.starts_with('2')),
            "{method} {path} documents its answer"
        );
        assert!(
            answers.iter().any(|(s, a)| s.starts_with('4')
                && a["content"]["application/json"]["schema"]["$ref"]
                    == "#/components/schemas/ErrorBody"),
            "{method} {path} documents its error body"
        );
        if json_body {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(
                schema["$ref"].is_string(),
                "{method} {path} has a typed body: {schema}"
            );
        }
    }
    let flags = doc["paths"]["/api/v1/mining/flags"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let per_page = flags
        .iter()
        .find(|p| p["name"] == "per_page")
        .expect("the flag list documents per_page");
    assert_eq!(per_page["schema"]["maximum"], 500, "{per_page}");
    let run = &doc["components"]["schemas"]["RunDetail"];
    assert!(run.is_object(), "the run's answer has a schema");
}
