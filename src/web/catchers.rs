//! One catcher per status: pages get an error page (or, for 401, the login form); the API gets
//! `{"error":{"code","message"}}`.

use super::{error_page, url_encode};
use crate::error::{ErrorNote, json_body, wants_json};
use crate::i18n::Lang;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use std::io::Cursor;

struct Caught(Status, Option<String>);

impl<'r> Responder<'r, 'static> for Caught {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let Caught(status, allow) = self;
        let code = match status.code {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            409 => "conflict",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            422 => "unprocessable",
            429 => "too_many_requests",
            503 => crate::error::UNAVAILABLE,
            _ => "internal",
        };
        let lang = if wants_json(req) {
            Lang::En
        } else {
            Lang::from_request_parts(req)
        };
        // NOTE: an `AppError` answering a page leaves its message here (`error.rs`).
        let note = ErrorNote::of(req);
        let translated = note.code.and_then(|code| lang.coded(code, &note.args));
        // NOTE: an error's own words are English; a Chinese page says the status instead.
        let own = note.message.filter(|_| lang == Lang::En);
        let message = translated
            .or(own)
            .unwrap_or_else(|| lang.t(&format!("error.{}", status.code)));
        let mut builder = Response::build();
        if let Some(methods) = allow {
            builder.header(Header::new("Allow", methods));
        }
        if let Some(seconds) = note.retry_after {
            builder.header(Header::new("Retry-After", seconds.to_string()));
        }
        if status == Status::ServiceUnavailable {
            builder.header(Header::new(
                "Retry-After",
                crate::error::RETRY_AFTER_SECONDS.to_string(),
            ));
        }
        if wants_json(req) {
            let body = json_body(note.code.unwrap_or(code), &message);
            return builder
                .status(status)
                .header(ContentType::JSON)
                .sized_body(body.len(), Cursor::new(body))
                .ok();
        }
        if status == Status::Unauthorized {
            let location = format!("/login?next={}", url_encode(&req.uri().to_string()));
            return Response::build()
                .status(Status::SeeOther)
                .header(Header::new("Location", location))
                .ok();
        }
        let html = error_page(req, status, &message);
        builder
            .status(status)
            .header(ContentType::HTML)
            .sized_body(html.len(), Cursor::new(html))
            .ok()
    }
}

#[rocket::catch(default)]
fn any(status: Status, req: &Request<'_>) -> Caught {
    // NOTE: Rocket answers a known path asked with another method, or a JSON route sent another
    // kind of body, as 404; say 405 with the methods it takes, or 415, as HTTP asks.
    if status == Status::NotFound && req.uri().path() == crate::api_params::REJECTED_PATH {
        let rejection = req.local_cache(crate::api_params::Rejection::default);
        return match &rejection.allow {
            Some(allow) => Caught(Status::MethodNotAllowed, Some(allow.clone())),
            None => Caught(Status::UnprocessableEntity, None),
        };
    }
    if status == Status::NotFound {
        let routes = routes_of_path(req);
        let allowed = allowed_methods(req, &routes);
        if !allowed.is_empty() && !allowed.iter().any(|m| m == req.method().as_str()) {
            return Caught(Status::MethodNotAllowed, Some(allowed.join(", ")));
        }
        let own: Vec<_> = routes.iter().filter(|r| r.method == req.method()).collect();
        if !own.is_empty() && own.iter().all(|r| !format_accepts(r, req)) {
            return Caught(Status::UnsupportedMediaType, None);
        }
    }
    Caught(status, None)
}

/// The methods this path takes: for the API, as its document says (a `{id}` only where the
/// value is a number); elsewhere, those of the mounted routes whose path matches.
fn allowed_methods(req: &Request<'_>, routes: &[&rocket::Route]) -> Vec<String> {
    let path = req.uri().path().as_str();
    if path.starts_with("/api/v1/")
        && let Some(ops) = req.rocket().state::<crate::api_params::ApiOperations>()
    {
        return ops.allowed_methods(path);
    }
    let mut methods: Vec<String> = routes
        .iter()
        .map(|r| r.method.as_str().to_string())
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

/// The mounted routes whose path matches this request's.
fn routes_of_path<'r>(req: &'r Request<'_>) -> Vec<&'r rocket::Route> {
    let path: Vec<&str> = req.uri().path().raw().as_str().split('/').collect();
    req.rocket()
        .routes()
        .filter(|r| path_matches(r.uri.path(), &path))
        .collect()
}

/// Whether the route takes this request's body type (a route without a format takes any).
fn format_accepts(route: &rocket::Route, req: &Request<'_>) -> bool {
    let (Some(want), true) = (&route.format, req.method().supports_payload()) else {
        return true;
    };
    let same = |a: &str, b: &str| a == "*" || b == "*" || a.eq_ignore_ascii_case(b);
    req.content_type().is_some_and(|have| {
        same(have.top().as_str(), want.top().as_str())
            && same(have.sub().as_str(), want.sub().as_str())
    })
}

fn path_matches(pattern: &str, path: &[&str]) -> bool {
    let segments: Vec<&str> = pattern.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.starts_with('<') && seg.ends_with("..>") {
            return true;
        }
        let Some(have) = path.get(i) else {
            return false;
        };
        let dynamic = seg.starts_with('<') && seg.ends_with('>');
        if !dynamic && seg != have {
            return false;
        }
    }
    segments.len() == path.len()
}

pub fn catchers() -> Vec<rocket::Catcher> {
    rocket::catchers![any]
}
