//! The demo university: a deterministic generator, driven by the data files in `seed/` and a
//! fixed random seed, that fills an empty database with departments, courses, teachers,
//! students, four past terms of results and a current term open for registration.
//!
//! Each student has a hidden ability and engagement; about 12% of those with two or more past
//! terms "decline" from some term on. Their list goes to [`decliners_file`] so that tests can
//! check the mining module finds them; the portal itself never reads it.
//!
//! Some students leave the university (status `withdrawn`, dated, with a history row): in each
//! past term a small chance, several times higher for a declining student and after failed
//! courses, of leaving between the term's fifth week and the next term (mid-term leavers drop
//! every course that day). For the current term the same chance decides who *will* leave after
//! today; that is never written to the database, only to [`leavers_file`], with the past
//! leavers, for the tests.

mod activity;
mod attendance;
mod calendar;
mod catalog;
mod demo;
mod people;
mod rng;
mod simulate;
mod timetable;
mod write;

pub use demo::{DEFAULT_SEED, DemoOptions, DemoSummary, decliners_file, leavers_file, seed_demo};
