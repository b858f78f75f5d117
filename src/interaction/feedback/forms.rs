//! The feedback survey form.

use rocket::FromForm;

/// One student's answers (each 1 to 5) and comment.
#[derive(FromForm)]
pub struct FeedbackForm {
    pub teaching: Option<i64>,
    pub content: Option<i64>,
    pub workload: Option<i64>,
    pub overall: Option<i64>,
    #[field(default = String::new())]
    pub comment: String,
}
