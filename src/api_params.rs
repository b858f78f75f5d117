//! The API's path and query values are checked against the OpenAPI document before routing:
//! a value of the wrong type, out of its documented range, given twice, or a required one
//! missing is refused with 422 `invalid_parameter` naming the parameter, instead of being
//! read as absent (Rocket's `Option<T>` turns a bad value into `None`). The pages share the
//! query types and stay forgiving.
//!
//! NOTE: a fairing cannot answer by itself: it leaves the error's note and sends the request to
//! a path no route serves; the catcher (`web/catchers.rs`) answers with the note.

use crate::error::AppError;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::{Data, Request};
use serde_json::Value;

/// Where a refused request is sent; no route serves it.
pub const REJECTED_PATH: &str = "/api/v1/.rejected";

/// What the catcher answers a request sent to `REJECTED_PATH`: 422, or 405 with `Allow`.
#[derive(Debug, Clone, Default)]
pub struct Rejection {
    pub allow: Option<String>,
}

/// One documented parameter and what its values may be.
#[derive(Debug, Clone)]
struct Param {
    name: String,
    in_query: bool,
    required: bool,
    kind: Accepts,
}

#[derive(Debug, Clone)]
enum Accepts {
    Integer { min: Option<i64>, max: Option<i64> },
    Boolean,
    Date,
    OneOf(Vec<String>),
    Text,
}

#[derive(Debug, Clone)]
struct Operation {
    method: String,
    /// The path's segments; `None` stands for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// The parameter names of the `None` segments, in order.
    path_names: Vec<String>,
    params: Vec<Param>,
}

/// Every operation of the document, kept in the managed state.
pub struct ApiOperations(Vec<Operation>);

impl ApiOperations {
    pub fn from_document(doc: &Value) -> ApiOperations {
        let mut ops = Vec::new();
        let Some(paths) = doc["paths"].as_object() else {
            return ApiOperations(ops);
        };
        for (path, item) in paths {
            let Some(methods) = item.as_object() else {
                continue;
            };
            let mut path_names = Vec::new();
            let segments: Vec<Option<String>> = path
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => {
                            path_names.push(name.to_string());
                            None
                        }
                        None => Some(s.to_string()),
                    },
                )
                .collect();
            for (method, op) in methods {
                let params = op["parameters"]
                    .as_array()
                    .map(|ps| ps.iter().filter_map(|p| param(doc, p)).collect())
                    .unwrap_or_default();
                ops.push(Operation {
                    method: method.to_uppercase(),
                    segments: segments.clone(),
                    path_names: path_names.clone(),
                    params,
                });
            }
        }
        ApiOperations(ops)
    }

    /// The methods the document gives for this path (the `Allow` of a 405), counting a
    /// `{parameter}` segment only where the value fits its type (`export.csv` is no `{id}`).
    pub fn allowed_methods(&self, path: &str) -> Vec<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut methods: Vec<String> = self
            .0
            .iter()
            .filter(|op| op.fits(&segments))
            .map(|op| op.method.clone())
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }

    /// The operation a request is for: the one matching its method and path with the most
    /// literal segments (as Rocket ranks a static segment above a dynamic one).
    fn operation(&self, method: &str, path: &[&str]) -> Option<&Operation> {
        self.0
            .iter()
            .filter(|op| op.method == method && op.segments.len() == path.len())
            .filter(|op| {
                op.segments
                    .iter()
                    .zip(path)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
            })
            .max_by_key(|op| op.segments.iter().filter(|s| s.is_some()).count())
    }
}

impl Operation {
    /// Whether a request path is this operation's, path values of the right type included.
    fn fits(&self, path: &[&str]) -> bool {
        let mut names = self.path_names.iter();
        self.segments.len() == path.len()
            && self.segments.iter().zip(path).all(|(s, p)| match s {
                Some(s) => s == p,
                None => names.next().is_none_or(|name| {
                    self.params
                        .iter()
                        .find(|q| !q.in_query && &q.name == name)
                        .is_none_or(|q| refusal(q, &percent_decode(p)).is_none())
                }),
            })
    }
}

