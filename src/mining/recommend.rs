//! Course recommendations (the CRM's cross-selling): for a student choosing courses, the open
//! courses that students with a record like theirs went on to take and pass. Plain statistics,
//! so every recommendation has its reason: "students with B-range grades in CS201 passed this
//! at 92% (41 students)". Measured offline like the risk model: learn from the terms before the
//! latest completed one, recommend for it, and compare with what students really took and
//! passed there, against a popularity baseline.

use serde::Serialize;
// NOTE: foldhash: a run learns from every published grade (tens of millions of pair counts
// on a large university), where the standard hasher's cost showed.
use foldhash::{HashMap, HashMapExt, HashSet};

/// How many courses are recommended.
pub const K: usize = 5;
/// Fewest students behind a reason.
pub const MIN_SUPPORT: i64 = 5;
/// How many students' worth of the course's own pass rate a pair's pass rate is pulled toward.
const SHRINK: f64 = 5.0;
/// How many terms after a course still count as "went on to take".
const HORIZON: i64 = 2;

/// One graded course of one student.
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub student: i64,
    pub course: i64,
    /// The term's sequence number.
    pub seq: i64,
    pub score: f64,
    pub passed: bool,
}

/// A grade's band: what "a record like yours" compares.
pub fn band(score: f64) -> u8 {
    if score >= 85.0 {
        2
    } else if score >= 70.0 {
        1
    } else {
        0
    }
}

/// The band's name, the key of its words (`mining.recommend.band.<name>`).
pub fn band_name(b: u8) -> &'static str {
    match b {
        2 => "high",
        1 => "mid",
        _ => "low",
    }
}

/// What was learned from earlier terms.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// (course, band) → students with that record.
    pub cohort: HashMap<(i64, u8), i64>,
    /// (course, band, later course) → (students who took the later course, who passed it).
    pub pairs: HashMap<(i64, u8, i64), (i64, i64)>,
    /// course → (graded, passed).
    pub course: HashMap<i64, (i64, i64)>,
}

impl Stats {
    fn pass_rate(&self, course: i64) -> f64 {
        let (graded, passed) = self.course.get(&course).copied().unwrap_or((0, 0));
        if graded == 0 {
            let (g, p) = self
                .course
                .values()
                .fold((0, 0), |(g, p), (a, b)| (g + a, p + b));
            return if g == 0 { 0.5 } else { p as f64 / g as f64 };
        }
        passed as f64 / graded as f64
    }
}

/// Each student's first attempt at each course, by student.
fn by_student(rows: &[Taken], before_seq: i64) -> HashMap<i64, Vec<Taken>> {
    let mut out: HashMap<i64, HashMap<i64, Taken>> = HashMap::new();
    for r in rows.iter().filter(|r| r.seq < before_seq) {
        let mine = out.entry(r.student).or_default();
        match mine.get(&r.course) {
            Some(t) if t.seq <= r.seq => {}
            _ => {
                mine.insert(r.course, *r);
            }
        }
    }
    out.into_iter()
        .map(|(s, m)| (s, m.into_values().collect()))
        .collect()
}

/// Learns the pair statistics from the grades of terms before `before_seq`.
pub fn learn(rows: &[Taken], before_seq: i64) -> Stats {
    let mut stats = Stats::default();
    for r in rows.iter().filter(|r| r.seq < before_seq) {
        let e = stats.course.entry(r.course).or_default();
        e.0 += 1;
        e.1 += i64::from(r.passed);
    }
    for taken in by_student(rows, before_seq).values() {
        for a in taken {
            let b = band(a.score);
            *stats.cohort.entry((a.course, b)).or_default() += 1;
            for c in taken
                .iter()
                .filter(|c| c.seq > a.seq && c.seq - a.seq <= HORIZON)
            {
                let e = stats.pairs.entry((a.course, b, c.course)).or_default();
                e.0 += 1;
                e.1 += i64::from(c.passed);
            }
        }
    }
    stats
}

/// Why a course is recommended: the student's course and band that most students share.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reason {
    pub from_course: i64,
    pub band: u8,
    pub students: i64,
    pub pass_rate: f64,
}

/// One recommended course.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rec {
    pub course: i64,
    /// The estimated chance of taking and passing it.
    pub score: f64,
    /// The estimated pass rate for a student with this record.
    pub pass_rate: f64,
    pub reason: Option<Reason>,
}

/// The `k` best of `candidates` for a student with `history` (their graded courses): those
/// that students with the same grades in the same recent courses went on to take and pass.
pub fn rank(stats: &Stats, history: &[Taken], candidates: &[i64], k: usize) -> Vec<Rec> {
    let latest = history.iter().map(|t| t.seq).max().unwrap_or(0);
    let evidence: Vec<(i64, u8)> = history
        .iter()
        .filter(|t| latest - t.seq < HORIZON)
        .map(|t| (t.course, band(t.score)))
        .collect();
    let total: i64 = stats.course.values().map(|(g, _)| g).sum::<i64>().max(1);
    let mut recs: Vec<Rec> = candidates
        .iter()
        .map(|&c| {
            let prior = stats.pass_rate(c);
            let (mut took, mut passed, mut take) = (0, 0, 0.0f64);
            let mut reason: Option<Reason> = None;
            for &(a, b) in &evidence {
                let Some(&(n, p)) = stats.pairs.get(&(a, b, c)) else {
                    continue;
                };
                let cohort = stats.cohort.get(&(a, b)).copied().unwrap_or(n).max(n);
                take = take.max(n as f64 / cohort as f64);
                took += n;
                passed += p;
                if n >= MIN_SUPPORT && reason.as_ref().is_none_or(|r| n > r.students) {
                    reason = Some(Reason {
                        from_course: a,
                        band: b,
                        students: n,
                        pass_rate: p as f64 / n as f64,
                    });
                }
            }
            let pass_rate = (passed as f64 + SHRINK * prior) / (took as f64 + SHRINK);
            // NOTE: a course no similar student took ranks after every one some did, by how
            // many took it at all.
            let popularity = stats.course.get(&c).map_or(0, |(g, _)| *g) as f64 / total as f64;
            let score = if took > 0 {
                take * pass_rate
            } else {
                1e-6 * popularity * prior
            };
            Rec {
                course: c,
                score,
                pass_rate,
                reason,
            }
        })
        .collect();
    recs.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.course.cmp(&b.course)));
    recs.truncate(k);
    recs
}

