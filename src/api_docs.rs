//! The OpenAPI document, derived from the typed handlers and their request and response types
//! (utoipa): every domain's `openapi()` is merged here and nested under `/api/v1`, so the
//! document cannot drift from the code. A page renders it on the server (no CDN, no script).

use crate::web::Ctx;
use rocket::serde::json::Json;
use rocket::{State, get};
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
        crate::analytics::openapi(),
        crate::attendance::openapi(),
        crate::privacy::openapi(),
        crate::mail::openapi(),
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

/// The derived document as JSON, with the answers every route of a kind can give. Every
/// mounted API route must be in it (a test checks).
pub fn document() -> Value {
    let mut doc = serde_json::to_value(typed_document()).unwrap_or_else(|_| json!({}));
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (method, op) in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.iter_mut())
        {
            secure_by_default(op);
            add_common_answers(op, method != "get");
        }
    }
    doc
}

/// An operation is authenticated unless its handler says `security(())` (anyone may call it,
/// written out as no requirement): one that names no security gets both schemes, so a handler
/// that forgets to say is documented as the guards treat it.
fn secure_by_default(op: &mut Value) {
    let Some(op) = op.as_object_mut() else {
        return;
    };
    let public = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .all(|r| r.as_object().is_some_and(|r| r.is_empty()))
        });
    if public {
        op.remove("security");
    } else {
        op.entry("security")
            .or_insert_with(|| json!([{"bearer": []}, {"cookie": []}]));
    }
}

/// The refusals the framework and the shared guards give, added where a handler's own list
/// does not name them: a body that is not JSON (415) or not readable (400), a path or query
/// value of the wrong type (422), no valid login (401), a permission or CSRF refusal (403),
/// and a module switched off (404). The CSRF header is named only where the operation
/// `changes` something: a read never needs it.
fn add_common_answers(op: &mut Value, changes: bool) {
    let json_body = !op["requestBody"]["content"]["application/json"].is_null();
    let has_params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
    let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
    // NOTE: every route outside the account, administration and document tags belongs to a
    // module an administrator can switch off, which answers 404.
    let always_on = op["tags"].as_array().is_some_and(|t| {
        t.iter()
            .any(|t| matches!(t.as_str(), Some("admin" | "auth" | "api")))
    });
    let mut add = |status: &str, description: &str| {
        if let Some(answers) = op["responses"].as_object_mut() {
            answers.entry(status).or_insert_with(|| {
                json!({
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                })
            });
        }
    };
    if json_body {
        add("400", "The body is not well-formed JSON");
        add("415", "The body is not JSON");
        add("422", "The body does not have the documented shape");
    }
    if has_params {
        add(
            "422",
            "A path or query value does not have the documented type",
        );
    }
    if secured && !always_on {
        add("404", "Not found, or its module is switched off");
    }
    if secured {
        add("401", "Not logged in");
        add(
            "403",
            if changes {
                "Not allowed, the module is off, or a cookie session without its X-CSRF-Token"
            } else {
                "Not allowed, or the module is off"
            },
        );
    }
}

/// One line of the reference page.
#[derive(Serialize)]
struct DocRow {
    method: String,
    path: String,
    summary: String,
    params: Vec<String>,
    body: bool,
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
    responses((status = 200, description = "The OpenAPI document of this API", content_type = "application/json")),
    security(())
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

/// A domain's JSON API, listed once: `api_routes()` mounts the handlers (under `/api/v1`) and
/// `openapi()` documents the same handlers with the schemas their types name.
#[macro_export]
macro_rules! typed_api {
    (tag: $tag:literal, routes: [$($route:path),* $(,)?], schemas: [$($schema:path),* $(,)?] $(,)?) => {
        /// This domain's JSON API handlers, mounted under `/api/v1`.
        pub fn api_routes() -> Vec<rocket::Route> {
            rocket::routes![$($route),*]
        }

        /// This domain's part of the OpenAPI document.
        pub fn openapi() -> utoipa::openapi::OpenApi {
            #[derive(utoipa::OpenApi)]
            #[openapi(paths($($route),*), components(schemas($($schema),*)))]
            struct ApiDoc;
            let mut api = <ApiDoc as utoipa::OpenApi>::openapi();
            $crate::api_docs::tag_every_operation(&mut api, $tag);
            api
        }
    };
}

/// Files every operation of a domain's part of the document under the domain's one tag (named
/// once, in its `typed_api!`).
pub fn tag_every_operation(api: &mut utoipa::openapi::OpenApi, tag: &str) {
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            op.tags = Some(vec![tag.to_string()]);
        }
    }
}
