//! The lifecycle over time, from the stored transitions: each student's stage at the end of
//! every term (the last transition on or before that day), the funnel new → forming → stable,
//! and the recovery rate (declining → stable) of episodes with and without a care intervention
//! (an intervention dated from the day the student became declining until they left that stage,
//! or today).

use super::scope::Reach;
use super::transitions::all_in;
use crate::entity::terms;
use crate::error::AppResult;
use crate::students::lifecycle::Stage;
use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde::Serialize;
use std::collections::HashMap;

/// Stage counts at the end of one term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TermStages {
    pub term_code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Students per stage code, in `Stage::ALL` order.
    pub counts: Vec<i64>,
}

/// The funnel: students ever new, of them later forming, of them later stable.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Funnel {
    pub new: i64,
    pub forming: i64,
    pub stable: i64,
}

/// Declining episodes and how many ended in stable, with and without care.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Recovery {
    pub with_care: i64,
    pub with_care_recovered: i64,
    pub without_care: i64,
    pub without_care_recovered: i64,
}

impl Recovery {
    pub fn rate(recovered: i64, of: i64) -> Option<f64> {
        (of > 0).then(|| (recovered as f64 / of as f64 * 1000.0).round() / 10.0)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LifecycleReport {
    pub terms: Vec<TermStages>,
    pub funnel: Funnel,
    pub recovery: Recovery,
}

fn stage_index(code: &str) -> Option<usize> {
    Stage::ALL.iter().position(|s| s.code() == code)
}

pub async fn report(db: &impl ConnectionTrait, reach: Reach) -> AppResult<LifecycleReport> {
    let today = Utc::now().date_naive();
    let all_terms: Vec<terms::Model> = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .filter(|t| t.starts_on <= today)
        .collect();
    let rows = all_in(db, reach).await?;
    let mut by_student: Vec<(i64, Vec<(String, NaiveDate)>)> = Vec::new();
    for (id, to, at) in rows {
        if by_student.last().is_none_or(|(s, _)| *s != id) {
            by_student.push((id, Vec::new()));
        }
        if let Some((_, v)) = by_student.last_mut() {
            v.push((to, at.date_naive()));
        }
    }
    let mut terms_out: Vec<TermStages> = all_terms
        .iter()
        .map(|t| TermStages {
            term_code: t.code.clone(),
            name_zh: t.name_zh.clone(),
            name_en: t.name_en.clone(),
            counts: vec![0; Stage::ALL.len()],
        })
        .collect();
    let mut funnel = Funnel::default();
    for (_, history) in &by_student {
        for (i, t) in all_terms.iter().enumerate() {
            let end = t.ends_on.min(today);
            if let Some(idx) = history
                .iter()
                .rev()
                .find(|(_, d)| *d <= end)
                .and_then(|(s, _)| stage_index(s))
            {
                terms_out[i].counts[idx] += 1;
            }
        }
        let pos = |code: &str, after: usize| {
            history
                .iter()
                .enumerate()
                .skip(after)
                .find(|(_, (s, _))| s == code)
                .map(|(i, _)| i)
        };
        if let Some(n) = pos("new", 0) {
            funnel.new += 1;
            if let Some(f) = pos("forming", n) {
                funnel.forming += 1;
                if pos("stable", f).is_some() {
                    funnel.stable += 1;
                }
            }
        }
    }
    let care = interventions(db, reach).await?;
    let mut recovery = Recovery::default();
    for (id, history) in &by_student {
        for (i, (stage, from)) in history.iter().enumerate() {
            if stage != "declining" {
                continue;
            }
            let next = history.get(i + 1);
            let until = next.map_or(today, |(_, d)| *d);
            let recovered = next.is_some_and(|(s, _)| s == "stable");
            let cared = care
                .get(id)
                .is_some_and(|days| days.iter().any(|d| d >= from && *d <= until));
            match (cared, recovered) {
                (true, r) => {
                    recovery.with_care += 1;
                    recovery.with_care_recovered += i64::from(r);
                }
                (false, r) => {
                    recovery.without_care += 1;
                    recovery.without_care_recovered += i64::from(r);
                }
            }
        }
    }
    Ok(LifecycleReport {
        terms: terms_out,
        funnel,
        recovery,
    })
}

/// The days of each student's interventions, for the students in `reach`.
async fn interventions(
    db: &impl ConnectionTrait,
    reach: Reach,
) -> AppResult<HashMap<i64, Vec<NaiveDate>>> {
    let rows = super::sql::rows(
        db,
        "SELECT i.student_id, i.happened_on FROM interventions i \
         JOIN students st ON st.id = i.student_id WHERE (? = 1 OR st.advisor_id = ?)",
        reach.values(),
    )
    .await?;
    let mut out: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get_by_index(0)?)
            .or_default()
            .push(r.try_get_by_index(1)?);
    }
    Ok(out)
}
