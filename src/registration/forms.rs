//! Registration's page forms and page queries.

use rocket::FromForm;

#[derive(FromForm)]
pub struct AddForm<'a> {
    pub section_id: i64,
    /// The catalogue search the student added from (its query string), to return to.
    #[field(default = "")]
    pub back: &'a str,
}

#[derive(FromForm)]
pub struct SwapForm {
    pub to_section_id: i64,
}

#[derive(FromForm)]
pub struct HoldForm<'a> {
    #[field(default = "")]
    pub reason: &'a str,
}

#[derive(FromForm)]
pub struct OverrideForm<'a> {
    #[field(default = "")]
    pub section: &'a str,
    #[field(default = "")]
    pub kind: &'a str,
    #[field(default = "")]
    pub reason: &'a str,
}

/// What the registrar's page says after a form: a confirmation or a refusal code.
#[derive(FromForm, Default)]
pub struct HoldsNotice<'a> {
    pub error: Option<&'a str>,
    pub done: Option<&'a str>,
}
