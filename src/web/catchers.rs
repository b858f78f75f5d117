//! One catcher per status: pages get an error page (or, for 401, the login form); the API gets
//! `{"error":{"code","message"}}`.

use super::{error_page, url_encode};
use crate::error::{ErrorNote, json_body, wants_json};
use crate::i18n::Lang;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use std::io::Cursor;

struct Caught(Status);

impl<'r> Responder<'r, 'static> for Caught {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.0;
        let code = match status.code {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
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
fn any(status: Status, _req: &Request<'_>) -> Caught {
    Caught(status)
}

pub fn catchers() -> Vec<rocket::Catcher> {
    rocket::catchers![any]
}
