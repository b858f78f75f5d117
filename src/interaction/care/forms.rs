//! The care page's form.

use rocket::FromForm;

/// An intervention recorded from the work list.
#[derive(FromForm)]
pub struct CareForm {
    #[field(default = 0)]
    pub student_id: i64,
    pub flag_id: Option<i64>,
    #[field(default = String::new())]
    pub kind: String,
    #[field(default = String::new())]
    pub notes: String,
    #[field(default = String::new())]
    pub happened_on: String,
    #[field(default = String::new())]
    pub follow_up_on: String,
    /// The list's place to return to: its level filter and page.
    pub level: Option<String>,
    pub page: Option<u64>,
}
