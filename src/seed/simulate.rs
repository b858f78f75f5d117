//! Runs the demo university term by term, in memory: what each student plans to take, the
//! sections that serve them, who got a seat, assessment scores and final grades. Results of one
//! term (passes, failures) shape the next: failed courses are retaken, prerequisites are checked.

use super::calendar::{Calendar, TERMS, Term, Ts};
use super::catalog::{Audience, Catalog, MAX_COURSES};
use super::people::{Status, Student};
use super::rng::{logistic, normal};
use super::timetable::{self, Section, Staff, Teacher};
use crate::error::{AppError, AppResult};
use chrono::Duration;
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Most sections a student plans in one term.
const MAX_PLAN: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolStatus {
    Enrolled,
    Waitlisted,
    Dropped,
}

impl EnrolStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrolStatus::Enrolled => "enrolled",
            EnrolStatus::Waitlisted => "waitlisted",
            EnrolStatus::Dropped => "dropped",
        }
    }
}

pub struct Enrolment {
    pub student: u32,
    pub section: u32,
    pub status: EnrolStatus,
    pub waitlist_position: Option<i64>,
    pub created_at: Ts,
    pub dropped_at: Option<Ts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessmentKind {
    Homework,
    Exam,
}

/// (name, weight, kind, days after the term starts it is due, hour)
pub const ASSESSMENTS: [(&str, f64, AssessmentKind, i64, u32); 4] = [
    ("Homework 1", 0.1, AssessmentKind::Homework, 14, 23),
    ("Midterm exam", 0.3, AssessmentKind::Exam, 56, 9),
    ("Homework 2", 0.1, AssessmentKind::Homework, 77, 23),
    ("Final exam", 0.5, AssessmentKind::Exam, 119, 9),
];

pub struct Assessment {
    pub section: u32,
    /// Index into `ASSESSMENTS`.
    pub kind: usize,
    pub due_at: Ts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreStatus {
    Submitted,
    Late,
    Missing,
}

impl ScoreStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreStatus::Submitted => "submitted",
            ScoreStatus::Late => "late",
            ScoreStatus::Missing => "missing",
        }
    }
}

pub struct Score {
    pub assessment: u32,
    pub student: u32,
    pub score: Option<u8>,
    pub status: ScoreStatus,
    /// Minutes from the due time to the submission (negative: early).
    pub submitted_offset_min: i32,
}

pub struct Grade {
    pub section: u32,
    pub student: u32,
    pub score: f64,
    /// Index into the grading scale's bands.
    pub band: usize,
}

pub struct Hold {
    pub student: u32,
    pub reason: &'static str,
    pub placed_at: Ts,
    pub lifted_at: Option<Ts>,
}

pub struct University {
    pub students: Vec<Student>,
    pub teachers: Vec<Teacher>,
    /// Position of each teacher in the numbering `teacher1`, `teacher2`, ...
    pub teacher_rank: Vec<usize>,
    /// Per student: the advising teacher (index into `teachers`).
    pub advisors: Vec<Option<usize>>,
    pub sections: Vec<Section>,
    pub enrolments: Vec<Enrolment>,
    pub assessments: Vec<Assessment>,
    pub scores: Vec<Score>,
    pub grades: Vec<Grade>,
    pub holds: Vec<Hold>,
    /// Learning-platform activity (filled after the simulation, see `activity::generate`).
    pub activity: Vec<WeekActivity>,
}

/// One student's activity in one section in one week.
pub struct WeekActivity {
    pub student: u32,
    pub section: u32,
    /// The week's last day (the count covers it and the six days before).
    pub day: chrono::NaiveDate,
    pub count: u32,
}

/// What a student has passed, with best recorded scores (for prerequisites).
struct Progress {
    passed: [u64; MAX_COURSES / 64],
    best: Vec<(usize, f64)>,
}

impl Progress {
    fn has_passed(&self, c: usize) -> bool {
        self.passed[c / 64] & (1 << (c % 64)) != 0
    }
    fn best(&self, c: usize) -> Option<f64> {
        self.best.iter().find(|(k, _)| *k == c).map(|(_, s)| *s)
    }
    /// A pass from before the first stored term: not retaken, but with no recorded grade it
    /// never satisfies a prerequisite.
    fn record_prior(&mut self, c: usize) {
        self.passed[c / 64] |= 1 << (c % 64);
    }
    fn record(&mut self, c: usize, score: f64, passed: bool) {
        if passed {
            self.passed[c / 64] |= 1 << (c % 64);
        }
        match self.best.iter_mut().find(|(k, _)| *k == c) {
            Some(entry) => entry.1 = entry.1.max(score),
            None => self.best.push((c, score)),
        }
    }
}

