//! The one GPA computation of the portal, used by the transcript, the 360° profile and the
//! lifecycle rules, so the numbers agree everywhere.
//!
//! Rules:
//! - GPA is the credit-weighted mean of grade points: Σ(points × credits) / Σ credits.
//! - Zero-credit courses appear on the transcript but add nothing to any GPA.
//! - Retakes: every attempt is shown. The term GPA of a term counts the attempts taken in that
//!   term (what the student earned then). The cumulative GPA counts only the latest attempt of
//!   each course (by term; within one term, the later grade row); earlier attempts are marked
//!   `superseded` and excluded.

use serde::Serialize;
use std::collections::HashMap;

/// The grade-point average of summed quality points and credits; `None` with no credits.
pub fn gpa(quality_points: f64, credits: f64) -> Option<f64> {
    if credits > 0.0 {
        Some(quality_points / credits)
    } else {
        None
    }
}

/// Two decimals, as transcripts print it.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One graded attempt of one course.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub grade_id: i64,
    pub course_id: i64,
    pub term_seq: i64,
    pub credits: f64,
    pub points: f64,
}

/// GPA of a set of attempts (each counted).
pub fn gpa_of<'a>(attempts: impl IntoIterator<Item = &'a Attempt>) -> Option<f64> {
    let (qp, cr) = attempts
        .into_iter()
        .filter(|a| a.credits > 0.0)
        .fold((0.0, 0.0), |(q, c), a| {
            (q + a.points * a.credits, c + a.credits)
        });
    gpa(qp, cr)
}

/// The grade ids that a later attempt of the same course supersedes.
pub fn superseded(attempts: &[Attempt]) -> Vec<i64> {
    let mut latest: HashMap<i64, (i64, i64)> = HashMap::new();
    for a in attempts {
        let key = (a.term_seq, a.grade_id);
        latest
            .entry(a.course_id)
            .and_modify(|k| {
                if key > *k {
                    *k = key;
                }
            })
            .or_insert(key);
    }
    attempts
        .iter()
        .filter(|a| latest.get(&a.course_id).map(|k| k.1) != Some(a.grade_id))
        .map(|a| a.grade_id)
        .collect()
}

/// Cumulative GPA: the latest attempt of each course counts, zero-credit courses do not.
pub fn cumulative(attempts: &[Attempt]) -> Option<f64> {
    let old = superseded(attempts);
    gpa_of(attempts.iter().filter(|a| !old.contains(&a.grade_id)))
}
