//! The grading-scales page: every scale with its bands, and a form to add one (optionally as the
//! new default). Scales are kept, never edited in place, so published grades keep their meaning.

use super::scale::{self, Band, Scale};
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::Ctx;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{FromForm, State, get, post};
use rocket_dyn_templates::Template;
use serde_json::json;

async fn page(
    ctx: &Ctx<'_>,
    db: &sea_orm::DatabaseConnection,
    form: &ScaleForm<'_>,
    error: Option<String>,
) -> AppResult<Template> {
    let default_id = scale::default_scale(db).await?.id;
    let scales = scale::all(db).await?;
    Ok(ctx.render(
        "grades/scales",
        "grades.scales.title",
        json!({"scales": scales, "default_id": default_id, "error": error,
               "v": {"name": form.name, "pass_mark": form.pass_mark, "bands": form.bands,
                     "make_default": form.make_default}}),
    ))
}

#[get("/grades/scales")]
pub async fn scales_page(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    _who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
) -> AppResult<Template> {
    let blank = ScaleForm {
        pass_mark: "60",
        ..Default::default()
    };
    page(&ctx, &state.db, &blank, None).await
}

#[derive(FromForm, Default)]
pub struct ScaleForm<'a> {
    #[field(default = "")]
    name: &'a str,
    #[field(default = "")]
    pass_mark: &'a str,
    /// One band per line: `minimum letter points`, e.g. `90 A 4.0`.
    #[field(default = "")]
    bands: &'a str,
    #[field(default = false)]
    make_default: bool,
    #[field(name = "_csrf", default = "")]
    csrf: &'a str,
}

impl ScaleForm<'_> {
    fn scale(&self) -> Result<Scale, String> {
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

#[post("/grades/scales", data = "<form>")]
pub async fn scale_submit(
    ctx: Ctx<'_>,
    _on: ModuleOn<on::Grades>,
    who: Perm<'_, can::ManageCourses>,
    state: &State<AppState>,
    form: Form<ScaleForm<'_>>,
) -> AppResult<Result<Redirect, (Status, Template)>> {
    who.check_csrf(form.csrf)?;
    let outcome = match form.scale() {
        Ok(s) => scale::create(&state.db, who.id, &s, form.make_default).await,
        Err(message) => Err(AppError::unprocessable("invalid_scale", message)),
    };
    match outcome {
        Ok(_) => Ok(Ok(Redirect::to("/grades/scales"))),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict { .. })) => {
            let again = page(&ctx, &state.db, &form, Some(e.public_message())).await?;
            Ok(Err((Status::UnprocessableEntity, again)))
        }
        Err(e) => Err(e),
    }
}
