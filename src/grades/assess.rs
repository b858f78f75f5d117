//! Assessments of a section (homework, midterm, final…) with weights and due dates, their
//! scores, and the final score computed from them.
//!
//! Weights are normalised: the final score is Σ wᵢ·(scoreᵢ / maxᵢ × 100) / Σ wᵢ, so weights
//! may be given as fractions (0.3) or percentages (30); the API reports `weight_total` and the
//! page warns when percentages do not add up to 100. A missing score counts as 0.

use super::types::{EntryIn, Labels, RowError, Section};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{assessment_scores, assessments, enrolments, mirror_row, students};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

mirror_row! {
    /// An assessment of a section: its weight in the final score, due date and full marks.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct AssessmentView from assessments::Model {
        pub id: i64,
        pub section_id: i64,
        pub name: String,
        pub weight: f64,
        pub due_at: Option<DateTime<FixedOffset>>,
        pub max_score: f64,
    }
}

pub async fn list(db: &impl ConnectionTrait, section_id: i64) -> AppResult<Vec<AssessmentView>> {
    Ok(assessments::Entity::find()
        .filter(assessments::Column::SectionId.eq(section_id))
        .order_by_asc(assessments::Column::DueAt)
        .order_by_asc(assessments::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(AssessmentView::from)
        .collect())
}

/// What a client sends to create or change an assessment.
#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
pub struct AssessmentIn {
    pub name: Option<String>,
    pub weight: Option<f64>,
    /// RFC 3339 or `YYYY-MM-DD` (end of that day, UTC).
    pub due_at: Option<String>,
    pub max_score: Option<f64>,
}

fn parse_due(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 0))
            .map(|t| t.and_utc().fixed_offset())
    })
}

struct Checked {
    name: String,
    weight: f64,
    due_at: Option<DateTime<FixedOffset>>,
    max_score: f64,
}

fn check(input: &AssessmentIn, old: Option<&assessments::Model>) -> Result<Checked, Vec<String>> {
    let mut errors = Vec::new();
    let name = input
        .name
        .clone()
        .or(old.map(|o| o.name.clone()))
        .unwrap_or_default()
        .trim()
        .to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("name: required, at most 100 characters".to_string());
    }
    let weight = input.weight.or(old.map(|o| o.weight)).unwrap_or(-1.0);
    if !(weight > 0.0 && weight <= 100.0) {
        errors.push("weight: must be greater than 0 and at most 100".to_string());
    }
    let max_score = input
        .max_score
        .or(old.map(|o| o.max_score))
        .unwrap_or(100.0);
    if !(max_score > 0.0 && max_score <= 1000.0) {
        errors.push("max_score: must be greater than 0 and at most 1000".to_string());
    }
    let due_at = match input.due_at.as_deref().map(str::trim) {
        Some("") => None,
        Some(s) => match parse_due(s) {
            Some(d) => Some(d),
            None => {
                errors.push("due_at: not a date (YYYY-MM-DD or RFC 3339)".to_string());
                None
            }
        },
        None => old.and_then(|o| o.due_at),
    };
    if errors.is_empty() {
        Ok(Checked {
            name,
            weight,
            due_at,
            max_score,
        })
    } else {
        Err(errors)
    }
}

