//! The preferences form: one mode per category, as chosen on the page.

use super::categories::{Category, Mode};
use crate::error::{AppError, AppResult};
use rocket::FromForm;

#[derive(FromForm, Default)]
pub struct PrefsForm {
    pub cases: Option<String>,
    pub grades: Option<String>,
    pub registration: Option<String>,
    pub care: Option<String>,
    pub announcements: Option<String>,
}

impl PrefsForm {
    /// The choices sent (categories not on the form are left as they are).
    pub fn choices(&self) -> AppResult<Vec<(Category, Mode)>> {
        [
            (Category::Cases, &self.cases),
            (Category::Grades, &self.grades),
            (Category::Registration, &self.registration),
            (Category::Care, &self.care),
            (Category::Announcements, &self.announcements),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.as_deref().map(|v| (c, v)))
        .map(|(c, v)| {
            Mode::parse(v.trim()).map(|m| (c, m)).ok_or_else(|| {
                AppError::unprocessable(
                    "invalid_mode",
                    "choose immediately, daily digest or portal only",
                )
            })
        })
        .collect()
    }
}
