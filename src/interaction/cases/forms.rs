//! The case pages' forms.

use rocket::FromForm;

/// A student opening a case.
#[derive(FromForm)]
pub struct NewCaseForm {
    #[field(default = String::new())]
    pub category: String,
    #[field(default = String::new())]
    pub subject: String,
    #[field(default = String::new())]
    pub body: String,
    #[field(default = String::new())]
    pub about: String,
    pub department_id: Option<i64>,
    pub course_id: Option<i64>,
}

/// A handling step (take, reply, reassign, close) or the student's rating.
#[derive(FromForm)]
pub struct ActionForm {
    #[field(default = String::new())]
    pub action: String,
    #[field(default = String::new())]
    pub body: String,
    pub queue: Option<String>,
    pub rating: Option<i64>,
    #[field(default = String::new())]
    pub comment: String,
}
