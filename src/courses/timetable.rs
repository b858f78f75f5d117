//! The university's timetable: the clock times of the daily periods, and a meeting as people
//! read it. Pure; used by the catalogue, registration and the timetable pages.

/// The clock times of the twelve daily periods (45 minutes each, the common timetable of
/// Chinese universities). NOTE: a university with another timetable changes this one table.
const PERIODS: [(&str, &str); 12] = [
    ("08:00", "08:45"),
    ("08:50", "09:35"),
    ("09:50", "10:35"),
    ("10:40", "11:25"),
    ("11:30", "12:15"),
    ("14:00", "14:45"),
    ("14:50", "15:35"),
    ("15:50", "16:35"),
    ("16:40", "17:25"),
    ("18:30", "19:15"),
    ("19:20", "20:05"),
    ("20:10", "20:55"),
];

/// When periods `first`..=`last` start and end on the clock, e.g. `08:00–09:35`.
pub fn clock(first: i64, last: i64) -> Option<String> {
    let at = |p: i64| usize::try_from(p - 1).ok().and_then(|i| PERIODS.get(i));
    Some(format!("{}–{}", at(first)?.0, at(last)?.1))
}

/// A meeting as people read it: "周一 1-2节 08:00–09:35" / "Mon periods 1-2 08:00–09:35".
pub fn meeting_label(lang: crate::i18n::Lang, weekday: i64, first: i64, last: i64) -> String {
    let day = lang.t(&format!("weekday.{weekday}"));
    let periods = lang
        .t("registration.periods_of")
        .replace("{first}", &first.to_string())
        .replace("{last}", &last.to_string());
    match clock(first, last) {
        Some(c) => format!("{day} {periods} {c}"),
        None => format!("{day} {periods}"),
    }
}
