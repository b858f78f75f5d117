//! Pure rules of registration: when two meetings clash. No database, no Rocket.

use crate::entity::section_meetings;

/// Whether two meetings overlap in weekday, periods and weeks.
pub fn meetings_clash(a: &section_meetings::Model, b: &section_meetings::Model) -> bool {
    a.weekday == b.weekday
        && a.start_period <= b.end_period
        && b.start_period <= a.end_period
        && a.start_week <= b.end_week
        && b.start_week <= a.end_week
}

/// Whether any meeting of `a` clashes with any meeting of `b`.
pub fn sections_clash(a: &[section_meetings::Model], b: &[section_meetings::Model]) -> bool {
    a.iter().any(|x| b.iter().any(|y| meetings_clash(x, y)))
}
