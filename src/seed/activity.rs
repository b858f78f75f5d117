//! The demo's learning-platform activity: for every enrolment, one count per complete week of
//! the term (stored on the week's last day), drawn from the student's engagement that term.
//! A declining student's activity falls over the first weeks of the term their decline begins
//! (and stays low after), so the early warning has something to see by week 4, as it would in
//! a learning platform's logs. Some students with a good record begin to disengage in the
//! current term ([`disengage_now`]): only this term's signals can tell them apart. Drawn from
//! its own random stream, after the simulation, so the rest of the demo is the same with or
//! without it.

use super::calendar::{Calendar, TERMS};
use super::catalog::Catalog;
use super::people::Status;
use super::rng::{logistic, normal};
use super::simulate::{ASSESSMENTS, EnrolStatus, University, WeekActivity, draw_score};
use chrono::Duration;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Weeks over which a decline beginning this term takes the student from their usual
/// engagement to the declined one.
const DECLINE_WEEKS: f64 = 2.0;

/// Share of the current term's active students without a decline who begin one now.
const NEW_DECLINE_SHARE: f64 = 0.05;

/// Makes a few active students of the current term, none of them declining yet, begin to
/// decline in it (the decline's usual size), and draws their current-term scores so far again
/// with the declined engagement, as the simulation does for a decline in a past term. From here
/// on their attendance and activity follow the decline too.
pub fn disengage_now(uni: &mut University, cat: &Catalog, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xDEC1_0005);
    let current = TERMS as i64;
    let mut studying = vec![false; uni.students.len()];
    for e in &uni.enrolments {
        let in_current = uni
            .sections
            .get(e.section as usize)
            .is_some_and(|s| s.term as i64 + 1 == current);
        if in_current
            && e.status == EnrolStatus::Enrolled
            && let Some(slot) = studying.get_mut(e.student as usize)
        {
            *slot = true;
        }
    }
    let mut chosen = vec![false; uni.students.len()];
    for ((st, studies), pick) in uni.students.iter_mut().zip(studying).zip(&mut chosen) {
        if studies
            && st.status == Status::Active
            && st.decline.is_none()
            && st.left.is_none()
            && rng.random_bool(NEW_DECLINE_SHARE)
        {
            st.decline = Some((current, rng.random_range(1.2..2.2)));
            *pick = true;
        }
    }
    let University {
        students,
        sections,
        assessments,
        scores,
        ..
    } = uni;
    for sc in scores.iter_mut() {
        let (Some(st), Some(a)) = (
            students.get(sc.student as usize),
            assessments.get(sc.assessment as usize),
        ) else {
            continue;
        };
        let Some(sec) = sections.get(a.section as usize) else {
            continue;
        };
        if !chosen[sc.student as usize] || sec.term as i64 + 1 != current {
            continue;
        }
        let difficulty = cat.courses.get(sec.course).map_or(3.0, |c| c.difficulty);
        let kind = ASSESSMENTS[a.kind].2;
        let (status, score, offset) = draw_score(
            kind,
            st,
            st.engagement_in(current),
            difficulty,
            0.0,
            &mut rng,
        );
        sc.status = status;
        sc.score = score;
        sc.submitted_offset_min = offset;
    }
}

/// The activity of every enrolment (enrolled, or dropped: until the drop) in every complete
/// week up to the calendar's today; a student who left stops at the day they left.
pub fn generate(cal: &Calendar, uni: &University, seed: u64) -> Vec<WeekActivity> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xAC71_0001);
    let today = cal.now.date_naive();
    // A per-student habit (some use the platform more whatever their engagement).
    let habit: Vec<f64> = uni
        .students
        .iter()
        .map(|_| 0.35 * normal(&mut rng))
        .collect();
    let mut out = Vec::new();
    for e in &uni.enrolments {
        if e.status == EnrolStatus::Waitlisted {
            continue;
        }
        let (Some(st), Some(sec)) = (
            uni.students.get(e.student as usize),
            uni.sections.get(e.section as usize),
        ) else {
            continue;
        };
        let Some(term) = cal.terms.get(sec.term) else {
            continue;
        };
        let seq = term.seq;
        let joined = e.created_at.date_naive();
        let until = [
            Some(term.ends_on),
            Some(today - Duration::days(1)),
            e.dropped_at.map(|d| d.date_naive()),
            st.left
                .filter(|(s, _)| *s == seq)
                .map(|(_, at)| at.date_naive()),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(term.ends_on);
        let course_effect = 0.2 * normal(&mut rng);
        let mut week = 0;
        loop {
            let first = term.starts_on + Duration::days(7 * week);
            let last = first + Duration::days(6);
            if last > until {
                break;
            }
            week += 1;
            if last < joined {
                continue;
            }
            let eng = match st.decline {
                Some((from, _)) if from == seq => {
                    let t = ((week - 1) as f64 / DECLINE_WEEKS).min(1.0);
                    st.engagement + t * (st.engagement_in(seq) - st.engagement)
                }
                _ => st.engagement_in(seq),
            };
            // NOTE: a disengaged student has weeks with no activity at all.
            if rng.random_bool(logistic(-2.6 - 1.4 * eng).clamp(0.0, 1.0)) {
                continue;
            }
            let exam_rush = if week >= 16 { 1.3 } else { 1.0 };
            let mean =
                (2.3 + 0.45 * eng + habit[e.student as usize] + course_effect).exp() * exam_rush;
            let draw = mean + mean.sqrt() * normal(&mut rng);
            let count = draw.round().max(1.0) as u32;
            out.push(WeekActivity {
                student: e.student,
                section: e.section,
                day: last,
                count,
            });
        }
    }
    out
}
