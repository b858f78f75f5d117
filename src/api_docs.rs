//! The OpenAPI document, derived from the typed handlers and their request and response types
//! (utoipa): every domain's `openapi()` is merged here and nested under `/api/v1`, so the
//! document cannot drift from the code. A page renders it on the server (no CDN, no script).
//!
//! NOTE: while the domains move to typed handlers (issue 19), a mounted API route that no
//! domain documents yet is still listed, untyped and marked `x-untyped`, from the mounted
//! routes; `untyped_routes` names them and the suite tracks the count down to zero.

use crate::web::Ctx;
use rocket::serde::json::Json;
use rocket::{Route, State, get};
use rocket_dyn_templates::Template;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Student relationship management portal API",
        description = "Every answer is JSON; errors are `{\"error\":{\"code\",\"message\"}}`. \
            Authenticate with `POST /api/v1/auth/login` and send the token as `Authorization: Bearer`; \
            a browser session (cookie) must also send `X-CSRF-Token` on every change."
    ),
    paths(openapi),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&SecuritySchemes)
)]
struct PortalApi;

/// The two ways to authenticate: a bearer token, or the portal's session cookie.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::session::SESSION_COOKIE,
            ))),
        );
    }
}

/// Every domain's part of the document: each lists its own typed routes and schemas.
fn domain_parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::account::openapi(),
        crate::admin::openapi(),
        crate::students::openapi(),
        crate::interaction::openapi(),
        crate::courses::openapi(),
        crate::registration::openapi(),
        crate::grades::openapi(),
        crate::mining::openapi(),
    ]
}

/// The typed document: the portal's own part with every domain's merged in, under `/api/v1`.
pub fn typed_document() -> utoipa::openapi::OpenApi {
    let mut api = PortalApi::openapi();
    let mut domains = utoipa::openapi::OpenApiBuilder::new().build();
    for part in domain_parts() {
        domains.merge(part);
    }
    // NOTE: `openapi` itself is mounted under `/api/v1` like the domains' routes.
    let own_paths = std::mem::take(&mut api.paths);
    domains.paths.paths.extend(own_paths.paths);
    api.nest("/api/v1", domains)
}

/// The document served at `/api/v1/openapi.json`, built once at launch.
pub struct ApiDocument(pub Value);

#[derive(Debug, Clone, Serialize)]
pub struct ApiRoute {
    pub method: String,
    /// OpenAPI-style path: `/api/v1/users/{id}`.
    pub path: String,
    pub name: String,
    pub path_params: Vec<String>,
    pub query_params: Vec<String>,
    pub json_body: bool,
    pub summary: String,
}

/// Every API route, gathered when the app is built.
pub struct ApiIndex(pub Vec<ApiRoute>);

