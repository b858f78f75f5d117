//! Sections for one term: how many of each course, when they meet, who teaches them and where.
//!
//! The week has 30 slots (5 weekdays x 6 two-period blocks), kept as bits of a `u32`. All
//! sections of a required course share one meeting pattern, chosen so that the courses one
//! cohort of one department must take together never overlap; a teacher is never given two
//! sections that meet at the same time, and a room never holds two.

use super::catalog::{Audience, Catalog, Course};
use super::people::{Person, person};
use crate::error::AppResult;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const BLOCKS: u32 = 6;
const DAYS: u32 = 5;
/// Sections one teacher takes in a term at most.
const TEACHER_LOAD: u8 = 4;

pub struct Meeting {
    pub weekday: i64,
    pub start_period: i64,
    pub end_period: i64,
    pub start_week: i64,
    pub end_week: i64,
}

pub struct Section {
    /// Index of the term (seq - 1).
    pub term: usize,
    pub course: usize,
    /// 1-based number within the term and course.
    pub no: usize,
    pub teacher: usize,
    pub capacity: i64,
    pub waitlist_capacity: i64,
    pub mask: u32,
    pub room: String,
    /// Rows with status "enrolled" / "waitlisted", kept equal to the enrolments made.
    pub enrolled: i64,
    pub waitlisted: i64,
}

impl Section {
    pub fn meetings(&self, course: &Course) -> Vec<Meeting> {
        let weeks = if course.credits < 1.0 {
            (1, 8)
        } else {
            (1, 16)
        };
        (0..DAYS * BLOCKS)
            .filter(|bit| self.mask & (1 << bit) != 0)
            .map(|bit| {
                let block = i64::from(bit % BLOCKS);
                Meeting {
                    weekday: i64::from(bit / BLOCKS) + 1,
                    start_period: 2 * block + 1,
                    end_period: 2 * block + 2,
                    start_week: weeks.0,
                    end_week: weeks.1,
                }
            })
            .collect()
    }
}

pub struct Teacher {
    pub dept: usize,
    pub person: Person,
}

/// Teachers live across terms; `busy` and `load` are reset for each term.
pub struct Staff {
    pub teachers: Vec<Teacher>,
    by_dept: Vec<Vec<usize>>,
    busy: Vec<u32>,
    load: Vec<u8>,
}

impl Staff {
    pub fn new(departments: usize) -> Self {
        Staff {
            teachers: Vec::new(),
            by_dept: vec![Vec::new(); departments],
            busy: Vec::new(),
            load: Vec::new(),
        }
    }

    fn new_term(&mut self) {
        self.busy.iter_mut().for_each(|b| *b = 0);
        self.load.iter_mut().for_each(|l| *l = 0);
    }

    /// The first teacher of the department free at `mask` with room in their load, or a new one.
    fn assign(
        &mut self,
        cat: &Catalog,
        dept: usize,
        mask: u32,
        rng: &mut ChaCha8Rng,
    ) -> AppResult<usize> {
        let free = self.by_dept[dept]
            .iter()
            .copied()
            .find(|&t| self.load[t] < TEACHER_LOAD && self.busy[t] & mask == 0);
        let t = match free {
            Some(t) => t,
            None => {
                let male = rng.random_bool(0.55);
                let t = self.teachers.len();
                self.teachers.push(Teacher {
                    dept,
                    person: person(&cat.names, male, rng)?,
                });
                self.by_dept[dept].push(t);
                self.busy.push(0);
                self.load.push(0);
                t
            }
        };
        self.busy[t] |= mask;
        self.load[t] += 1;
        Ok(t)
    }
}

/// Rooms of one kind for one term: each room's occupied slots.
struct Rooms {
    prefix: &'static str,
    busy: Vec<u32>,
}

impl Rooms {
    fn take(&mut self, mask: u32) -> String {
        let r = match self.busy.iter().position(|b| b & mask == 0) {
            Some(r) => r,
            None => {
                self.busy.push(0);
                self.busy.len() - 1
            }
        };
        self.busy[r] |= mask;
        if self.prefix.is_empty() {
            // Building A, B, ...; six floors of ten rooms each.
            let building = char::from(b'A' + (r / 60 % 26) as u8);
            format!("{building}{}{:02}", r % 60 / 10 + 1, r % 10 + 1)
        } else {
            format!("{}{}", self.prefix, r + 1)
        }
    }
}

