//! Grading scales: score (0–100) → letter and grade points, and the pass mark. A section uses
//! its own scale, else the default one; with no scale in the database the built-in Chinese
//! 4.0 scale of `seed/grading_scale.json` applies.

use crate::entity::{grading_bands, grading_scales};
use crate::error::{AppError, AppResult};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

/// The pass mark of a grade's section in SQL: its own scale's, else the default scale's, else
/// 60. `section "s"` looks the scale up from the section aliased `s`; `scale "sc"` reads it
/// from the section's scale joined as `sc`. Every query that counts passes or failures takes the
/// mark from here. A macro rather than a constant so that `concat!` can build `&'static str`
/// statements from it.
macro_rules! pass_mark_sql {
    (section $sections:literal) => {
        $crate::grades::scale::pass_mark_sql!(@or concat!(
            "(SELECT gs.pass_mark FROM grading_scales gs WHERE gs.id = ",
            $sections,
            ".grading_scale_id)"
        ))
    };
    (scale $scale:literal) => {
        $crate::grades::scale::pass_mark_sql!(@or concat!($scale, ".pass_mark"))
    };
    (@or $own:expr) => {
        concat!(
            "COALESCE(",
            $own,
            ", (SELECT MIN(gd.pass_mark) FROM grading_scales gd WHERE gd.is_default = TRUE), 60.0)"
        )
    };
}
pub(crate) use pass_mark_sql;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Band {
    pub min_score: f64,
    pub letter: String,
    pub points: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Scale {
    #[serde(default)]
    pub id: Option<i64>,
    pub name: String,
    pub pass_mark: f64,
    /// Highest `min_score` first.
    pub bands: Vec<Band>,
}

const BUILTIN: &str = include_str!("../../seed/grading_scale.json");

impl Scale {
    /// The built-in default scale (the seed file); used only when the database has none.
    pub fn builtin() -> Scale {
        serde_json::from_str::<Scale>(BUILTIN)
            .map(Scale::sorted)
            .unwrap_or_else(|_| Scale {
                id: None,
                name: "default".into(),
                pass_mark: 60.0,
                bands: vec![Band {
                    min_score: 0.0,
                    letter: "-".into(),
                    points: 0.0,
                }],
            })
    }

    pub(crate) fn sorted(mut self) -> Scale {
        self.bands
            .sort_by(|a, b| b.min_score.total_cmp(&a.min_score));
        self
    }

    /// The band a score falls in: the first band (from the top) whose minimum it reaches.
    pub fn band(&self, score: f64) -> (String, f64) {
        self.bands
            .iter()
            .find(|b| score >= b.min_score)
            .or(self.bands.last())
            .map(|b| (b.letter.clone(), b.points))
            .unwrap_or_else(|| ("-".into(), 0.0))
    }

    pub fn passes(&self, score: f64) -> bool {
        score >= self.pass_mark
    }

    /// Checks a scale an administrator defines: a name, a pass mark in range, bands with
    /// distinct minimums in 0–100 and points in 0–5, one of them starting at 0.
    /// A refusal is 422 `invalid_scale` with its `why` (and the band's letter).
    pub fn validate(&self) -> AppResult<()> {
        if self.name.trim().is_empty() {
            return Err(invalid("no_name", "the scale needs a name".into()));
        }
        if !(0.0..=100.0).contains(&self.pass_mark) {
            return Err(invalid(
                "pass_mark_range",
                "the pass mark must be between 0 and 100".into(),
            ));
        }
        if self.bands.is_empty() {
            return Err(invalid(
                "no_bands",
                "the scale needs at least one band".into(),
            ));
        }
        for b in &self.bands {
            if !(0.0..=100.0).contains(&b.min_score) || !b.min_score.is_finite() {
                return Err(invalid(
                    "band_min",
                    format!("band {}: minimum score must be 0–100", b.letter),
                )
                .arg("band", &b.letter));
            }
            if !(0.0..=5.0).contains(&b.points) || b.letter.trim().is_empty() {
                return Err(invalid(
                    "band_points",
                    format!("band {}: needs a letter and 0–5 points", b.letter),
                )
                .arg("band", &b.letter));
            }
        }
        let mut mins: Vec<f64> = self.bands.iter().map(|b| b.min_score).collect();
        mins.sort_by(f64::total_cmp);
        if mins.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid(
                "same_min",
                "two bands share a minimum score".into(),
            ));
        }
        if mins.first() != Some(&0.0) {
            return Err(invalid("start_at_zero", "one band must start at 0".into()));
        }
        Ok(())
    }
}

