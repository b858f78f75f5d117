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
    /// When the analysis store's snapshot this report reads was taken (none: computed now).
    pub taken_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub terms: Vec<TermStages>,
    pub funnel: Funnel,
    pub recovery: Recovery,
}

fn stage_index(code: &str) -> Option<usize> {
    Stage::ALL.iter().position(|s| s.code() == code)
}

/// What one student's stored history says: their stage at the end of each term (an index into
/// `Stage::ALL`), how far they went in the funnel, and each declining episode as (cared for,
/// recovered).
pub struct Walked {
    pub stages: Vec<Option<usize>>,
    pub funnel: [bool; 3],
    pub episodes: Vec<(bool, bool)>,
}

/// Walks each student's transitions (`rows` ordered by student and time) against the terms and
/// the days of their interventions, and hands each student's [`Walked`] to `each`.
pub fn walk(
    all_terms: &[terms::Model],
    today: NaiveDate,
    rows: Vec<(i64, String, chrono::DateTime<chrono::FixedOffset>)>,
    care: &HashMap<i64, Vec<NaiveDate>>,
    mut each: impl FnMut(i64, Walked),
) {
    let mut by_student: Vec<(i64, Vec<(String, NaiveDate)>)> = Vec::new();
    for (id, to, at) in rows {
        if by_student.last().is_none_or(|(s, _)| *s != id) {
            by_student.push((id, Vec::new()));
        }
        if let Some((_, v)) = by_student.last_mut() {
            v.push((to, at.date_naive()));
        }
    }
    for (id, history) in by_student {
        let stages = all_terms
            .iter()
            .map(|t| {
                let end = t.ends_on.min(today);
                history
                    .iter()
                    .rev()
                    .find(|(_, d)| *d <= end)
                    .and_then(|(s, _)| stage_index(s))
            })
            .collect();
        let pos = |code: &str, after: usize| {
            history
                .iter()
                .enumerate()
                .skip(after)
                .find(|(_, (s, _))| s == code)
                .map(|(i, _)| i)
        };
        let new = pos("new", 0);
        let forming = new.and_then(|n| pos("forming", n));
        let stable = forming.and_then(|f| pos("stable", f));
        let mut episodes = Vec::new();
        for (i, (stage, from)) in history.iter().enumerate() {
            if stage != "declining" {
                continue;
            }
            let next = history.get(i + 1);
            let until = next.map_or(today, |(_, d)| *d);
            let recovered = next.is_some_and(|(s, _)| s == "stable");
            let cared = care
                .get(&id)
                .is_some_and(|days| days.iter().any(|d| d >= from && *d <= until));
            episodes.push((cared, recovered));
        }
        each(
            id,
            Walked {
                stages,
                funnel: [new.is_some(), forming.is_some(), stable.is_some()],
                episodes,
            },
        );
    }
}

impl Funnel {
    pub fn add(&mut self, reached: [bool; 3]) {
        self.new += i64::from(reached[0]);
        self.forming += i64::from(reached[1]);
        self.stable += i64::from(reached[2]);
    }
}

impl Recovery {
    pub fn add(&mut self, (cared, recovered): (bool, bool)) {
        if cared {
            self.with_care += 1;
            self.with_care_recovered += i64::from(recovered);
        } else {
            self.without_care += 1;
            self.without_care_recovered += i64::from(recovered);
        }
    }
}

/// The terms that have started by `today`, in order.
pub async fn started_terms(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> AppResult<Vec<terms::Model>> {
    Ok(terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .filter(|t| t.starts_on <= today)
        .collect())
}

pub fn term_stages(all_terms: &[terms::Model]) -> Vec<TermStages> {
    all_terms
        .iter()
        .map(|t| TermStages {
            term_code: t.code.clone(),
            name_zh: t.name_zh.clone(),
            name_en: t.name_en.clone(),
            counts: vec![0; Stage::ALL.len()],
        })
        .collect()
}

/// The report computed from every stored transition in `reach` (what a snapshot of the
/// analysis store holds; the pages read the store).
pub async fn live_report(db: &impl ConnectionTrait, reach: Reach) -> AppResult<LifecycleReport> {
    let today = Utc::now().date_naive();
    let all_terms = started_terms(db, today).await?;
    let rows = all_in(db, reach).await?;
    let care = interventions(db, reach).await?;
    let mut terms_out = term_stages(&all_terms);
    let mut funnel = Funnel::default();
    let mut recovery = Recovery::default();
    walk(&all_terms, today, rows, &care, |_, w| {
        for (i, idx) in w.stages.iter().enumerate() {
            if let Some(idx) = idx {
                terms_out[i].counts[*idx] += 1;
            }
        }
        funnel.add(w.funnel);
        for e in w.episodes {
            recovery.add(e);
        }
    });
    Ok(LifecycleReport {
        taken_at: None,
        terms: terms_out,
        funnel,
        recovery,
    })
}

/// The days of each student's interventions, for the students in `reach`.
pub async fn interventions(
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
