//! The announcement page's form.

use rocket::FromForm;

/// A new announcement.
#[derive(FromForm)]
pub struct AnnForm {
    #[field(default = String::new())]
    pub scope: String,
    pub department_id: Option<i64>,
    pub section_id: Option<i64>,
    #[field(default = String::new())]
    pub title_zh: String,
    #[field(default = String::new())]
    pub title_en: String,
    #[field(default = String::new())]
    pub body: String,
    #[field(default = String::new())]
    pub publish_at: String,
}
