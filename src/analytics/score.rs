//! The two scores of the value matrix, computed from one student's [`Inputs`]: plain numbers
//! about their studies and their contact with the university. `Inputs` has no field for gender,
//! birth date, region or disability, so no protected attribute can enter a score (a test also
//! changes them and compares).
//!
//! Each component is a share between 0 and 1 (None when the student has no data for it):
//! - standing: `gpa` = cumulative GPA / 4; `trend` = ½ + (last term GPA − the one before) / 2;
//!   `credits` = credits earned / credits the plan expects by now; `attendance` = 1 − absences /
//!   meetings whose roll was taken; `submissions` = due assessments submitted on time / due;
//! - relationship: `contacts` = interventions / 2; `messages` = (messages sent + cases raised)
//!   / 4; `feedback` = course feedback given / sections where it was collected; `satisfaction` =
//!   (mean case rating − 1) / 4; `risk` = 1 − leaving risk / 100 (the latest finished run);
//!
//! all capped at 1. A score is the weighted mean of the components present, × 100 (50 when
//! none is).

use super::settings::{ValueSettings, Weights, cell_of};
use serde::{Deserialize, Serialize};

/// What the scores are computed from, for one student in one term.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub student_id: i64,
    pub gpa: Option<f64>,
    pub gpa_change: Option<f64>,
    pub credits_earned: f64,
    pub credits_planned: f64,
    pub meetings: i64,
    pub absences: i64,
    pub due: i64,
    pub on_time: i64,
    pub contacts: i64,
    pub messages: i64,
    pub cases: i64,
    pub feedback_given: i64,
    pub feedback_possible: i64,
    pub rating: Option<f64>,
    /// The leaving risk (0–100) of the latest finished mining run, if it scored the student.
    pub leave_risk: Option<f64>,
}

/// The components (0–1 each, None without data), stored with the row and shown as the "why".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Components {
    pub gpa: Option<f64>,
    pub trend: Option<f64>,
    pub credits: Option<f64>,
    pub attendance: Option<f64>,
    pub submissions: Option<f64>,
    pub contacts: Option<f64>,
    pub messages: Option<f64>,
    pub feedback: Option<f64>,
    pub satisfaction: Option<f64>,
    pub risk: Option<f64>,
}

impl Components {
    pub fn get(&self, name: &str) -> Option<f64> {
        super::settings::component!(self, name, None)
    }
}

/// One student's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub student_id: i64,
    pub standing: f64,
    pub relationship: f64,
    pub cell: &'static str,
    pub components: Components,
}

fn share(n: f64, d: f64) -> Option<f64> {
    (d > 0.0).then(|| (n / d).clamp(0.0, 1.0))
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

pub fn components(i: &Inputs) -> Components {
    let r = |v: Option<f64>| v.map(round4);
    Components {
        gpa: r(i.gpa.map(|g| (g / 4.0).clamp(0.0, 1.0))),
        trend: r(i.gpa_change.map(|d| (0.5 + d / 2.0).clamp(0.0, 1.0))),
        credits: r(share(i.credits_earned, i.credits_planned)),
        attendance: r(share(
            (i.meetings - i.absences.min(i.meetings)) as f64,
            i.meetings as f64,
        )),
        submissions: r(share(i.on_time as f64, i.due as f64)),
        contacts: r(Some((i.contacts as f64 / 2.0).min(1.0))),
        messages: r(Some(((i.messages + i.cases) as f64 / 4.0).min(1.0))),
        feedback: r(share(i.feedback_given as f64, i.feedback_possible as f64)),
        satisfaction: r(i.rating.map(|x| ((x - 1.0) / 4.0).clamp(0.0, 1.0))),
        risk: r(i.leave_risk.map(|x| (1.0 - x / 100.0).clamp(0.0, 1.0))),
    }
}

/// The weighted mean of the present components among `names`, × 100, one decimal.
fn weighted(c: &Components, w: &Weights, names: &[&str]) -> f64 {
    let (sum, weight) = names
        .iter()
        .filter_map(|n| c.get(n).map(|v| (v * w.get(n), w.get(n))))
        .fold((0.0, 0.0), |(s, t), (v, x)| (s + v, t + x));
    if weight <= 0.0 {
        50.0
    } else {
        (sum / weight * 1000.0).round() / 10.0
    }
}

/// Scores one student.
pub fn score(i: &Inputs, s: &ValueSettings) -> Scored {
    let c = components(i);
    let standing = weighted(&c, &s.weights, &Weights::STANDING);
    let relationship = weighted(&c, &s.weights, &Weights::RELATIONSHIP);
    Scored {
        student_id: i.student_id,
        standing,
        relationship,
        cell: cell_of(standing, relationship, s),
        components: c,
    }
}
