//! Plain-word reasons from a model's signed contributions ("average assessment score this term
//! 48, down from 71 last term"), in both languages, stored with each flag.

use super::features::{
    ACTIVITY_PER_WEEK, ACTIVITY_TREND, ATTENDANCE_RATE, DAYS_SINCE_ACTIVITY, FEATURES, GPA_TREND,
    HAS_HISTORY, LAST_TERM_SCORE, PRIOR_GPA, REGISTERED_DAY, TERM_SCORE,
};
use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reason {
    pub feature: String,
    pub value: f64,
    pub contribution: f64,
    pub zh: String,
    pub en: String,
}

fn fill(lang: Lang, key: &str, v: &str, w: &str) -> String {
    lang.t(&format!("mining.reason.{key}"))
        .replace("{v}", v)
        .replace("{w}", w)
}

/// Features that count events (failures, drops, late work, holds): a count of zero is never a
/// reason, whatever its weight in the model.
const COUNTS: [&str; 10] = [
    "recent_absences",
    "prior_attempts",
    "first_missed",
    "prior_failed",
    "prior_dropped",
    "term_missed",
    "term_late",
    "term_changes",
    "term_waitlists",
    "holds",
];

/// Neutral facts: true of at-risk and thriving students alike, so never offered as a reason
/// (credits taken, contacts with staff, a missing history, a GPA that went up, how far the
/// term's assessments have got).
const NEUTRAL: [&str; 5] = [
    "weight_seen",
    "credits_attempted",
    "credits_earned",
    "contacts",
    "has_history",
];

/// One feature of `row` in words, in `lang`; None for features that say nothing on their own:
/// neutral facts, and counts of zero.
pub fn describe(lang: Lang, feature: usize, row: &[f64]) -> Option<String> {
    let v = *row.get(feature)?;
    let name = *FEATURES.get(feature)?;
    if NEUTRAL.contains(&name) || (COUNTS.contains(&name) && v < 0.5) {
        return None;
    }
    let has_history = row.get(HAS_HISTORY).copied().unwrap_or(0.0) > 0.5;
    let int = |x: f64| format!("{x:.0}");
    let text = match feature {
        PRIOR_GPA if has_history => fill(lang, "prior_gpa", &format!("{v:.2}"), ""),
        GPA_TREND if has_history && v < -0.005 => fill(lang, "gpa_down", &format!("{:.2}", -v), ""),
        TERM_SCORE => {
            let last = row.get(LAST_TERM_SCORE).copied().unwrap_or(0.0);
            if has_history && last > v + 0.5 {
                fill(lang, "term_score_down", &int(v), &int(last))
            } else {
                fill(lang, "term_score", &int(v), "")
            }
        }
        LAST_TERM_SCORE if has_history => fill(lang, "last_term_score", &int(v), ""),
        // NOTE: full attendance, rising activity, registering early or a platform visit this
        // week are never reasons, whatever the model's weight on them.
        ATTENDANCE_RATE if v < 99.5 => fill(lang, "attendance_rate", &int(v), ""),
        ACTIVITY_TREND if v <= -5.0 => fill(lang, "activity_down", &int(-v), ""),
        REGISTERED_DAY if v >= 0.5 => fill(lang, "registered_day", &int(v), ""),
        DAYS_SINCE_ACTIVITY if v >= 7.0 => fill(lang, "days_since_activity", &int(v), ""),
        ACTIVITY_PER_WEEK if v < 0.5 => fill(lang, "activity_none", "", ""),
        i if i < FEATURES.len()
            && !matches!(
                i,
                PRIOR_GPA
                    | GPA_TREND
                    | HAS_HISTORY
                    | LAST_TERM_SCORE
                    | ATTENDANCE_RATE
                    | ACTIVITY_TREND
                    | REGISTERED_DAY
                    | DAYS_SINCE_ACTIVITY
            ) =>
        {
            fill(lang, FEATURES[i], &int(v), "")
        }
        _ => return None,
    };
    Some(text)
}

/// The top `n` factors that raise the risk (positive contributions), in words.
pub fn top_reasons(contributions: &[(usize, f64)], row: &[f64], n: usize) -> Vec<Reason> {
    contributions
        .iter()
        .filter(|(_, c)| *c > 0.0)
        .filter_map(|&(i, c)| {
            Some(Reason {
                feature: FEATURES.get(i)?.to_string(),
                value: row.get(i).copied()?,
                contribution: c,
                zh: describe(Lang::Zh, i, row)?,
                en: describe(Lang::En, i, row)?,
            })
        })
        .take(n)
        .collect()
}

/// What is stored in a flag's `reasons` column.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FlagDetail {
    pub factors: Vec<Reason>,
    pub features: Vec<f64>,
    pub traits: Vec<String>,
    /// The leaving model's verdict; None when the run had no leaving model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave: Option<LeaveDetail>,
}

/// The leaving model's score of one student (see `features::leaves`), stored in the flag's
/// `reasons` JSON next to the risk factors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LeaveDetail {
    /// 0–100: the model's probability, in percent, that the student leaves before next term.
    pub score: f64,
    /// low, medium or high (`MiningSettings::leave_level`, as set when the run scored it).
    pub level: String,
    /// The factors behind the score (medium and high only).
    #[serde(default)]
    pub factors: Vec<Reason>,
}