/// The popularity baseline: the `k` candidates most students took.
pub fn popular(stats: &Stats, candidates: &[i64], k: usize) -> Vec<i64> {
    let mut c = candidates.to_vec();
    c.sort_by_key(|id| (-stats.course.get(id).map_or(0, |(g, _)| *g), *id));
    c.truncate(k);
    c
}

/// Prerequisites: course → (prerequisite, lowest score).
pub type Prereqs = std::collections::HashMap<i64, Vec<(i64, f64)>>;

/// The courses of `offered` a student with `history` could take: not passed yet, and every
/// prerequisite passed with its score.
pub fn eligible(offered: &[i64], history: &[Taken], prereqs: &Prereqs) -> Vec<i64> {
    let best: HashMap<i64, (f64, bool)> = history.iter().fold(HashMap::new(), |mut m, t| {
        let e = m.entry(t.course).or_insert((t.score, t.passed));
        e.0 = e.0.max(t.score);
        e.1 |= t.passed;
        m
    });
    offered
        .iter()
        .copied()
        .filter(|c| !best.get(c).is_some_and(|b| b.1))
        .filter(|c| {
            prereqs.get(c).into_iter().flatten().all(|(p, min)| {
                best.get(p)
                    .is_some_and(|(score, passed)| *passed && *score >= *min)
            })
        })
        .collect()
}

/// How one way of recommending did on the held-out term.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Measured {
    /// Share of students who took at least one of their recommended courses.
    pub hit_rate: f64,
    /// Share of recommendations that the student took.
    pub precision: f64,
    /// Pass rate of the recommended courses the students took.
    pub pass_rate: Option<f64>,
}

/// The offline measurement of the recommendations on the latest completed term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Offline {
    /// The held-out term's code.
    pub term: String,
    pub k: usize,
    /// Students with earlier grades who took courses in the held-out term.
    pub students: usize,
    pub recommended: Measured,
    pub popularity: Measured,
    /// The pass rate of every course taken in the held-out term, for reference.
    pub overall_pass_rate: f64,
}

#[derive(Default)]
struct Tally {
    hits: usize,
    taken: usize,
    shown: usize,
    passed: usize,
}

impl Tally {
    fn add(&mut self, recs: &[i64], actual: &HashMap<i64, bool>) {
        let taken: Vec<bool> = recs.iter().filter_map(|c| actual.get(c).copied()).collect();
        self.hits += usize::from(!taken.is_empty());
        self.taken += taken.len();
        self.passed += taken.iter().filter(|p| **p).count();
        self.shown += recs.len();
    }

    fn measured(&self, students: usize) -> Measured {
        Measured {
            hit_rate: self.hits as f64 / students.max(1) as f64,
            precision: self.taken as f64 / self.shown.max(1) as f64,
            pass_rate: (self.taken > 0).then(|| self.passed as f64 / self.taken as f64),
        }
    }
}

/// Learns from the terms before `test_seq`, recommends `k` of the courses `offered` in it to
/// every student who had grades before and took courses in it, and compares with what they
/// took and passed. None when nobody qualifies.
pub fn evaluate(
    rows: &[Taken],
    test_seq: i64,
    term: &str,
    offered: &[i64],
    prereqs: &Prereqs,
    k: usize,
) -> Option<Offline> {
    let stats = learn(rows, test_seq);
    let mut history: HashMap<i64, Vec<Taken>> = HashMap::new();
    let mut actual: HashMap<i64, HashMap<i64, bool>> = HashMap::new();
    for r in rows {
        if r.seq < test_seq {
            history.entry(r.student).or_default().push(*r);
        } else if r.seq == test_seq {
            actual
                .entry(r.student)
                .or_default()
                .insert(r.course, r.passed);
        }
    }
    let (mut ours, mut base) = (Tally::default(), Tally::default());
    let (mut students, mut graded, mut passed) = (0usize, 0usize, 0usize);
    let offered_set: HashSet<i64> = offered.iter().copied().collect();
    for (student, took) in &actual {
        let Some(h) = history.get(student) else {
            continue;
        };
        students += 1;
        graded += took.len();
        passed += took.values().filter(|p| **p).count();
        let candidates: Vec<i64> = eligible(offered, h, prereqs)
            .into_iter()
            .filter(|c| offered_set.contains(c))
            .collect();
        let recs: Vec<i64> = rank(&stats, h, &candidates, k)
            .iter()
            .map(|r| r.course)
            .collect();
        ours.add(&recs, took);
        base.add(&popular(&stats, &candidates, k), took);
    }
    (students > 0).then(|| Offline {
        term: term.to_string(),
        k,
        students,
        recommended: ours.measured(students),
        popularity: base.measured(students),
        overall_pass_rate: passed as f64 / graded.max(1) as f64,
    })
}
