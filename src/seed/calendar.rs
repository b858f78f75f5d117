//! The demo's five terms: the current one began four weeks ago, the four before it follow the
//! usual autumn/spring calendar. (Four past terms, so that the mining run's training terms
//! include one where students have two earlier terms of grades, which a GPA trend needs.)

use crate::error::{AppError, AppResult};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// Number of terms; the last is the current one.
pub const TERMS: usize = 5;
/// Days from a term's first to its last day (18 weeks).
const TERM_LENGTH: i64 = 18 * 7 - 1;

pub type Ts = DateTime<FixedOffset>;

pub struct Term {
    pub seq: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub registration_opens_at: Ts,
    pub registration_closes_at: Ts,
    pub add_drop_deadline: Ts,
    pub credit_limit: f64,
    pub is_current: bool,
}

pub struct Calendar {
    pub tz: FixedOffset,
    pub now: Ts,
    /// Index `i` holds the term with seq `i + 1`.
    pub terms: Vec<Term>,
    current_is_autumn: bool,
    current_year: i32,
}

impl Calendar {
    pub fn new(now: DateTime<Utc>) -> AppResult<Self> {
        let tz =
            FixedOffset::east_opt(8 * 3600).ok_or_else(|| AppError::internal("bad time zone"))?;
        // NOTE: four weeks before today's date on the server's clock (UTC), as the mining run
        // reads a term's start (its date at 00:00 UTC): from the campus date (+08:00) the
        // current term began 27 days ago every evening from 16:00 UTC, in week 4, not 5.
        let current_start = now.date_naive() - Duration::days(28);
        let now = now.with_timezone(&tz);
        let month = current_start.month();
        let current_is_autumn = month >= 8 || month == 1;
        let current_year = if current_is_autumn && month >= 8 {
            current_start.year()
        } else {
            current_start.year() - 1
        };
        let mut cal = Calendar {
            tz,
            now,
            terms: Vec::new(),
            current_is_autumn,
            current_year,
        };
        for seq in 1..=TERMS as i64 {
            let autumn = cal.is_autumn(seq);
            let ay = cal.academic_year(seq);
            let starts_on = if seq == TERMS as i64 {
                current_start
            } else {
                usual_start(ay, autumn)?
            };
            let ends_on = starts_on + Duration::days(TERM_LENGTH);
            let (half, half_zh, season) = if autumn {
                (1, "一", "Autumn")
            } else {
                (2, "二", "Spring")
            };
            let is_current = seq == TERMS as i64;
            // NOTE: every term's registration opens three weeks before its first day, so that
            // "registered on day N of the term" means the same in the current term as in the
            // terms the early warning learns from.
            let (opens, closes, add_drop) = if is_current {
                (
                    cal.at(starts_on - Duration::days(21), 9, 0)?,
                    now + Duration::days(30),
                    now + Duration::days(14),
                )
            } else {
                (
                    cal.at(starts_on - Duration::days(21), 9, 0)?,
                    cal.at(starts_on + Duration::days(14), 23, 59)?,
                    cal.at(starts_on + Duration::days(14), 23, 59)?,
                )
            };
            cal.terms.push(Term {
                seq,
                code: format!("{ay}-{}-{half}", ay + 1),
                name_zh: format!("{ay}-{}学年第{half_zh}学期", ay + 1),
                name_en: format!("{season} term {ay}-{}", ay + 1),
                starts_on,
                ends_on,
                registration_opens_at: opens,
                registration_closes_at: closes,
                add_drop_deadline: add_drop,
                credit_limit: 25.0,
                is_current,
            });
        }
        Ok(cal)
    }

    /// Whether the term with this seq (possibly before the first stored term) is an autumn term.
    pub fn is_autumn(&self, seq: i64) -> bool {
        ((TERMS as i64 - seq) % 2 == 0) == self.current_is_autumn
    }

    /// The academic year of the term with this seq (which may be zero or negative).
    pub fn academic_year(&self, seq: i64) -> i32 {
        // Walk back from the current term: spring -> autumn of the same year -> spring before.
        let mut ay = self.current_year;
        let mut autumn = self.current_is_autumn;
        let mut s = TERMS as i64;
        while s > seq {
            if autumn {
                ay -= 1;
            }
            autumn = !autumn;
            s -= 1;
        }
        ay
    }

    pub fn at(&self, date: NaiveDate, hour: u32, minute: u32) -> AppResult<Ts> {
        let time = NaiveTime::from_hms_opt(hour, minute, 0)
            .ok_or_else(|| AppError::internal("bad time of day"))?;
        self.tz
            .from_local_datetime(&date.and_time(time))
            .single()
            .ok_or_else(|| AppError::internal("ambiguous local time"))
    }

    pub fn term(&self, seq: i64) -> AppResult<&Term> {
        usize::try_from(seq - 1)
            .ok()
            .and_then(|i| self.terms.get(i))
            .ok_or_else(|| AppError::internal(format!("no term {seq}")))
    }

    /// The start of the term with this seq, also for seqs before the first stored term.
    pub fn start_of(&self, seq: i64) -> AppResult<NaiveDate> {
        match self.terms.iter().find(|t| t.seq == seq) {
            Some(t) => Ok(t.starts_on),
            None => usual_start(self.academic_year(seq), self.is_autumn(seq)),
        }
    }
}

/// Past terms keep the usual calendar: autumn from the first Monday of September, spring from
/// the last Monday of February (or the first of March).
fn usual_start(academic_year: i32, autumn: bool) -> AppResult<NaiveDate> {
    let first = if autumn {
        NaiveDate::from_ymd_opt(academic_year, 9, 1)
    } else {
        NaiveDate::from_ymd_opt(academic_year + 1, 2, 24)
    }
    .ok_or_else(|| AppError::internal("bad academic year"))?;
    let offset = (7 - first.weekday().num_days_from_monday()) % 7;
    Ok(first + Duration::days(i64::from(offset)))
}
