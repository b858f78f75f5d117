//! The API's request and response types of student records, and the CSV download.

use crate::error::{AppError, AppResult};
use rocket::Responder;
use rocket::http::Header;
use std::collections::HashMap;

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

/// One field's value as sent: text, a number or true/false (taken as their text), `null` (empty),
/// or anything else (refused with `invalid`).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    Other,
}

impl<'de> serde::Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FieldValue, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = FieldValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("text, a number, true/false or null")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<FieldValue, E> {
                // As JSON writes it (1.0 stays "1.0").
                Ok(serde_json::Number::from_f64(v)
                    .map_or(FieldValue::Other, |n| FieldValue::Text(n.to_string())))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(v.to_string()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(String::new()))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(String::new()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<FieldValue, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(FieldValue::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<FieldValue, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(FieldValue::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A present field, even when its value is `null` (which empties it).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<FieldValue>, D::Error> {
    <FieldValue as serde::Deserialize>::deserialize(d).map(Some)
}

/// The fields of a student record to set (a new record, a change, or the caller's own record).
/// Every field is optional; a value is text (numbers are taken as their text), `null` empties the
/// field. Unknown fields are refused (422 `unknown_field`), objects and lists too (422 `invalid`);
/// the values are checked like the forms' (422 `invalid_record`, 409 `taken` or
/// `duplicate_national_id`).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct StudentFields {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub student_no: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub national_id: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name_zh: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub gender: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub birth_date: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub address: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub department: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub major: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub cohort: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub status: Option<FieldValue>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub advisor: Option<FieldValue>,
    /// Any other field (refused).
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
}

impl StudentFields {
    /// Field → value as the text the forms take; unknown fields and non-text values are refused.
    pub fn values(&self) -> AppResult<HashMap<String, String>> {
        if let Some(k) = self.unknown.keys().next() {
            return Err(AppError::unprocessable(
                "unknown_field",
                format!("unknown field '{k}'"),
            ));
        }
        let given = [
            ("student_no", &self.student_no),
            ("national_id", &self.national_id),
            ("name_zh", &self.name_zh),
            ("name_en", &self.name_en),
            ("gender", &self.gender),
            ("birth_date", &self.birth_date),
            ("phone", &self.phone),
            ("email", &self.email),
            ("address", &self.address),
            ("department", &self.department),
            ("major", &self.major),
            ("cohort", &self.cohort),
            ("status", &self.status),
            ("advisor", &self.advisor),
        ];
        let mut out = HashMap::new();
        for (k, v) in given {
            match v {
                None => {}
                Some(FieldValue::Text(t)) => {
                    out.insert(k.to_string(), t.clone());
                }
                Some(FieldValue::Other) => {
                    return Err(AppError::unprocessable(
                        "invalid",
                        format!("field '{k}' must be text or a number"),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The student to merge into the record named in the path.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct MergeBody {
    pub duplicate_id: i64,
}

/// One exported student: the import's columns as text, plus the id.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ExportRow {
    pub id: i64,
    pub student_no: String,
    pub national_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub gender: String,
    pub birth_date: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub department: String,
    pub major: String,
    pub cohort: String,
    pub status: String,
    pub advisor: String,
    pub lifecycle_stage: String,
}

/// New accounts and their activation letters (each code is answered this once).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AccountsCreated {
    pub created: usize,
    /// Student numbers already used as the user name of another account: left for a person.
    pub name_taken: Vec<String>,
    pub letters: Vec<super::accounts::Letter>,
    /// How many e-mails were queued (`?mail=true`), else null.
    pub mailed: Option<usize>,
}

/// Reissued activation letters.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CodesReissued {
    pub letters: Vec<super::accounts::Letter>,
    /// How many e-mails were queued (`?mail=true`), else null.
    pub mailed: Option<usize>,
}