fn secs(rng: &mut ChaCha8Rng, days: i64) -> Duration {
    Duration::seconds(rng.random_range(0..(days * 86_400).max(1)))
}

struct Ctx<'a> {
    cat: &'a Catalog,
    /// department -> semester (1-8) -> required courses
    required: Vec<Vec<Vec<usize>>>,
    electives: Vec<usize>,
}

impl Ctx<'_> {
    fn eligible(&self, pr: &Progress, c: usize) -> bool {
        self.cat.courses[c]
            .prerequisites
            .iter()
            .all(|&(p, min)| pr.best(p).is_some_and(|b| b >= min))
    }

    /// The courses a student means to take in a term, most pressing first.
    fn plan(
        &self,
        st: &Student,
        pr: &Progress,
        seq: i64,
        want: usize,
        limit: f64,
        rng: &mut ChaCha8Rng,
    ) -> Vec<usize> {
        let s = st.semester(seq).clamp(1, 8) as usize;
        let mut out: Vec<usize> = Vec::new();
        let mut credits = 0.0;
        let mut push = |c: usize, out: &mut Vec<usize>| {
            let cr = self.cat.courses[c].credits;
            if out.len() < MAX_PLAN
                && credits + cr <= limit
                && !pr.has_passed(c)
                && !out.contains(&c)
                && self.eligible(pr, c)
            {
                credits += cr;
                out.push(c);
            }
        };
        let req = &self.required[st.dept];
        // Owed courses of earlier semesters (failed, dropped or missed), then this semester's.
        for &c in req.iter().take(s + 1).flatten() {
            push(c, &mut out);
        }
        let mut options: Vec<usize> = self
            .electives
            .iter()
            .copied()
            .filter(|&c| self.cat.courses[c].semester as usize <= s && !pr.has_passed(c))
            .collect();
        options.shuffle(rng);
        for c in options {
            if out.len() >= want {
                break;
            }
            push(c, &mut out);
        }
        out
    }
}

/// Score of one assessment: ability, engagement, difficulty and noise.
pub(super) fn draw_score(
    kind: AssessmentKind,
    st: &Student,
    eng: f64,
    difficulty: f64,
    section_effect: f64,
    rng: &mut ChaCha8Rng,
) -> (ScoreStatus, Option<u8>, i32) {
    let (p_missing, p_late) = match kind {
        AssessmentKind::Homework => (logistic(-3.8 - 1.6 * eng), logistic(-2.2 - 1.0 * eng)),
        AssessmentKind::Exam => (logistic(-5.2 - 1.5 * eng), 0.0),
    };
    let u: f64 = rng.random();
    if u < p_missing {
        return (ScoreStatus::Missing, None, 0);
    }
    let late = rng.random_bool(p_late.clamp(0.0, 1.0));
    let raw = match kind {
        AssessmentKind::Homework => {
            82.0 + 6.0 * st.ability + 6.0 * eng - 2.0 * (difficulty - 3.0)
                + section_effect
                + 8.0 * normal(rng)
        }
        AssessmentKind::Exam => {
            79.0 + 9.0 * st.ability + 4.0 * eng - 3.5 * (difficulty - 3.0)
                + section_effect
                + 7.0 * normal(rng)
        }
    };
    let score = if late { raw * 0.8 } else { raw };
    let score = score.round().clamp(0.0, 100.0) as u8;
    let offset = match (kind, late) {
        (AssessmentKind::Exam, _) => 0,
        (_, true) => rng.random_range(10..72 * 60),
        (_, false) => -rng.random_range(10..96 * 60),
    };
    (
        if late {
            ScoreStatus::Late
        } else {
            ScoreStatus::Submitted
        },
        Some(score),
        offset,
    )
}

const HOLD_REASONS: [&str; 4] = [
    "学费未缴清 / Tuition fees outstanding",
    "图书馆资料逾期未还 / Overdue library items",
    "学籍材料不全 / Incomplete enrolment documents",
    "体检未完成 / Health check not completed",
];

