//! The API's request and response types of student records, and the CSV download.

use rocket::Responder;
use rocket::http::Header;

/// A CSV download.
#[derive(Responder)]
#[response(content_type = "text/csv; charset=utf-8")]
pub struct CsvFile {
    pub body: Vec<u8>,
    pub disposition: Header<'static>,
}

impl CsvFile {
    pub fn new(body: Vec<u8>, name: &str) -> CsvFile {
        CsvFile {
            body,
            disposition: Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ),
        }
    }
}

/// Which fields students may edit on their own record, and which could be allowed.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SelfEditSettings {
    pub self_editable: Vec<String>,
    pub choices: Vec<String>,
}

impl SelfEditSettings {
    pub fn new(self_editable: Vec<String>) -> SelfEditSettings {
        SelfEditSettings {
            self_editable,
            choices: super::forms::SELF_EDITABLE
                .iter()
                .map(|f| f.to_string())
                .collect(),
        }
    }
}

/// The fields students may edit on their own record.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct SettingsBody {
    pub self_editable: Vec<String>,
}

/// The caller's own record and the fields they may edit.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MyRecord {
    pub record: super::service::StudentView,
    pub editable_fields: Vec<String>,
}

/// An import job after a cancel request.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ImportCancelled {
    pub id: i64,
    /// `cancelling` (stops after the current batch) or `cancelled`.
    pub status: String,
}
