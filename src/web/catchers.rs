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
        let message = note
            .message
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
            let body = json_body(code, &message);
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
    // NOTE: Rocket answers a known path asked with another method as 404; say 405 and which
    // methods it takes, as HTTP asks.
    if status == Status::NotFound {
        let allowed = allowed_methods(req);
        if !allowed.is_empty() {
            return Caught(Status::MethodNotAllowed, Some(allowed.join(", ")));
        }
    }
    Caught(status, None)
}

/// The methods of the mounted routes whose path matches this request's, when its own method
/// is not among them.
fn allowed_methods(req: &Request<'_>) -> Vec<String> {
    let path: Vec<&str> = req.uri().path().raw().as_str().split('/').collect();
    let mut methods: Vec<String> = req
        .rocket()
        .routes()
        .filter(|r| path_matches(r.uri.path(), &path))
        .map(|r| r.method.as_str().to_string())
        .collect();
    methods.sort();
    methods.dedup();
    if methods.iter().any(|m| m == req.method().as_str()) {
        return Vec::new();
    }
    methods
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