fn meetings_per_week(credits: f64) -> u32 {
    if credits <= 2.0 {
        1
    } else if credits <= 4.0 {
        2
    } else {
        3
    }
}

/// A random meeting pattern of `n` meetings on different weekdays, avoiding `avoid` if it can.
fn pattern(n: u32, evening: bool, avoid: u32, rng: &mut ChaCha8Rng) -> u32 {
    let blocks = if evening { BLOCKS } else { BLOCKS - 1 };
    let mut best = (u32::MAX, 0u32);
    for _ in 0..300 {
        let mut mask = 0u32;
        let mut days = 0u32;
        while days.count_ones() < n.min(DAYS) {
            let d = rng.random_range(0..DAYS);
            if days & (1 << d) == 0 {
                days |= 1 << d;
                mask |= 1 << (d * BLOCKS + rng.random_range(0..blocks));
            }
        }
        let clash = (mask & avoid).count_ones();
        if clash < best.0 {
            best = (clash, mask);
        }
        if clash == 0 {
            break;
        }
    }
    best.1
}

/// Target seats per section by kind of course.
fn target_size(cat: &Catalog, c: &Course) -> f64 {
    let sport = cat.departments.get(c.dept).is_some_and(|d| d.code == "PE");
    match c.audience {
        Audience::All if sport => 40.0,
        Audience::All => 90.0,
        Audience::Departments(_) => 70.0,
        Audience::Major => 50.0,
        Audience::Elective => 45.0,
    }
}

/// Creates the sections of one term from the number of students who want each course.
pub fn build_term(
    cat: &Catalog,
    term: usize,
    demand: &[usize],
    staff: &mut Staff,
    rng: &mut ChaCha8Rng,
) -> AppResult<Vec<Section>> {
    staff.new_term();
    let mut rooms = Rooms {
        prefix: "",
        busy: Vec::new(),
    };
    let mut gyms = Rooms {
        prefix: "体育馆",
        busy: Vec::new(),
    };
    // (department, semester) -> slots taken by that cohort's required courses.
    let mut cohort_busy = vec![[0u32; 9]; cat.departments.len()];
    let rank = |c: &Course| match c.audience {
        Audience::All => 0,
        Audience::Departments(_) => 1,
        Audience::Major => 2,
        Audience::Elective => 3,
    };
    let mut order: Vec<usize> = (0..cat.courses.len())
        .filter(|&i| demand[i] > 0 || cat.courses[i].audience == Audience::Elective)
        .collect();
    order.sort_by_key(|&i| (rank(&cat.courses[i]), i));

    let mut sections = Vec::new();
    for ci in order {
        let c = &cat.courses[ci];
        let d = demand[ci] as f64;
        let target = target_size(cat, c);
        let n = ((d / target).ceil() as usize).max(1);
        let seats = ((d * 1.15 / n as f64 / 5.0).ceil() * 5.0).clamp(30.0, 120.0) as i64;
        let meetings = meetings_per_week(c.credits);
        let sem = c.semester.clamp(1, 8) as usize;
        let cohorts: Vec<usize> = (0..cat.departments.len())
            .filter(|&dp| c.required_for(dp))
            .collect();
        let shared = if cohorts.is_empty() {
            None
        } else {
            let avoid = cohorts.iter().fold(0, |m, &dp| m | cohort_busy[dp][sem]);
            let mask = pattern(meetings, false, avoid, rng);
            for &dp in &cohorts {
                cohort_busy[dp][sem] |= mask;
            }
            Some(mask)
        };
        let sport = cat.departments.get(c.dept).is_some_and(|d| d.code == "PE");
        for no in 1..=n {
            let mask = match shared {
                Some(m) => m,
                None => pattern(meetings, true, 0, rng),
            };
            let teacher = staff.assign(cat, c.dept, mask, rng)?;
            let room = if sport {
                gyms.take(mask)
            } else {
                rooms.take(mask)
            };
            sections.push(Section {
                term,
                course: ci,
                no,
                teacher,
                capacity: seats,
                waitlist_capacity: (seats / 6).max(5),
                mask,
                room,
                enrolled: 0,
                waitlisted: 0,
            });
        }
    }
    Ok(sections)
}