/// One-line descriptions by handler name; a route without one is described by its name.
fn summary(name: &str) -> &'static str {
    match name {
        "api_login" => "Log in with user name and password; returns a bearer token",
        "api_logout" => "Revoke the caller's token",
        "api_password" => "Change the caller's own password",
        "api_me" => "The caller's account, groups and permissions",
        "api_users" => "List accounts (search, filter, paginate)",
        "api_user" => "One account",
        "api_user_create" => "Create an account",
        "api_user_patch" => "Enable or disable an account, or replace its groups",
        "api_user_password" => "Reset an account's password",
        "api_groups" => "List permission groups",
        "api_group_create" => "Create a permission group",
        "api_group_update" => "Replace a group's name and permissions",
        "api_permissions" => "The catalogue of permissions",
        "api_modules" => "Functional modules and whether each is on",
        "api_module_switch" => "Switch a module on or off",
        "api_audit" => "Query the audit log",
        "openapi" => "This document",
        "api_student" => "One student's record (within the caller's scope)",
        "api_students" => {
            "Find students: q (number, name, pinyin, national id), department, major, cohort, status, stage, risk (latest mining run: low|medium|high), sort, dir, page, per_page"
        }
        "api_student_history" => "A student's change history (who, when, field, old → new)",
        "api_student_create" => {
            "Add a student (fields as in the import: student_no, name_zh, major, cohort, …)"
        }
        "api_student_update" => {
            "Change some fields of a student; every change goes into the history"
        }
        "api_student_deactivate" => "Deactivate a student (status withdrawn; no hard delete)",
        "api_students_export_csv" => "The filtered list as CSV (UTF-8 with BOM), importable as is",
        "api_students_export_json" => "The filtered list as JSON, with the import's fields",
        "api_students_import" => {
            "Import students from a CSV body (UTF-8 or GBK, comma or semicolon); dry_run=true previews"
        }
        "api_import_resume" => {
            "Resume an interrupted import from its last committed batch (409 not_interrupted otherwise)"
        }
        "api_import_cancel" => {
            "Cancel a running import: 202 cancelling (stops after the current batch), 200 cancelled when nobody held it"
        }
        "api_my_record" => "The caller's own student record and the fields they may edit",
        "api_my_record_update" => "Edit the allowed fields of the caller's own record",
        "api_terms" => "Every term, with its registration window and whether it is current",
        "api_sections" => {
            "Sections of a term (term=current|id|code, course, q, department, teacher, day, open_only)"
        }
        "api_list" => "The caller's own registrations (enrolled and waitlisted)",
        "api_add" => {
            "Register for a section: 201 enrolled or waitlisted with a position; 409/422 with a code when refused; honours Idempotency-Key"
        }
        "api_drop" => "Drop a registration before the add/drop deadline; the waitlist is promoted",
        "api_holds" => "A student's holds, current and lifted",
        "api_place_hold" => "Place a hold (with a reason) that blocks the student's registration",
        "api_lift_hold" => "Lift a hold",
        "api_grant_override" => {
            "Let one student exceed a section's capacity or skip its prerequisites, with a reason"
        }
        "api_roster" => {
            "A section's enrolled and waitlisted students (its teacher, or staff who see every student)"
        }
        "api_term_create" => "Create a term (only one term is current)",
        "api_term_update" => "Edit a term",
        "api_course_create" => "Create a course",
        "api_course_update" => "Edit a course",
        "api_section_create" => "Create a section with its meeting times",
        "api_section_update" => {
            "Edit a section; capacity cannot drop below the students already in it"
        }
        "api_student_merge" => {
            "Merge a duplicate record (duplicate_id) into this one; refused when both hold the same section"
        }
        "api_student_settings" => "Which fields students may edit on their own record",
        "api_student_settings_update" => {
            "Choose the fields students may edit on their own record (self_editable)"
        }
        "api_student_accounts" => {
            "Create login accounts (user name = student number) for current students without one; they activate them at first sign-in"
        }
        "api_activate" => {
            "First sign-in: set the password of a bulk-created student account, proving the student number with the national id (or date of birth)"
        }
        "api_swap" => {
            "Swap an enrolled section for another in one step, keeping the old seat if the new one cannot be had"
        }
        // Later modules describe their own routes.
        other => crate::grades::api_summary(other)
            .or_else(|| crate::mining::api_summary(other))
            .or_else(|| crate::interaction::api_summary(other))
            .unwrap_or(""),
    }
}