/// Creates (`id` None) or updates an assessment of the section; audited.
pub async fn save(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    section: &Section,
    id: Option<i64>,
    input: &AssessmentIn,
) -> AppResult<AssessmentView> {
    let txn = write_txn(db).await?;
    let old = match id {
        Some(id) => Some(
            assessments::Entity::find_by_id(id)
                .filter(assessments::Column::SectionId.eq(section.model.id))
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let c = check(input, old.as_ref())
        .map_err(|e| AppError::unprocessable("invalid_assessment", e.join("; ")))?;
    let mut am = match &old {
        Some(o) => assessments::ActiveModel {
            id: Set(o.id),
            ..Default::default()
        },
        None => assessments::ActiveModel {
            section_id: Set(section.model.id),
            ..Default::default()
        },
    };
    am.name = Set(c.name);
    am.weight = Set(c.weight);
    am.due_at = Set(c.due_at);
    am.max_score = Set(c.max_score);
    let saved = if old.is_some() {
        am.update(&txn).await?
    } else {
        am.insert(&txn).await?
    };
    let view = AssessmentView::from(saved);
    Entry::new(
        Some(user.id),
        if old.is_some() {
            "grades.assessment.update"
        } else {
            "grades.assessment.create"
        },
        "assessment",
    )
    .id(view.id)
    .change(
        old.map(|o| json!(AssessmentView::from(o)))
            .unwrap_or_default(),
        json!(view),
    )
    .write(&txn)
    .await?;
    txn.commit().await?;
    Ok(view)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScoreView {
    pub student_id: i64,
    pub student_no: String,
    pub score: Option<f64>,
    pub status: String,
}

pub async fn scores(db: &impl ConnectionTrait, assessment_id: i64) -> AppResult<Vec<ScoreView>> {
    type Row = (i64, String, Option<f64>, String);
    let rows: Vec<Row> = assessment_scores::Entity::find()
        .select_only()
        .column(assessment_scores::Column::StudentId)
        .column(students::Column::StudentNo)
        .column(assessment_scores::Column::Score)
        .column(assessment_scores::Column::Status)
        .inner_join(students::Entity)
        .filter(assessment_scores::Column::AssessmentId.eq(assessment_id))
        .order_by_asc(students::Column::StudentNo)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(student_id, student_no, score, status)| ScoreView {
            student_id,
            student_no,
            score,
            status,
        })
        .collect())
}

/// Enters the scores of one assessment (one transaction, all rows checked first): a score in
/// 0–max, or null for a missing submission.
pub async fn save_scores(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    section: &Section,
    assessment_id: i64,
    rows: &[EntryIn],
    labels: &Labels,
) -> AppResult<Result<usize, Vec<RowError>>> {
    let txn = write_txn(db).await?;
    let a = assessments::Entity::find_by_id(assessment_id)
        .filter(assessments::Column::SectionId.eq(section.model.id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let people: Vec<(i64, String, String, String)> = enrolments::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .column(students::Column::StudentNo)
        .column(students::Column::NameZh)
        .column(students::Column::NameEn)
        .inner_join(students::Entity)
        .filter(enrolments::Column::SectionId.eq(section.model.id))
        .filter(enrolments::Column::Status.eq("enrolled"))
        .into_tuple()
        .all(&txn)
        .await?;
    let zh = labels.lang == crate::i18n::Lang::Zh;
    let roster: HashMap<&str, i64> = people
        .iter()
        .map(|(id, no, _, _)| (no.as_str(), *id))
        .collect();
    let by_id: HashMap<i64, (&str, &str)> = people
        .iter()
        .map(|(id, no, nz, ne)| {
            (
                *id,
                (no.as_str(), if zh { nz.as_str() } else { ne.as_str() }),
            )
        })
        .collect();
    let mut errors = Vec::new();
    let mut ok: Vec<(i64, Option<f64>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        let student = r.student_id.filter(|i| by_id.contains_key(i)).or_else(|| {
            r.student_no
                .as_deref()
                .and_then(|n| roster.get(n.trim()).copied())
        });
        let (no, name) = match student.and_then(|id| by_id.get(&id)) {
            Some(&(no, name)) => (no.to_string(), name.to_string()),
            None => (
                r.student_no
                    .clone()
                    .or(r.student_id.map(|i| format!("#{i}")))
                    .unwrap_or_default(),
                String::new(),
            ),
        };
        let e = |column: &str, code: &str, reason: String| {
            labels.error(r.line, column, &no, &name, code, reason)
        };
        let Some(id) = student else {
            errors.push(e(
                "student_no",
                "not_in_section",
                labels.say("grades.err.not_in_section", &[("student", no.clone())]),
            ));
            continue;
        };
        if !seen.insert(id) {
            errors.push(e(
                "student_no",
                "duplicate",
                labels.say(
                    "grades.err.duplicate_plain",
                    &[("student", format!("{no} {name}"))],
                ),
            ));
            continue;
        }
        let score = match &r.score {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => match v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(x) if x.is_finite() && (0.0..=a.max_score).contains(&x) => Ok(Some(x)),
                _ => Err(labels.say(
                    "grades.err.assessment_range",
                    &[("max", a.max_score.to_string())],
                )),
            },
        };
        match score {
            Ok(s) => ok.push((id, s)),
            Err(reason) => errors.push(e("score", "invalid_score", reason)),
        }
    }
    if !errors.is_empty() {
        txn.rollback().await?;
        return Ok(Err(errors));
    }
    let now = Utc::now().fixed_offset();
    let existing: HashMap<i64, i64> = assessment_scores::Entity::find()
        .select_only()
        .column(assessment_scores::Column::StudentId)
        .column(assessment_scores::Column::Id)
        .filter(assessment_scores::Column::AssessmentId.eq(a.id))
        .into_tuple::<(i64, i64)>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    for (student, score) in &ok {
        let status = if score.is_some() {
            "submitted"
        } else {
            "missing"
        };
        match existing.get(student) {
            Some(id) => {
                assessment_scores::ActiveModel {
                    id: Set(*id),
                    score: Set(*score),
                    status: Set(status.into()),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .update(&txn)
                .await?;
            }
            None => {
                assessment_scores::ActiveModel {
                    assessment_id: Set(a.id),
                    student_id: Set(*student),
                    score: Set(*score),
                    status: Set(status.into()),
                    submitted_at: Set(score.map(|_| now)),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    Entry::new(Some(user.id), "grades.assessment.scores", "assessment")
        .id(a.id)
        .detail(json!({"rows": ok.len()}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(Ok(ok.len()))
}

/// The weighted final score of one student from (weight, max, score) triples; `None` when
/// there are no assessments or the weights sum to zero.
pub fn weighted(parts: &[(f64, f64, Option<f64>)]) -> Option<f64> {
    let total: f64 = parts.iter().map(|p| p.0).sum();
    if parts.is_empty() || total <= 0.0 {
        return None;
    }
    let sum: f64 = parts
        .iter()
        .map(|&(w, max, s)| w * s.unwrap_or(0.0) / max.max(1e-9) * 100.0)
        .sum();
    Some(((sum / total) * 10.0).round() / 10.0)
}

/// Whether weights given as percentages (100) or fractions (1) are complete.
pub fn weights_complete(total: f64) -> bool {
    (total - 100.0).abs() < 1e-6 || (total - 1.0).abs() < 1e-9
}

/// A student's score computed from the assessments, with how much of it is known: an
/// assessment counts as assessed once its score is recorded (a missing submission included).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Computed {
    pub score: f64,
    pub assessed: usize,
    pub of: usize,
    /// The share of the total weight that is assessed, in percent (one decimal).
    pub weight_pct: f64,
}

impl Computed {
    pub fn complete(&self) -> bool {
        self.assessed == self.of
    }
}

/// The computed score of every student with at least one recorded score, in two queries.
pub async fn computed(
    db: &impl ConnectionTrait,
    section_id: i64,
) -> AppResult<HashMap<i64, Computed>> {
    let list = assessments::Entity::find()
        .filter(assessments::Column::SectionId.eq(section_id))
        .all(db)
        .await?;
    if list.is_empty() {
        return Ok(HashMap::new());
    }
    let idx: HashMap<i64, usize> = list.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    let mut per: HashMap<i64, Vec<Option<Option<f64>>>> = HashMap::new();
    let rows: Vec<(i64, i64, Option<f64>)> = assessment_scores::Entity::find()
        .select_only()
        .column(assessment_scores::Column::StudentId)
        .column(assessment_scores::Column::AssessmentId)
        .column(assessment_scores::Column::Score)
        .filter(
            assessment_scores::Column::AssessmentId
                .is_in(list.iter().map(|a| a.id).collect::<Vec<_>>()),
        )
        .into_tuple()
        .all(db)
        .await?;
    for (student, aid, score) in rows {
        if let Some(&i) = idx.get(&aid) {
            per.entry(student).or_insert_with(|| vec![None; list.len()])[i] = Some(score);
        }
    }
    let total: f64 = list.iter().map(|a| a.weight).sum();
    Ok(per
        .into_iter()
        .filter_map(|(student, recorded)| {
            let parts: Vec<(f64, f64, Option<f64>)> = list
                .iter()
                .zip(&recorded)
                .map(|(a, s)| (a.weight, a.max_score, s.flatten()))
                .collect();
            let covered: f64 = list
                .iter()
                .zip(&recorded)
                .filter(|(_, s)| s.is_some())
                .map(|(a, _)| a.weight)
                .sum();
            weighted(&parts).map(|w| {
                let c = Computed {
                    score: w,
                    assessed: recorded.iter().filter(|s| s.is_some()).count(),
                    of: list.len(),
                    weight_pct: if total > 0.0 {
                        (covered / total * 1000.0).round() / 10.0
                    } else {
                        0.0
                    },
                };
                (student, c)
            })
        })
        .collect())
}

/// Final scores computed from the assessments for every student with at least one score.
pub async fn computed_scores(
    db: &impl ConnectionTrait,
    section_id: i64,
) -> AppResult<HashMap<i64, f64>> {
    Ok(computed(db, section_id)
        .await?
        .into_iter()
        .map(|(k, c)| (k, c.score))
        .collect())
}