pub fn simulate(
    cat: &Catalog,
    cal: &Calendar,
    mut students: Vec<Student>,
    rng: &mut ChaCha8Rng,
) -> AppResult<University> {
    let mut sim = Sim::new(cat, cal, &students);
    for seq in 1..=TERMS as i64 {
        let term = cal.term(seq)?;
        let mut ts = sim.plan_term(&students, term, seq, rng)?;
        sim.seat(&mut ts, rng);
        sim.drop_some(&students, &mut ts, rng);
        sim.leave(&mut students, &ts, rng)?;
        if ts.current {
            waitlists(&mut sim.uni, cat, &mut ts, cal, rng);
        }
        let graded = sim.assess(&students, &ts, rng)?;
        if !ts.current {
            sim.record_results(graded);
        }
    }
    sim.finish(students, rng)
}

impl<'a> Ctx<'a> {
    /// The catalogue arranged for planning: required courses per department and semester, and
    /// the electives.
    fn new(cat: &'a Catalog) -> Self {
        let mut required = vec![vec![Vec::new(); 9]; cat.departments.len()];
        for (ci, c) in cat.courses.iter().enumerate() {
            for (d, per_dept) in required.iter_mut().enumerate() {
                if c.required_for(d) {
                    per_dept[c.semester.clamp(1, 8) as usize].push(ci);
                }
            }
        }
        let electives: Vec<usize> = (0..cat.courses.len())
            .filter(|&c| cat.courses[c].audience == Audience::Elective)
            .collect();
        Ctx {
            cat,
            required,
            electives,
        }
    }
}

/// The simulation's state across terms.
struct Sim<'a> {
    ctx: Ctx<'a>,
    cal: &'a Calendar,
    progress: Vec<Progress>,
    staff: Staff,
    uni: University,
    /// Per student: registered for the current term.
    registered_now: Vec<bool>,
    /// Per student: courses failed in the term before (raises the chance of leaving).
    failed_last: Vec<u32>,
}

/// One term's working state.
struct TermState<'t> {
    seq: i64,
    term: &'t Term,
    current: bool,
    /// (student, the courses they plan), for the students studying this term.
    plans: Vec<(usize, Vec<usize>)>,
    /// Index of the term's first section in `University::sections`.
    first: usize,
    /// Per course: the term's sections of it.
    by_course: Vec<Vec<usize>>,
    /// Per plan: the timetable slots taken.
    masks: Vec<u32>,
    /// Per plan: the enrolments made (indexes into `University::enrolments`).
    taken: Vec<Vec<usize>>,
}

impl<'a> Sim<'a> {
    fn new(cat: &'a Catalog, cal: &'a Calendar, students: &[Student]) -> Self {
        let ctx = Ctx::new(cat);
        // NOTE: students who began before the first stored term passed what came before it,
        // but those passes are not in the database: they keep the student from retaking those
        // courses and never count as a prerequisite (see `Progress::record_prior`), so nobody
        // in the demo passes a course without a recorded pass of its prerequisites.
        let progress = students
            .iter()
            .map(|st| {
                let mut pr = Progress {
                    passed: [0; MAX_COURSES / 64],
                    best: Vec::new(),
                };
                let first_sem = st.semester(1);
                for sem in 1..(first_sem.clamp(1, 9) as usize) {
                    for &c in &ctx.required[st.dept][sem] {
                        pr.record_prior(c);
                    }
                }
                pr
            })
            .collect();
        Sim {
            staff: Staff::new(cat.departments.len()),
            ctx,
            cal,
            progress,
            uni: University {
                students: Vec::new(),
                teachers: Vec::new(),
                teacher_rank: Vec::new(),
                advisors: Vec::new(),
                sections: Vec::new(),
                enrolments: Vec::new(),
                assessments: Vec::new(),
                scores: Vec::new(),
                grades: Vec::new(),
                holds: Vec::new(),
                activity: Vec::new(),
            },
            registered_now: vec![false; students.len()],
            failed_last: vec![0u32; students.len()],
        }
    }