/// A scale refused, with why (`error.code.invalid_scale.<why>`).
pub fn invalid(why: &'static str, message: String) -> AppError {
    AppError::unprocessable("invalid_scale", message).arg("why", why)
}

async fn load(db: &impl ConnectionTrait, scale: grading_scales::Model) -> AppResult<Scale> {
    let bands = grading_bands::Entity::find()
        .filter(grading_bands::Column::ScaleId.eq(scale.id))
        .order_by_desc(grading_bands::Column::MinScore)
        .all(db)
        .await?;
    Ok(Scale {
        id: Some(scale.id),
        name: scale.name,
        pass_mark: scale.pass_mark,
        bands: bands
            .into_iter()
            .map(|b| Band {
                min_score: b.min_score,
                letter: b.letter,
                points: b.points,
            })
            .collect(),
    }
    .sorted())
}

/// The default scale of the installation.
pub async fn default_scale(db: &impl ConnectionTrait) -> AppResult<Scale> {
    match grading_scales::Entity::find()
        .filter(grading_scales::Column::IsDefault.eq(true))
        .order_by_asc(grading_scales::Column::Id)
        .one(db)
        .await?
    {
        Some(s) => load(db, s).await,
        None => Ok(Scale::builtin()),
    }
}

/// The scale a section is graded on.
pub async fn for_section(db: &impl ConnectionTrait, scale_id: Option<i64>) -> AppResult<Scale> {
    if let Some(id) = scale_id
        && let Some(s) = grading_scales::Entity::find_by_id(id).one(db).await?
    {
        return load(db, s).await;
    }
    default_scale(db).await
}

/// Every scale, default first.
pub async fn all(db: &impl ConnectionTrait) -> AppResult<Vec<Scale>> {
    let mut out = Vec::new();
    for s in grading_scales::Entity::find()
        .order_by_desc(grading_scales::Column::IsDefault)
        .order_by_asc(grading_scales::Column::Id)
        .all(db)
        .await?
    {
        out.push(load(db, s).await?);
    }
    Ok(out)
}

/// Creates a scale (one transaction, audited); `make_default` moves the default flag to it.
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    actor: i64,
    scale: &Scale,
    make_default: bool,
) -> AppResult<Scale> {
    use sea_orm::{ActiveModelTrait, Set};
    scale.validate()?;
    let txn = crate::db::write_txn(db).await?;
    if grading_scales::Entity::find()
        .filter(grading_scales::Column::Name.eq(scale.name.trim()))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "scale_exists",
            "a scale with this name already exists",
        ));
    }
    if make_default {
        grading_scales::Entity::update_many()
            .col_expr(
                grading_scales::Column::IsDefault,
                sea_orm::sea_query::Expr::value(false),
            )
            .exec(&txn)
            .await?;
    }
    let row = grading_scales::ActiveModel {
        name: Set(scale.name.trim().to_string()),
        pass_mark: Set(scale.pass_mark),
        is_default: Set(make_default),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for b in &scale.bands {
        grading_bands::ActiveModel {
            scale_id: Set(row.id),
            min_score: Set(b.min_score),
            letter: Set(b.letter.trim().to_string()),
            points: Set(b.points),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    crate::audit::Entry::new(Some(actor), "grades.scale.create", "grading_scale")
        .id(row.id)
        .detail(serde_json::json!({"name": row.name, "pass_mark": row.pass_mark, "default": make_default}))
        .write(&txn)
        .await?;
    let out = load(&txn, row).await?;
    txn.commit().await?;
    Ok(out)
}
