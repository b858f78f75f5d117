//! The OpenAPI document, generated from the routes actually mounted under `/api`, so no API
//! route can be missing from it, and a page that renders it on the server (no CDN, no script).

use crate::web::Ctx;
use rocket::serde::json::Json;
use rocket::{Route, State, get};
use rocket_dyn_templates::Template;
use serde::Serialize;
use serde_json::{Map, Value, json};

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
        .filter(|r| r.uri.path().starts_with("/api/"))
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
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

pub fn document(index: &ApiIndex) -> Value {
    let mut paths = Map::new();
    for r in &index.0 {
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
        if r.name != "api_login" && r.name != "openapi" {
            op["security"] = json!([{"bearer": []}]);
        }
        if r.json_body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(r.path.clone()).or_insert_with(|| json!({}));
        entry[r.method.as_str()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Student relationship management portal API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}}}}
        }
    })
}

#[get("/openapi.json")]
pub fn openapi(index: &State<ApiIndex>) -> Json<Value> {
    Json(document(index))
}

#[get("/api/docs")]
pub fn docs_page(ctx: Ctx<'_>, index: &State<ApiIndex>) -> Template {
    ctx.render("api_docs", "api_docs.title", json!({"routes": index.0}))
}