    /// Step 1 and 2: each studying student's plan, and the sections that serve the demand.
    fn plan_term<'t>(
        &mut self,
        students: &[Student],
        term: &'t Term,
        seq: i64,
        rng: &mut ChaCha8Rng,
    ) -> AppResult<TermState<'t>> {
        let cat = self.ctx.cat;
        let mut plans: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut demand = vec![0usize; cat.courses.len()];
        for (si, st) in students.iter().enumerate() {
            if !st.studies_in(seq) {
                continue;
            }
            let want = [4, 5, 5, 6, 6][rng.random_range(0..5)];
            let plan = self
                .ctx
                .plan(st, &self.progress[si], seq, want, term.credit_limit, rng);
            for &c in &plan {
                demand[c] += 1;
            }
            plans.push((si, plan));
        }
        let first = self.uni.sections.len();
        let t = (seq - 1) as usize;
        self.uni.sections.extend(timetable::build_term(
            cat,
            t,
            &demand,
            &mut self.staff,
            rng,
        )?);
        let mut by_course: Vec<Vec<usize>> = vec![Vec::new(); cat.courses.len()];
        for (i, s) in self.uni.sections.iter().enumerate().skip(first) {
            by_course[s.course].push(i);
        }
        let n = plans.len();
        Ok(TermState {
            seq,
            term,
            current: term.is_current,
            plans,
            first,
            by_course,
            masks: vec![0u32; n],
            taken: vec![Vec::new(); n],
        })
    }

    /// Step 3: seats, in a random order of students; the emptiest fitting section of each
    /// planned course. In the current term 70% have registered, for three to five courses.
    fn seat(&mut self, ts: &mut TermState<'_>, rng: &mut ChaCha8Rng) {
        let uni = &mut self.uni;
        let mut order: Vec<usize> = (0..ts.plans.len()).collect();
        order.shuffle(rng);
        for &p in &order {
            let (si, plan) = &ts.plans[p];
            let quota = if ts.current {
                if rng.random_bool(0.7) {
                    self.registered_now[*si] = true;
                    rng.random_range(3..=5)
                } else {
                    0
                }
            } else {
                plan.len()
            };
            for &c in plan {
                if ts.taken[p].len() >= quota {
                    break;
                }
                let best = ts.by_course[c]
                    .iter()
                    .copied()
                    .filter(|&x| {
                        uni.sections[x].enrolled < uni.sections[x].capacity
                            && uni.sections[x].mask & ts.masks[p] == 0
                    })
                    .min_by_key(|&x| {
                        (
                            uni.sections[x].enrolled * 1000 / uni.sections[x].capacity.max(1),
                            x,
                        )
                    });
                let Some(x) = best else { continue };
                uni.sections[x].enrolled += 1;
                ts.masks[p] |= uni.sections[x].mask;
                let created_at = ts.term.registration_opens_at + secs(rng, 21);
                ts.taken[p].push(uni.enrolments.len());
                uni.enrolments.push(Enrolment {
                    student: *si as u32,
                    section: x as u32,
                    status: EnrolStatus::Enrolled,
                    waitlist_position: None,
                    created_at,
                    dropped_at: None,
                });
            }
        }
    }

    /// Step 4: a few drop one section; those losing interest more often.
    fn drop_some(&mut self, students: &[Student], ts: &mut TermState<'_>, rng: &mut ChaCha8Rng) {
        for (p, (si, _)) in ts.plans.iter().enumerate() {
            if ts.taken[p].len() < 3 {
                continue;
            }
            let declining = students[*si]
                .decline
                .is_some_and(|(from, _)| ts.seq >= from);
            let p_drop = match (ts.current, declining) {
                (false, false) => 0.04,
                (false, true) => 0.25,
                (true, false) => 0.03,
                (true, true) => 0.15,
            };
            if !rng.random_bool(p_drop) {
                continue;
            }
            let e = ts.taken[p][rng.random_range(0..ts.taken[p].len())];
            let en = &mut self.uni.enrolments[e];
            let dropped_at =
                (en.created_at + Duration::days(1) + secs(rng, 9)).min(ts.term.add_drop_deadline);
            let dropped_at = if ts.current {
                dropped_at.min(self.cal.now - Duration::hours(1))
            } else {
                dropped_at
            };
            en.status = EnrolStatus::Dropped;
            en.dropped_at = Some(dropped_at);
            let x = en.section as usize;
            self.uni.sections[x].enrolled -= 1;
            ts.masks[p] &= !self.uni.sections[x].mask;
        }
    }

    /// Step 4b: leaving. Past terms: a few leave the university between the fifth week and the
    /// next term; those leaving before the term's last day drop every course that day. The
    /// current term: the same chance picks who will leave after today (kept hidden).
    fn leave(
        &mut self,
        students: &mut [Student],
        ts: &TermState<'_>,
        rng: &mut ChaCha8Rng,
    ) -> AppResult<()> {
        let cal = self.cal;
        for (p, (si, _)) in ts.plans.iter().enumerate() {
            if ts.taken[p].is_empty() {
                continue;
            }
            let chance = students[*si].leave_chance(ts.seq, self.failed_last[*si]);
            if !rng.random_bool(chance.clamp(0.0, 1.0)) {
                continue;
            }
            if ts.current {
                students[*si].leaves_later = true;
                continue;
            }
            let from = cal.at(ts.term.starts_on + Duration::days(35), 9, 0)?;
            let next = cal.at(cal.term(ts.seq + 1)?.starts_on - Duration::days(3), 9, 0)?;
            let at = from + secs(rng, (next - from).num_days());
            students[*si].left = Some((ts.seq, at));
            if at.date_naive() <= ts.term.ends_on {
                for &e in &ts.taken[p] {
                    let en = &mut self.uni.enrolments[e];
                    if en.status == EnrolStatus::Enrolled {
                        en.status = EnrolStatus::Dropped;
                        en.dropped_at = Some(at);
                        self.uni.sections[en.section as usize].enrolled -= 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Step 6: assessments, scores and (past terms) final grades. A student who dropped the
    /// section is scored on what was due before the drop and gets no grade. Returns how many
    /// grades the term gave.
    fn assess(
        &mut self,
        students: &[Student],
        ts: &TermState<'_>,
        rng: &mut ChaCha8Rng,
    ) -> AppResult<usize> {
        let (cat, cal, first) = (self.ctx.cat, self.cal, ts.first);
        let uni = &mut self.uni;
        let mut roster: Vec<Vec<(u32, Option<Ts>)>> = vec![Vec::new(); uni.sections.len() - first];
        for en in uni
            .enrolments
            .iter()
            .filter(|e| e.section as usize >= first)
        {
            match (en.status, en.dropped_at) {
                (EnrolStatus::Enrolled, _) => {
                    roster[en.section as usize - first].push((en.student, None));
                }
                (EnrolStatus::Dropped, Some(at)) => {
                    roster[en.section as usize - first].push((en.student, Some(at)));
                }
                _ => {}
            }
        }
        for (k, members) in roster.iter().enumerate() {
            let x = first + k;
            let course = &cat.courses[uni.sections[x].course];
            let section_effect = 3.0 * normal(rng);
            let a0 = uni.assessments.len();
            for (kind, (_, _, _, days, hour)) in ASSESSMENTS.iter().enumerate() {
                let minute = if *hour >= 23 { 59 } else { 0 };
                let mut due = cal.at(ts.term.starts_on + Duration::days(*days), *hour, minute)?;
                if kind == 0 && ts.current {
                    // NOTE: due exactly two weeks ago, so it is scored but nothing later is.
                    due = due.min(cal.now - Duration::days(13));
                }
                uni.assessments.push(Assessment {
                    section: x as u32,
                    kind,
                    due_at: due,
                });
            }
            let scored = if ts.current { 1 } else { ASSESSMENTS.len() };
            for &(si, dropped) in members {
                let st = &students[si as usize];
                let eng = st.engagement_in(ts.seq);
                let mut total = 0.0;
                for (kind, (_, weight, akind, _, _)) in ASSESSMENTS.iter().enumerate().take(scored)
                {
                    if dropped.is_some_and(|d| uni.assessments[a0 + kind].due_at >= d) {
                        continue;
                    }
                    let (status, score, offset) =
                        draw_score(*akind, st, eng, course.difficulty, section_effect, rng);
                    total += weight * f64::from(score.unwrap_or(0));
                    uni.scores.push(Score {
                        assessment: (a0 + kind) as u32,
                        student: si,
                        score,
                        status,
                        submitted_offset_min: offset,
                    });
                }
                if !ts.current && dropped.is_none() {
                    let score = ((total * 10.0).round() / 10.0).clamp(0.0, 100.0);
                    uni.grades.push(Grade {
                        section: x as u32,
                        student: si,
                        score,
                        band: cat.scale.band_of(score),
                    });
                }
            }
        }
        Ok(roster.iter().flatten().filter(|m| m.1.is_none()).count())
    }

    /// After a past term: what each student passed (for the next term's prerequisites) and
    /// how many courses they failed.
    fn record_results(&mut self, graded: usize) {
        let pass_mark = self.ctx.cat.scale.pass_mark;
        let from = self.uni.grades.len() - graded;
        self.failed_last.iter_mut().for_each(|f| *f = 0);
        for g in &self.uni.grades[from..] {
            let c = self.uni.sections[g.section as usize].course;
            let passed = g.score >= pass_mark;
            self.progress[g.student as usize].record(c, g.score, passed);
            self.failed_last[g.student as usize] += u32::from(!passed);
        }
    }

    /// After the last term: statuses, holds, teachers' numbering, advisors, and the check that
    /// no section is over-filled.
    fn finish(self, mut students: Vec<Student>, rng: &mut ChaCha8Rng) -> AppResult<University> {
        let Sim {
            staff,
            mut uni,
            registered_now,
            cal,
            ..
        } = self;
        for st in &mut students {
            if st.left.is_some() {
                st.status = Status::Withdrawn;
            }
        }
        holds(&mut uni, &students, &registered_now, cal, rng);
        uni.teachers = staff.teachers;
        rank_teachers(&mut uni);
        advisors(&mut uni, &students);
        uni.students = students;
        if uni
            .sections
            .iter()
            .any(|s| s.enrolled > s.capacity || s.waitlisted > s.waitlist_capacity)
        {
            return Err(AppError::internal("demo generator over-filled a section"));
        }
        Ok(uni)
    }
}

/// Makes a few popular sections of the current term full, with a waitlist: registered students
/// who planned the course but have no seat in it yet take the last seats, then queue.
fn waitlists(
    uni: &mut University,
    cat: &Catalog,
    ts: &mut TermState<'_>,
    cal: &Calendar,
    rng: &mut ChaCha8Rng,
) {
    let TermState {
        plans,
        masks,
        taken,
        first,
        term,
        ..
    } = ts;
    let (plans, first, term) = (&*plans, *first, *term);
    let has_course = |uni: &University, taken: &[usize], course: usize| {
        taken
            .iter()
            .any(|&e| uni.sections[uni.enrolments[e].section as usize].course == course)
    };
    // Registered students (those with a seat somewhere) who planned a course and lack it.
    let registered: Vec<usize> = (0..plans.len()).filter(|&p| !taken[p].is_empty()).collect();
    let mut unseated = vec![0i64; cat.courses.len()];
    for &p in &registered {
        for &c in &plans[p].1 {
            if !has_course(uni, &taken[p], c) {
                unseated[c] += 1;
            }
        }
    }
    // The sections closest to full given that pressure, one per course.
    let mut ranked: Vec<(i64, usize)> = (first..uni.sections.len())
        .map(|x| {
            let s = &uni.sections[x];
            (unseated[s.course] - (s.capacity - s.enrolled), x)
        })
        .filter(|&(pressure, _)| pressure > 0)
        .collect();
    ranked.sort_by_key(|&(pressure, x)| (std::cmp::Reverse(pressure), x));
    let wanted = ((uni.sections.len() - first) / 40).max(2);
    let mut popular: Vec<usize> = Vec::new();
    for (_, x) in ranked {
        if popular.len() >= wanted {
            break;
        }
        if !popular
            .iter()
            .any(|&y| uni.sections[y].course == uni.sections[x].course)
        {
            popular.push(x);
        }
    }
    popular.sort_unstable();

    let credits = |uni: &University, taken: &[usize]| -> f64 {
        taken
            .iter()
            .filter(|&&e| uni.enrolments[e].status != EnrolStatus::Dropped)
            .map(|&e| cat.courses[uni.sections[uni.enrolments[e].section as usize].course].credits)
            .sum()
    };
    let mut candidates = registered;
    for x in popular {
        let course = uni.sections[x].course;
        let mask = uni.sections[x].mask;
        let queue_len = rng.random_range(2..=8i64);
        candidates.shuffle(rng);
        let mut queued: Vec<(Ts, u32)> = Vec::new();
        for &p in &candidates {
            if queued.len() as i64 >= queue_len {
                break;
            }
            if !plans[p].1.contains(&course)
                || has_course(uni, &taken[p], course)
                || masks[p] & mask != 0
                || credits(uni, &taken[p]) + cat.courses[course].credits > term.credit_limit
            {
                continue;
            }
            masks[p] |= mask;
            let student = plans[p].0 as u32;
            if uni.sections[x].enrolled < uni.sections[x].capacity {
                uni.sections[x].enrolled += 1;
                taken[p].push(uni.enrolments.len());
                uni.enrolments.push(Enrolment {
                    student,
                    section: x as u32,
                    status: EnrolStatus::Enrolled,
                    waitlist_position: None,
                    created_at: term.registration_opens_at + secs(rng, 12),
                    dropped_at: None,
                });
            } else {
                queued.push((cal.now - Duration::days(12) + secs(rng, 11), student));
            }
        }
        queued.sort();
        let s = &mut uni.sections[x];
        s.waitlisted = queued.len() as i64;
        s.waitlist_capacity = s.waitlist_capacity.max(s.waitlisted);
        for (pos, (at, student)) in queued.into_iter().enumerate() {
            uni.enrolments.push(Enrolment {
                student,
                section: x as u32,
                status: EnrolStatus::Waitlisted,
                waitlist_position: Some(pos as i64 + 1),
                created_at: at,
                dropped_at: None,
            });
        }
    }
}

/// Active holds on a handful of students who have not registered yet, and a few lifted ones.
fn holds(
    uni: &mut University,
    students: &[Student],
    registered: &[bool],
    cal: &Calendar,
    rng: &mut ChaCha8Rng,
) {
    let active = |i: &usize| students[*i].status == Status::Active;
    let mut waiting: Vec<usize> = (0..students.len())
        .filter(|i| active(i) && !registered[*i])
        .collect();
    let mut enrolled: Vec<usize> = (0..students.len())
        .filter(|i| active(i) && registered[*i])
        .collect();
    waiting.shuffle(rng);
    enrolled.shuffle(rng);
    waiting.truncate((students.len() / 300).max(3));
    enrolled.truncate((students.len() / 600).max(2));
    waiting.sort_unstable();
    enrolled.sort_unstable();
    for (list, lifted) in [(waiting, false), (enrolled, true)] {
        for i in list {
            let placed_at = cal.now - Duration::days(40) + secs(rng, 30);
            uni.holds.push(Hold {
                student: i as u32,
                reason: HOLD_REASONS[rng.random_range(0..HOLD_REASONS.len())],
                placed_at,
                lifted_at: lifted.then(|| placed_at + Duration::days(2) + secs(rng, 5)),
            });
        }
    }
    uni.holds.sort_by_key(|h| h.student);
}

/// Teachers are numbered by department; `teacher1` is one with two or more current sections.
fn rank_teachers(uni: &mut University) {
    let current = TERMS - 1;
    let mut now_load = vec![0usize; uni.teachers.len()];
    for s in uni.sections.iter().filter(|s| s.term == current) {
        now_load[s.teacher] += 1;
    }
    let mut order: Vec<usize> = (0..uni.teachers.len()).collect();
    order.sort_by_key(|&t| (uni.teachers[t].dept, t));
    if let Some(pos) = order.iter().position(|&t| now_load[t] >= 2) {
        let t = order.remove(pos);
        order.insert(0, t);
    }
    uni.teacher_rank = vec![0; uni.teachers.len()];
    for (rank, t) in order.into_iter().enumerate() {
        uni.teacher_rank[t] = rank;
    }
}

/// Each student's advisor: the teachers of their department in turn.
fn advisors(uni: &mut University, students: &[Student]) {
    let mut by_dept: Vec<Vec<usize>> = Vec::new();
    for (t, teacher) in uni.teachers.iter().enumerate() {
        if by_dept.len() <= teacher.dept {
            by_dept.resize(teacher.dept + 1, Vec::new());
        }
        by_dept[teacher.dept].push(t);
    }
    for list in &mut by_dept {
        list.sort_by_key(|&t| uni.teacher_rank[t]);
    }
    let mut next = vec![0usize; by_dept.len()];
    uni.advisors = students
        .iter()
        .map(|st| {
            let list = by_dept.get(st.dept).filter(|l| !l.is_empty())?;
            let t = list[next[st.dept] % list.len()];
            next[st.dept] += 1;
            Some(t)
        })
        .collect();
}