pub fn index_routes<'a>(routes: impl Iterator<Item = &'a Route>) -> ApiIndex {
    let mut out: Vec<ApiRoute> = routes
        .filter(|r| r.uri.path().starts_with("/api/v1/"))
        .map(|r| {
            let mut path_params = Vec::new();
            let path: Vec<String> = r
                .uri
                .path()
                .split('/')
                .map(
                    |seg| match seg.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                        Some(p) => {
                            let p = p.trim_end_matches("..").to_string();
                            path_params.push(p.clone());
                            format!("{{{p}}}")
                        }
                        None => seg.to_string(),
                    },
                )
                .collect();
            let query_params = r
                .uri
                .query()
                .map(|q| {
                    q.split('&')
                        .filter_map(|s| s.strip_prefix('<').and_then(|s| s.strip_suffix('>')))
                        .map(|s| s.trim_end_matches("..").to_string())
                        .collect()
                })
                .unwrap_or_default();
            let name = r.name.as_deref().unwrap_or("").to_string();
            let described = summary(&name);
            ApiRoute {
                method: r.method.as_str().to_lowercase(),
                path: path.join("/"),
                summary: if described.is_empty() {
                    name.replace('_', " ")
                } else {
                    described.to_string()
                },
                name,
                path_params,
                query_params,
                json_body: r.format.as_ref().is_some_and(|f| f.is_json()),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    ApiIndex(out)
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
}

/// The untyped entry of a mounted route that no domain documents yet (see the module note).
fn untyped_operation(r: &ApiRoute) -> Value {
    let mut params: Vec<Value> = r
        .path_params
        .iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    params.extend(r.query_params.iter().map(
        |p| json!({"name": p, "in": "query", "required": false, "schema": {"type": "string"}}),
    ));
    let mut op = json!({
        "operationId": r.name,
        "summary": r.summary,
        "x-untyped": true,
        "parameters": params,
        "responses": {
            "200": {"description": "Success", "content": {"application/json": {}}},
            "400": error_response("Malformed request"),
            "401": error_response("Not authenticated"),
            "403": error_response("Not allowed"),
            "404": error_response("Not found, or the module is switched off"),
            "422": error_response("Invalid input"),
        },
    });
    if r.name != "api_login" {
        op["security"] = json!([{"bearer": []}, {"cookie": []}]);
    }
    if r.json_body {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    op
}

/// The mounted API routes the typed document does not describe yet.
pub fn untyped_routes<'a>(typed: &Value, index: &'a ApiIndex) -> Vec<&'a ApiRoute> {
    index
        .0
        .iter()
        .filter(|r| typed["paths"][&r.path][&r.method].is_null())
        .collect()
}

/// The whole document: the typed one, plus the routes not typed yet.
pub fn document(index: &ApiIndex) -> Value {
    let mut doc = serde_json::to_value(typed_document()).unwrap_or_else(|_| json!({}));
    let missing: Vec<(String, String, Value)> = untyped_routes(&doc, index)
        .into_iter()
        .map(|r| (r.path.clone(), r.method.clone(), untyped_operation(r)))
        .collect();
    if !doc["paths"].is_object() {
        doc["paths"] = json!({});
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, method, op) in missing {
            let entry = paths.entry(path).or_insert_with(|| json!({}));
            entry[method.as_str()] = op;
        }
    }
    doc
}

/// One line of the reference page.
#[derive(Serialize)]
struct DocRow {
    method: String,
    path: String,
    summary: String,
    params: Vec<String>,
    body: bool,
    typed: bool,
}

fn rows(doc: &Value) -> Vec<DocRow> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let Some(ops) = item.as_object() else {
            continue;
        };
        for (method, op) in ops {
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| {
                            let name = p["name"].as_str()?;
                            Some(if p["in"] == "query" {
                                format!("?{name}")
                            } else {
                                name.to_string()
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let summary = op["summary"]
                .as_str()
                .or_else(|| op["description"].as_str())
                .unwrap_or_default();
            out.push(DocRow {
                method: method.clone(),
                path: path.clone(),
                summary: summary.to_string(),
                params,
                body: !op["requestBody"].is_null(),
                typed: op["x-untyped"].is_null(),
            });
        }
    }
    out.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    out
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "api",
    responses((status = 200, description = "The OpenAPI document of this API", content_type = "application/json"))
)]
#[get("/openapi.json")]
pub fn openapi(doc: &State<ApiDocument>) -> Json<Value> {
    Json(doc.0.clone())
}

#[get("/api/docs")]
pub fn docs_page(ctx: Ctx<'_>, doc: &State<ApiDocument>) -> Template {
    ctx.render(
        "api_docs",
        "api_docs.title",
        json!({"routes": rows(&doc.0)}),
    )
}