fn param(doc: &Value, p: &Value) -> Option<Param> {
    let place = p["in"].as_str()?;
    if place != "query" && place != "path" {
        return None;
    }
    let mut schema = &p["schema"];
    if let Some(r) = schema["$ref"].as_str() {
        schema = &doc["components"]["schemas"][r.rsplit('/').next()?];
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = if types.contains(&"integer") {
        Accepts::Integer {
            min: schema["minimum"].as_i64(),
            max: schema["maximum"].as_i64(),
        }
    } else if types.contains(&"boolean") {
        Accepts::Boolean
    } else if types.contains(&"string") && schema["format"] == "date" {
        Accepts::Date
    } else if let Some(values) = schema["enum"].as_array() {
        Accepts::OneOf(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
        )
    } else {
        Accepts::Text
    };
    Some(Param {
        name: p["name"].as_str()?.to_string(),
        in_query: place == "query",
        required: p["required"].as_bool().unwrap_or(place == "path"),
        kind,
    })
}

/// Why `value` is not a valid value of `param`, if it is not.
fn refusal(param: &Param, value: &str) -> Option<String> {
    let name = &param.name;
    match param.kind {
        Accepts::Integer { min, max } => {
            let ok = value
                .parse::<i64>()
                .ok()
                .filter(|v| min.is_none_or(|m| *v >= m) && max.is_none_or(|m| *v <= m));
            if ok.is_some() {
                return None;
            }
            Some(match (min, max) {
                (Some(a), Some(b)) => format!("{name} must be a whole number from {a} to {b}"),
                (Some(a), None) => format!("{name} must be a whole number of at least {a}"),
                _ => format!("{name} must be a whole number"),
            })
        }
        Accepts::Boolean => {
            (!matches!(value, "true" | "false")).then(|| format!("{name} must be true or false"))
        }
        Accepts::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .is_err()
            .then(|| format!("{name} must be a date, YYYY-MM-DD")),
        Accepts::OneOf(ref values) => (!values.iter().any(|v| v == value))
            .then(|| format!("{name} must be one of: {}", values.join(", "))),
        Accepts::Text => None,
    }
}

/// Why the request's values do not fit `op`, if they do not.
fn check(op: &Operation, path: &[&str], query: &[(String, String)]) -> Option<String> {
    let dynamic = op
        .segments
        .iter()
        .zip(path)
        .filter(|(s, _)| s.is_none())
        .map(|(_, p)| *p);
    for (name, raw) in op.path_names.iter().zip(dynamic) {
        let value = percent_decode(raw);
        if let Some(p) = op.params.iter().find(|p| !p.in_query && &p.name == name)
            && let Some(why) = refusal(p, &value)
        {
            return Some(why);
        }
    }
    for p in op.params.iter().filter(|p| p.in_query) {
        let given: Vec<&str> = query
            .iter()
            .filter(|(k, _)| *k == p.name)
            .map(|(_, v)| v.as_str())
            .collect();
        match given.as_slice() {
            [] if p.required => return Some(format!("{} is required", p.name)),
            [] => {}
            [value] => {
                if let Some(why) = refusal(p, value) {
                    return Some(why);
                }
            }
            _ => return Some(format!("{} is given more than once", p.name)),
        }
    }
    None
}

fn percent_decode(s: &str) -> String {
    rocket::http::RawStr::new(s)
        .percent_decode_lossy()
        .into_owned()
}

/// The fairing: checks each API request against `ApiOperations` before routing.
pub struct ParamCheck;

#[rocket::async_trait]
impl Fairing for ParamCheck {
    fn info(&self) -> Info {
        Info {
            name: "API parameters as documented",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let path = req.uri().path().as_str().to_string();
        if !path.starts_with("/api/v1/") {
            return;
        }
        let Some(ops) = req.rocket().state::<ApiOperations>() else {
            return;
        };
        let segments: Vec<&str> = path.split('/').collect();
        // HEAD is answered by the GET route.
        let method = match req.method().as_str() {
            "HEAD" => "GET",
            other => other,
        };
        let allowed = ops.allowed_methods(&path);
        if !allowed.is_empty() && !allowed.iter().any(|m| m == method) {
            req.local_cache(|| Rejection {
                allow: Some(allowed.join(", ")),
            });
            reject(req);
            return;
        }
        let Some(op) = ops.operation(method, &segments) else {
            return;
        };
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| {
                q.segments()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let Some(why) = check(op, &segments, &query) else {
            return;
        };
        AppError::unprocessable("invalid_parameter", why).leave_note(req);
        reject(req);
    }
}

fn reject(req: &mut Request<'_>) {
    req.local_cache(Rejection::default);
    if let Ok(rejected) = Origin::parse(REJECTED_PATH) {
        req.set_uri(rejected);
    }
}
