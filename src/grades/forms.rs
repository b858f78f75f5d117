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

#[derive(FromForm)]
pub struct AssessmentForm {
    pub name: String,
    pub weight: String,
    pub due_at: String,
    pub max_score: String,
}

#[derive(FromForm)]
pub struct ChangeForm {
    pub new_score: String,
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
    pub fn scale(&self) -> Result<Scale, String> {
        let pass_mark: f64 = self
            .pass_mark
            .trim()
            .parse()
            .map_err(|_| format!("the pass mark must be a number: {}", self.pass_mark))?;
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
                format!(
                    "band line {}: write the minimum score, the letter and the points, e.g. 90 A 4.0",
                    n + 1
                )
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
