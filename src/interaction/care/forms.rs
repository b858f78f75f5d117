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

impl CareForm {
    /// The intervention this form records; `flag` is the risk flag it answers, if any (the
    /// referrals list records care for a referral, not a flag).
    pub fn intervention(&self, flag: Option<i64>) -> super::dto::NewIntervention {
        super::dto::NewIntervention {
            student_id: self.student_id,
            kind: self.kind.clone(),
            notes: self.notes.clone(),
            happened_on: Some(self.happened_on.clone()),
            follow_up_on: Some(self.follow_up_on.clone()),
            outcome: None,
            flag_id: flag,
        }
    }
}
