//! A page form with one file (`multipart/form-data`), read with the import's own limit. The
//! global form limits stay small (a text form is 64 KiB), so only the upload routes accept a
//! large body, and no one can park a 60 MB body on any other form. Its `_csrf` field is
//! checked like every page form's (`super::csrf`).

use crate::students::handlers::IMPORT_LIMIT_MIB;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::Status;
use rocket::request::Request;
use std::collections::HashMap;

/// The largest text field of an upload form (the CSRF token, a checkbox, a select).
const FIELD_LIMIT: usize = 64 * 1024;

/// The file and the text fields of an upload form.
#[derive(Debug, Default)]
pub struct Upload {
    /// Empty when no file was chosen.
    pub file: Vec<u8>,
    pub fields: HashMap<String, String>,
}

impl Upload {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// A checkbox or `true`/`false` field.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.field(name), "true" | "on" | "yes" | "1")
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Upload {
    type Error = crate::error::AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let boundary = req
            .content_type()
            .filter(|ct| ct.is_form_data())
            .and_then(|ct| ct.param("boundary"));
        let Some(boundary) = boundary else {
            return refuse(req, (Status::BadRequest, "not a multipart form".into()));
        };
        let limit = IMPORT_LIMIT_MIB * 1024 * 1024;
        let constraints = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(limit)
                .per_field(limit),
        );
        // NOTE: one byte more than the limit is read, so multer sees "too large", not a cut body.
        let stream = data.open((limit + 1).bytes());
        let mut parts =
            multer::Multipart::with_reader_with_constraints(stream, boundary, constraints);
        let mut upload = Upload::default();
        loop {
            let field = match parts.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return refuse(req, refusal(e)),
            };
            let name = field.name().unwrap_or_default().to_string();
            let is_file = field.file_name().is_some();
            let bytes = match field.bytes().await {
                Ok(b) => b,
                Err(e) => return refuse(req, refusal(e)),
            };
            if is_file && name == "file" {
                upload.file = bytes.to_vec();
            } else if bytes.len() > FIELD_LIMIT {
                return refuse(req, (Status::PayloadTooLarge, "field too large".into()));
            } else {
                upload
                    .fields
                    .insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        match super::csrf::token_matches(req, upload.field(super::csrf::FIELD)).await {
            Ok(true) => data::Outcome::Success(upload),
            Ok(false) => super::csrf::refuse(req, crate::error::AppError::Csrf),
            Err(e) => super::csrf::refuse(req, e),
        }
    }
}

fn refuse<'r>(
    req: &Request<'_>,
    (status, message): (Status, String),
) -> data::Outcome<'r, Upload, crate::error::AppError> {
    let error = if status == Status::PayloadTooLarge {
        crate::error::AppError::bad_request("too_large", message)
    } else {
        crate::error::AppError::bad_request("bad_upload", message)
    };
    let _ = error.leave_note(req);
    data::Outcome::Error((status, error))
}

fn refusal(e: multer::Error) -> (Status, String) {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            (Status::PayloadTooLarge, e.to_string())
        }
        _ => (Status::BadRequest, e.to_string()),
    }
}
