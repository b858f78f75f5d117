//! The grades pages' forms.

use super::scale::{Band, Scale};
use rocket::FromForm;

/// What the grid page says after a redirect: counts only, never text from the address.
#[derive(FromForm, Default)]
pub struct EntryNotice<'r> {
    pub saved: Option<&'r str>,
    pub published: Option<u64>,
    pub filled: Option<u64>,
}

#[derive(FromForm)]
pub struct PublishForm {
    #[field(default = String::new())]
    pub confirm: String,
}

/// NOTE: every field has a default, so an incomplete form still reaches the handler, which
/// checks access to the section before it reads the form (and answers the refusal first).
#[derive(FromForm)]
pub struct AssessmentForm {
    #[field(default = String::new())]
    pub name: String,
    #[field(default = String::new())]
    pub weight: String,
    #[field(default = String::new())]
    pub due_at: String,
    #[field(default = String::new())]
    pub max_score: String,
}

/// NOTE: defaults as in [`AssessmentForm`]: the grade is looked up before the form is read.
#[derive(FromForm)]
pub struct ChangeForm {
    #[field(default = String::new())]
    pub new_score: String,
    #[field(default = String::new())]
    pub reason: String,
}

#[derive(FromForm)]
pub struct DecisionForm {
    #[field(default = String::new())]
    pub note: String,
}

#[derive(FromForm, Default)]
pub struct ScaleForm<'a> {
    #[field(default = "")]
    pub name: &'a str,
    #[field(default = "")]
    pub pass_mark: &'a str,
    /// One band per line: `minimum letter points`, e.g. `90 A 4.0`.
    #[field(default = "")]
    pub bands: &'a str,
    #[field(default = false)]
    pub make_default: bool,
}

impl ScaleForm<'_> {
    pub fn scale(&self) -> crate::error::AppResult<Scale> {
        let pass_mark: f64 = self.pass_mark.trim().parse().map_err(|_| {
            super::scale::invalid(
                "pass_mark_number",
                format!("the pass mark must be a number: {}", self.pass_mark),
            )
        })?;
        let mut bands = Vec::new();
        for (n, line) in self.bands.lines().enumerate() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.is_empty() {
                continue;
            }
            let band = match parts.as_slice() {
                [min, letter, points] => {
                    min.parse()
                        .ok()
                        .zip(points.parse().ok())
                        .map(|(min_score, points)| Band {
                            min_score,
                            letter: letter.to_string(),
                            points,
                        })
                }
                _ => None,
            };
            bands.push(band.ok_or_else(|| {
                super::scale::invalid(
                    "band_line",
                    format!(
                        "band line {}: write the minimum score, the letter and the points, e.g. 90 A 4.0",
                        n + 1
                    ),
                )
                .arg("line", n + 1)
            })?);
        }
        Ok(Scale {
            id: None,
            name: self.name.trim().to_string(),
            pass_mark,
            bands,
        }
        .sorted())
    }
}
