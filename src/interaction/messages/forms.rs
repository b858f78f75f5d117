//! The message pages' forms.

use rocket::FromForm;

/// A new conversation: to a contact, a student (by number), a section or a saved segment.
#[derive(FromForm)]
pub struct NewForm {
    pub to_user_id: Option<i64>,
    #[field(default = String::new())]
    pub student_no: String,
    pub section_id: Option<i64>,
    pub segment_id: Option<i64>,
    #[field(default = String::new())]
    pub subject: String,
    #[field(default = String::new())]
    pub body: String,
}

/// A reply in a conversation.
#[derive(FromForm)]
pub struct ReplyForm {
    #[field(default = String::new())]
    pub body: String,
}
