//! The demo's attendance: a roll for every class meeting that has happened (all meetings of
//! past terms, the current term's up to today), and marks only for the exceptions, drawn from
//! each student's engagement in that term: the less engaged miss more, so a declining student
//! misses noticeably more from the first weeks of the term they decline in.
//!
//! NOTE: its own random generator, seeded from the demo's seed, in a pass after the simulation:
//! drawing from the simulation's generator would change every other number of the demo.

use super::calendar::Calendar;
use super::catalog::Catalog;
use super::rng::logistic;
use super::simulate::{EnrolStatus, University};
use crate::attendance::meetings::{self, Pattern};
use crate::attendance::service::{Mark, SOURCE_IMPORT, SOURCE_ROLL};
use crate::entity::{attendance, attendance_rolls};
use crate::error::AppResult;
use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// Mixed into the demo's seed for this pass.
const SALT: u64 = 0xA77E_4DA4_CE00_0001;

/// The generated rolls and exceptions, by the simulation's indices.
#[derive(Default)]
pub struct Attendance {
    /// (section, day)
    pub rolls: Vec<(u32, NaiveDate)>,
    /// (section, student, day, mark)
    pub marks: Vec<(u32, u32, NaiveDate, Mark)>,
}

/// Chances of (absent, late, excused) at one meeting for a student of this engagement.
fn chances(engagement: f64) -> (f64, f64, f64) {
    (
        logistic(-2.6 - 1.1 * engagement),
        logistic(-3.4 - 0.7 * engagement),
        0.01,
    )
}

/// Draws the demo's attendance (CPU work: call it off the async workers).
pub fn generate(cat: &Catalog, cal: &Calendar, uni: &University, seed: u64) -> Attendance {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SALT);
    let today = cal.now.date_naive();
    let mut enrolled: Vec<Vec<u32>> = vec![Vec::new(); uni.sections.len()];
    for e in &uni.enrolments {
        if e.status == EnrolStatus::Enrolled
            && let Some(list) = enrolled.get_mut(e.section as usize)
        {
            list.push(e.student);
        }
    }
    let mut out = Attendance::default();
    for (x, s) in uni.sections.iter().enumerate() {
        let (Some(term), Some(course)) = (cal.terms.get(s.term), cat.courses.get(s.course)) else {
            continue;
        };
        let patterns: Vec<Pattern> = s
            .meetings(course)
            .iter()
            .map(|m| Pattern {
                weekday: m.weekday,
                start_period: m.start_period,
                end_period: m.end_period,
                start_week: m.start_week,
                end_week: m.end_week,
            })
            .collect();
        let days: Vec<NaiveDate> = meetings::dates(term.starts_on, term.ends_on, &patterns)
            .into_iter()
            .filter(|d| *d <= today)
            .collect();
        let students = &enrolled[x];
        for day in days {
            out.rolls.push((x as u32, day));
            for &st in students {
                let Some(student) = uni.students.get(st as usize) else {
                    continue;
                };
                let (absent, late, excused) = chances(student.engagement_in(term.seq));
                let u: f64 = rng.random();
                let mark = if u < absent {
                    Mark::Absent
                } else if u < absent + late {
                    Mark::Late
                } else if u < absent + late + excused {
                    Mark::Excused
                } else {
                    continue;
                };
                out.marks.push((x as u32, st, day, mark));
            }
        }
    }
    out
}

/// Writes the generated attendance inside the demo's transaction; `section` and `student`
/// turn the simulation's indices into ids. Rolls of past terms are marked as imported from the
/// card reader, the current term's as taken in the portal.
pub async fn write(
    txn: &impl ConnectionTrait,
    cal: &Calendar,
    uni: &University,
    att: &Attendance,
    section: &(dyn Fn(u32) -> i64 + Sync),
    student: &(dyn Fn(u32) -> i64 + Sync),
) -> AppResult<u64> {
    let current = |x: u32| {
        uni.sections
            .get(x as usize)
            .and_then(|s| cal.terms.get(s.term))
            .is_some_and(|t| t.is_current)
    };
    let source = |x: u32| {
        if current(x) {
            SOURCE_ROLL
        } else {
            SOURCE_IMPORT
        }
    };
    let at = cal.now;
    for chunk in att.rolls.chunks(500) {
        attendance_rolls::Entity::insert_many(chunk.iter().map(|(x, day)| {
            attendance_rolls::ActiveModel {
                section_id: Set(section(*x)),
                held_on: Set(*day),
                source: Set(source(*x).into()),
                taken_by: Set(None),
                taken_at: Set(at),
                ..Default::default()
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    for chunk in att.marks.chunks(500) {
        attendance::Entity::insert_many(chunk.iter().map(|(x, st, day, mark)| {
            attendance::ActiveModel {
                section_id: Set(section(*x)),
                student_id: Set(student(*st)),
                held_on: Set(*day),
                status: Set(mark.as_str().into()),
                source: Set(source(*x).into()),
                recorded_by: Set(None),
                recorded_at: Set(at),
                ..Default::default()
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    Ok((att.rolls.len() + att.marks.len()) as u64)
}
