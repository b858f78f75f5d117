//! The risk model's inputs and its target, computed from the portal's own tables *as of a date*
//! so that a warning can be given in week 4 of a term, not after its exam.
//!
//! Everything here works on a [`Snapshot`] (the relevant tables read once) and never looks at a
//! row dated after the as-of instant: grades count only once published and only for earlier
//! terms, assessment scores only for assessments due before the as-of instant, registration
//! events, holds, cases and messages only up to it. Gender, age and home region are never read.

use crate::entity::{
    assessment_scores, assessments, attendance, attendance_rolls, cases, courses, enrolments,
    grades, grading_scales, holds, learning_activity, messages, registration_events, sections,
    student_history, students, terms,
};
use crate::error::AppResult;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait, Select, TryGetableMany, sea_query::Expr,
};
// NOTE: the snapshot's maps are keyed by ids and looked up millions of times a run (every
// feature of every student of every window); foldhash hashes an id several times faster than
// the standard library's SipHash, and ids are not chosen by an attacker here.
use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeMap;

pub type Ts = DateTime<FixedOffset>;

/// The feature names, in the order of every feature vector. The last nine are the early
/// warning's: attendance and learning-platform activity so far this term, how much of the
/// term's assessment weight has been seen, when the student registered, retaken courses, and
/// whether the first assessment was missed.
pub const FEATURES: [&str; 24] = [
    "prior_gpa",
    "gpa_trend",
    "has_history",
    "prior_failed",
    "prior_dropped",
    "credits_attempted",
    "credits_earned",
    "last_term_score",
    "term_score",
    "term_missed",
    "term_late",
    "term_changes",
    "term_waitlists",
    "holds",
    "contacts",
    "attendance_rate",
    "recent_absences",
    "activity_per_week",
    "activity_trend",
    "days_since_activity",
    "weight_seen",
    "registered_day",
    "prior_attempts",
    "first_missed",
];

pub const PRIOR_GPA: usize = 0;
pub const GPA_TREND: usize = 1;
pub const HAS_HISTORY: usize = 2;
pub const LAST_TERM_SCORE: usize = 7;
pub const TERM_SCORE: usize = 8;
pub const ATTENDANCE_RATE: usize = 15;
pub const RECENT_ABSENCES: usize = 16;
pub const ACTIVITY_PER_WEEK: usize = 17;
pub const ACTIVITY_TREND: usize = 18;
pub const DAYS_SINCE_ACTIVITY: usize = 19;
pub const WEIGHT_SEEN: usize = 20;
pub const REGISTERED_DAY: usize = 21;
pub const PRIOR_ATTEMPTS: usize = 22;
pub const FIRST_MISSED: usize = 23;

/// Days before the as-of date in which absences count as recent.
pub const RECENT_DAYS: i64 = 14;

/// The features describing how a student works this term, used for the clusters.
pub const BEHAVIOUR: [usize; 6] = [0, 8, 9, 10, 11, 14];

/// THE TARGET (the one place it is defined): in term T, seen from the as-of instant, a student
/// is "at risk" when they fail at least one course of T (a published final score below the
/// section's pass mark) or drop at least one course of T after the as-of instant. Drops before
/// the as-of instant are already known and are a feature (`term_changes`), not the outcome.
pub fn failed_or_dropped(snap: &Snapshot, student: i64, term: &terms::Model, as_of: Ts) -> bool {
    let Some(list) = snap.enrol_by_student.get(&student) else {
        return false;
    };
    list.iter().any(|e| {
        let Some(sec) = snap.sections.get(&e.section) else {
            return false;
        };
        if sec.term != term.id {
            return false;
        }
        if e.status == EnrolStatus::Dropped {
            return e.dropped_at.is_some_and(|d| d > as_of);
        }
        snap.grades_by_student
            .get(&student)
            .into_iter()
            .flatten()
            .any(|g| g.section == e.section && g.score < snap.pass_mark(sec.scale))
    })
}

/// How long after the last stored term ends a withdrawal still counts as leaving in it (a term
/// with a next term uses that term's first day instead).
pub const LEAVE_GRACE_DAYS: i64 = 56;

/// THE LEAVING TARGET (the one place it is defined): in term T, seen from the as-of instant, a
/// student "leaves the university" when their status becomes `withdrawn` after the as-of
/// instant and before the next term begins (the first day of the term after T by `seq`; for
/// the latest term, [`LEAVE_GRACE_DAYS`] after its last day). The withdrawal instants come from
/// the student's history (`student_history`, field `status`, new value `withdrawn`), or, for a
/// withdrawn student without such a row, from `students.status_changed_at`. Suspension
/// (`suspended`) and graduation are not leaving. A withdrawal before the as-of instant is not
/// an outcome to predict: such a student no longer takes part in the term.
pub fn leaves(snap: &Snapshot, student: i64, term: &terms::Model, as_of: Ts) -> bool {
    let Some(list) = snap.withdrawn_at.get(&student) else {
        return false;
    };
    let until = leave_deadline(snap, term);
    list.iter().any(|d| *d > as_of && *d < until)
}

/// The end of term T's leaving window (see [`leaves`]).
pub fn leave_deadline(snap: &Snapshot, term: &terms::Model) -> Ts {
    match snap
        .terms
        .iter()
        .filter(|t| t.seq > term.seq)
        .min_by_key(|t| t.seq)
    {
        Some(next) => as_of_in(next, Duration::zero()),
        None => {
            as_of_in(term, Duration::days(1 + LEAVE_GRACE_DAYS)) + (term.ends_on - term.starts_on)
        }
    }
}

pub struct SectionRow {
    pub term: i64,
    pub course: i64,
    pub teacher: Option<i64>,
    pub scale: Option<i64>,
}

/// An enrolment's status, kept as a byte rather than a string (a 50,000-student university
/// has over a million enrolments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolStatus {
    Enrolled,
    Dropped,
    Other,
}

impl From<&str> for EnrolStatus {
    fn from(s: &str) -> Self {
        match s {
            "enrolled" => EnrolStatus::Enrolled,
            "dropped" => EnrolStatus::Dropped,
            _ => EnrolStatus::Other,
        }
    }
}

/// An assessment score's status (submitted, late, missing, ...), as a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreStatus {
    Late,
    Missing,
    Other,
}

impl From<&str> for ScoreStatus {
    fn from(s: &str) -> Self {
        match s {
            "late" => ScoreStatus::Late,
            "missing" => ScoreStatus::Missing,
            _ => ScoreStatus::Other,
        }
    }
}

/// An attendance mark, as a byte (present is also the default on a taken roll).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Present,
    Absent,
    Late,
    Excused,
}

impl From<&str> for Mark {
    fn from(s: &str) -> Self {
        match s {
            "absent" => Mark::Absent,
            "late" => Mark::Late,
            "excused" => Mark::Excused,
            _ => Mark::Present,
        }
    }
}

/// A registration event's action, as a byte: only drops and waitlists are features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    Drop,
    Waitlist,
    Other,
}

impl From<&str> for EventAction {
    fn from(s: &str) -> Self {
        match s {
            "drop" => EventAction::Drop,
            "waitlist" => EventAction::Waitlist,
            _ => EventAction::Other,
        }
    }
}

pub struct EnrolRow {
    pub section: i64,
    pub status: EnrolStatus,
    pub created_at: Ts,
    pub dropped_at: Option<Ts>,
}

pub struct GradeRow {
    pub section: i64,
    pub score: f64,
    pub points: f64,
    pub published_at: Option<Ts>,
}

pub struct ScoreRow {
    pub assessment: i64,
    pub score: Option<f64>,
    pub status: ScoreStatus,
}

pub struct AssessmentRow {
    pub section: i64,
    pub weight: f64,
    pub due_at: Option<Ts>,
    pub max_score: f64,
}

pub struct StudentRow {
    pub id: i64,
    pub student_no: String,
    pub name: String,
    pub department: i64,
    pub gender: String,
    pub status: String,
    pub advisor: Option<i64>,
}

/// The tables the features are computed from, read once per run.
#[derive(Default)]
pub struct Snapshot {
    pub terms: Vec<terms::Model>,
    pub students: Vec<StudentRow>,
    pub sections: HashMap<i64, SectionRow>,
    pub credits: HashMap<i64, f64>,
    pub pass_marks: HashMap<i64, f64>,
    pub default_pass_mark: f64,
    pub assessments: HashMap<i64, AssessmentRow>,
    /// Each section's assessments (ids into `assessments`).
    pub assessments_by_section: HashMap<i64, Vec<i64>>,
    pub enrol_by_student: HashMap<i64, Vec<EnrolRow>>,
    pub grades_by_student: HashMap<i64, Vec<GradeRow>>,
    pub scores_by_student: HashMap<i64, Vec<ScoreRow>>,
    /// Registration events (section, action, instant) of the windows' terms up to their as-of
    /// instants, by student.
    pub events_by_student: HashMap<i64, Vec<(i64, EventAction, Ts)>>,
    pub holds_by_student: HashMap<i64, Vec<Ts>>,
    pub contacts_by_student: HashMap<i64, Vec<Ts>>,
    /// When each student's status became `withdrawn` (see [`leaves`]), oldest first.
    pub withdrawn_at: HashMap<i64, Vec<Ts>>,
    /// The days each section's roll was taken (the windows' terms, before their as-of dates).
    pub rolls: HashMap<i64, Vec<NaiveDate>>,
    /// Attendance marks other than present: (section, day, mark), by student, in (section, day)
    /// order.
    pub marks_by_student: HashMap<i64, Vec<(i64, NaiveDate, Mark)>>,
    /// Learning-platform activity: (section, day, count), by student, in (section, day) order.
    pub activity_by_student: HashMap<i64, Vec<(i64, NaiveDate, i64)>>,
}

impl Snapshot {
    pub fn pass_mark(&self, scale: Option<i64>) -> f64 {
        scale
            .and_then(|s| self.pass_marks.get(&s).copied())
            .unwrap_or(self.default_pass_mark)
    }

    pub fn term(&self, id: i64) -> Option<&terms::Model> {
        self.terms.iter().find(|t| t.id == id)
    }

    fn seq_of_section(&self, section: i64) -> Option<i64> {
        let term = self.sections.get(&section)?.term;
        self.term(term).map(|t| t.seq)
    }
}

/// Reads everything the features need (columns only; enrolments, grades, scores, attendance
/// and activity by groups of sections or assessments, registration events by groups of
/// students, each packed one text per key, see [`by_groups`] and [`packed`]). Assessment scores,
/// registration events, attendance and activity are read only for the `windows` asked for:
/// (term, as-of) pairs, each up to its as-of instant; a term in several windows up to the
/// latest (features look only at what was known on their own day, so one snapshot serves every
/// day up to it).
pub async fn load(db: &impl ConnectionTrait, windows: &[(i64, Ts)]) -> AppResult<Snapshot> {
    let mut snap = Snapshot {
        default_pass_mark: 60.0,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    load_terms_and_scales(db, &mut snap).await?;
    snap.students = load_students(db).await?;
    load_catalogue(db, &mut snap).await?;
    let catalogue = started.elapsed();
    load_activity(db, windows, &mut snap).await?;
    let records = started.elapsed();
    load_engagement(db, windows, &mut snap).await?;
    let engagement = started.elapsed();
    snap.withdrawn_at = load_withdrawals(db).await?;
    snap.holds_by_student = load_holds(db).await?;
    snap.contacts_by_student = load_contacts(db).await?;
    tracing::debug!(
        catalogue_ms = catalogue.as_millis(),
        records_ms = (records - catalogue).as_millis(),
        engagement_ms = (engagement - records).as_millis(),
        rest_ms = (started.elapsed() - engagement).as_millis(),
        "snapshot read"
    );
    Ok(snap)
}

/// The terms in order, and the pass mark of every grading scale (and of the default one).
async fn load_terms_and_scales(db: &impl ConnectionTrait, snap: &mut Snapshot) -> AppResult<()> {
    let mut terms = terms::Entity::find().all(db).await?;
    terms.sort_by_key(|t| t.seq);
    snap.terms = terms;
    let scales = grading_scales::Entity::find().all(db).await?;
    snap.default_pass_mark = default_pass_mark(&scales);
    snap.pass_marks = scales.iter().map(|s| (s.id, s.pass_mark)).collect();
    Ok(())
}

/// The pass mark of a section without a grading scale: the lowest of the default scales' (a
/// university may mark several as default), 60 when none is.
pub fn default_pass_mark(scales: &[grading_scales::Model]) -> f64 {
    scales
        .iter()
        .filter(|s| s.is_default)
        .map(|s| s.pass_mark)
        .reduce(f64::min)
        .unwrap_or(60.0)
}

async fn load_students(db: &impl ConnectionTrait) -> AppResult<Vec<StudentRow>> {
    type St = (i64, String, String, i64, String, String, Option<i64>);
    let rows: Vec<St> = students::Entity::find()
        .select_only()
        .columns([
            students::Column::Id,
            students::Column::StudentNo,
            students::Column::NameEn,
            students::Column::DepartmentId,
            students::Column::Gender,
            students::Column::Status,
            students::Column::AdvisorId,
        ])
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, student_no, name, department, gender, status, advisor)| StudentRow {
                id,
                student_no,
                name,
                department,
                gender,
                status,
                advisor,
            },
        )
        .collect())
}

/// Sections, course credits and assessments: the small tables the rows refer to.
async fn load_catalogue(db: &impl ConnectionTrait, snap: &mut Snapshot) -> AppResult<()> {
    type Sec = (i64, i64, i64, Option<i64>, Option<i64>);
    let rows: Vec<Sec> = sections::Entity::find()
        .select_only()
        .columns([
            sections::Column::Id,
            sections::Column::TermId,
            sections::Column::CourseId,
            sections::Column::TeacherId,
            sections::Column::GradingScaleId,
        ])
        .into_tuple()
        .all(db)
        .await?;
    for (id, term, course, teacher, scale) in rows {
        snap.sections.insert(
            id,
            SectionRow {
                term,
                course,
                teacher,
                scale,
            },
        );
    }
    let rows: Vec<(i64, f64)> = courses::Entity::find()
        .select_only()
        .columns([courses::Column::Id, courses::Column::Credits])
        .into_tuple()
        .all(db)
        .await?;
    snap.credits = rows.into_iter().collect();
    let rows: Vec<(i64, i64, f64, Option<Ts>, f64)> = assessments::Entity::find()
        .select_only()
        .columns([
            assessments::Column::Id,
            assessments::Column::SectionId,
            assessments::Column::Weight,
            assessments::Column::DueAt,
            assessments::Column::MaxScore,
        ])
        .into_tuple()
        .all(db)
        .await?;
    for (id, section, weight, due_at, max_score) in rows {
        snap.assessments_by_section
            .entry(section)
            .or_default()
            .push(id);
        snap.assessments.insert(
            id,
            AssessmentRow {
                section,
                weight,
                due_at,
                max_score,
            },
        );
    }
    Ok(())
}

/// The four big tables (enrolments, published grades, the windows' assessment scores and
/// registration events), by student.
async fn load_activity(
    db: &impl ConnectionTrait,
    windows: &[(i64, Ts)],
    snap: &mut Snapshot,
) -> AppResult<()> {
    let mut enrol_by_student: HashMap<i64, Vec<EnrolRow>> = HashMap::new();
    let mut grades_by_student: HashMap<i64, Vec<GradeRow>> = HashMap::new();
    let mut scores_by_student: HashMap<i64, Vec<ScoreRow>> = HashMap::new();
    let mut events_by_student: HashMap<i64, Vec<(i64, EventAction, Ts)>> = HashMap::new();
    // NOTE: the four big tables are read at once (SQLite reads each on its own worker thread),
    // each in batches, converted to compact rows batch by batch: holding every driver row of
    // the four tables at once cost over a gigabyte on a 50,000-student university.
    // NOTE: a term after every window's term is never read (a feature looks back, a target at
    // its own term): the early warning's snapshot leaves the current term's rows out.
    let last = windows
        .iter()
        .filter_map(|(t, _)| snap.term(*t).map(|t| t.seq))
        .max()
        .unwrap_or(i64::MAX);
    let upto: Vec<i64> = snap
        .terms
        .iter()
        .filter(|t| t.seq <= last)
        .map(|t| t.id)
        .collect();
    let mut sections: Vec<i64> = snap
        .sections
        .iter()
        .filter(|(_, s)| upto.contains(&s.term))
        .map(|(id, _)| *id)
        .collect();
    sections.sort_unstable();
    let due = window_assessments(snap, windows);
    let mut students: Vec<i64> = snap.students.iter().map(|s| s.id).collect();
    students.sort_unstable();
    tokio::try_join!(
        load_enrolments(db, &sections, &mut enrol_by_student),
        load_grades(db, &sections, &mut grades_by_student),
        load_scores(db, &due, &mut scores_by_student),
        load_events(db, windows, &students, &mut events_by_student),
    )?;
    // NOTE: groups come back in whatever order the database's plan gives; a student's rows are
    // put in one order (by section, by assessment) so that sums of scores are the same to the
    // last bit on SQLite and PostgreSQL, run after run.
    for rows in enrol_by_student.values_mut() {
        rows.sort_unstable_by_key(|r| (r.section, r.created_at));
    }
    for rows in grades_by_student.values_mut() {
        rows.sort_unstable_by_key(|r| r.section);
    }
    for rows in scores_by_student.values_mut() {
        rows.sort_unstable_by_key(|r| r.assessment);
    }
    snap.enrol_by_student = enrol_by_student;
    snap.grades_by_student = grades_by_student;
    snap.scores_by_student = scores_by_student;
    snap.events_by_student = events_by_student;
    Ok(())
}

/// The assessments of each window's term due by its as-of instant, in id order.
fn window_assessments(snap: &Snapshot, windows: &[(i64, Ts)]) -> Vec<i64> {
    let mut ids: Vec<i64> = snap
        .assessments
        .iter()
        .filter(|(_, a)| {
            let term = snap.sections.get(&a.section).map(|s| s.term);
            windows
                .iter()
                .any(|(t, as_of)| Some(*t) == term && a.due_at.is_some_and(|d| d <= *as_of))
        })
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    ids
}

async fn load_enrolments(
    db: &impl ConnectionTrait,
    sections: &[i64],
    out: &mut HashMap<i64, Vec<EnrolRow>>,
) -> Result<(), DbErr> {
    use Field::{Plain, Time};
    let fields = [
        Plain(r#""student_id""#),
        Plain(r#""status""#),
        Time(r#""created_at""#),
        Time(r#""dropped_at""#),
    ];
    let query = enrolments::Entity::find()
        .select_only()
        .column(enrolments::Column::SectionId)
        .column_as(Expr::cust(packed(db, &fields)), "packed")
        .group_by(enrolments::Column::SectionId);
    let read = |section, [student, status, created_at, dropped_at]: [&str; 4]| {
        let row = EnrolRow {
            section,
            status: status.into(),
            created_at: read_time(created_at)?,
            dropped_at: read_optional_time(dropped_at)?,
        };
        Some((student.parse().ok()?, row))
    };
    let key = enrolments::Column::SectionId;
    packed_by_student(db, query, key, sections, "an enrolment", read, out).await
}

async fn load_grades(
    db: &impl ConnectionTrait,
    sections: &[i64],
    out: &mut HashMap<i64, Vec<GradeRow>>,
) -> Result<(), DbErr> {
    use Field::{Double, Plain, Time};
    let fields = [
        Plain(r#""student_id""#),
        Double(r#""score""#),
        Double(r#""points""#),
        Time(r#""published_at""#),
    ];
    let query = grades::Entity::find()
        .select_only()
        .column(grades::Column::SectionId)
        .column_as(Expr::cust(packed(db, &fields)), "packed")
        .filter(grades::Column::Status.eq("published"))
        .group_by(grades::Column::SectionId);
    let read = |section, [student, score, points, published_at]: [&str; 4]| {
        let row = GradeRow {
            section,
            score: score.parse().ok()?,
            points: points.parse().ok()?,
            published_at: read_optional_time(published_at)?,
        };
        Some((student.parse().ok()?, row))
    };
    let key = grades::Column::SectionId;
    packed_by_student(db, query, key, sections, "a published grade", read, out).await
}

/// Scores of `assessments` (those of each window's term due by its as-of instant).
async fn load_scores(
    db: &impl ConnectionTrait,
    assessments: &[i64],
    out: &mut HashMap<i64, Vec<ScoreRow>>,
) -> Result<(), DbErr> {
    // NOTE: packed one text per assessment, as attendance and activity are (see `packed`).
    use Field::{Double, Plain};
    let fields = [
        Plain(r#""student_id""#),
        Double(r#""score""#),
        Plain(r#""status""#),
    ];
    let query = assessment_scores::Entity::find()
        .select_only()
        .column(assessment_scores::Column::AssessmentId)
        .column_as(Expr::cust(packed(db, &fields)), "packed")
        .group_by(assessment_scores::Column::AssessmentId);
    let read = |assessment, [student, score, status]: [&str; 3]| {
        let score = match score {
            "" => None,
            text => Some(text.parse().ok()?),
        };
        let row = ScoreRow {
            assessment,
            score,
            status: status.into(),
        };
        Some((student.parse().ok()?, row))
    };
    let key = assessment_scores::Column::AssessmentId;
    packed_by_student(
        db,
        query,
        key,
        assessments,
        "an assessment score",
        read,
        out,
    )
    .await
}

/// Registration events of each window's term up to its as-of instant: the only ones a
/// feature counts (see [`features`]).
async fn load_events(
    db: &impl ConnectionTrait,
    windows: &[(i64, Ts)],
    students: &[i64],
    out: &mut HashMap<i64, Vec<(i64, EventAction, Ts)>>,
) -> Result<(), DbErr> {
    let in_windows = windows.iter().fold(Condition::any(), |c, (term, as_of)| {
        c.add(
            Condition::all()
                .add(sections::Column::TermId.eq(*term))
                .add(registration_events::Column::At.lte(*as_of)),
        )
    });
    use Field::{Plain, Time};
    let fields = [
        Plain(r#""registration_events"."id""#),
        Plain(r#""registration_events"."section_id""#),
        Plain(r#""registration_events"."action""#),
        Time(r#""registration_events"."at""#),
    ];
    let query = registration_events::Entity::find()
        .select_only()
        .column(registration_events::Column::StudentId)
        .column_as(Expr::cust(packed(db, &fields)), "packed")
        .join(
            JoinType::InnerJoin,
            registration_events::Entity::belongs_to(sections::Entity)
                .from(registration_events::Column::SectionId)
                .to(sections::Column::Id)
                .into(),
        )
        .filter(in_windows)
        .group_by(registration_events::Column::StudentId);
    let mut entries = Entries::default();
    // NOTE: a student's events in the order they were recorded (by id), as a feature reads
    // them; the packed order is whatever the database's plan gives.
    let mut events: Vec<(i64, (i64, EventAction, Ts))> = Vec::new();
    by_groups(
        db,
        query,
        registration_events::Column::StudentId,
        students,
        |(student, packed): (i64, String)| {
            let read = |[id, section, action, at]: [&str; 4]| {
                let event = (section.parse().ok()?, action.into(), read_time(at)?);
                Some((id.parse::<i64>().ok()?, event))
            };
            events.clear();
            entries.each(&packed, read, |event| events.push(event));
            events.sort_unstable_by_key(|(id, _)| *id);
            out.insert(student, events.iter().map(|(_, e)| *e).collect());
        },
    )
    .await?;
    entries.read("a registration event")
}

/// Whether a row of `table` dated by `day` falls in one of the windows: its section in the
/// window's term, its day before the window's as-of date (a day is known once it is over).
fn in_windows<C: ColumnTrait>(windows: &[(i64, Ts)], day: C) -> Condition {
    windows.iter().fold(Condition::any(), |c, (term, as_of)| {
        c.add(
            Condition::all()
                .add(sections::Column::TermId.eq(*term))
                .add(day.lt(as_of.date_naive())),
        )
    })
}

/// Attendance (rolls taken and the marks other than present) and learning-platform activity
/// of the windows' terms, each up to its as-of date.
async fn load_engagement(
    db: &impl ConnectionTrait,
    windows: &[(i64, Ts)],
    snap: &mut Snapshot,
) -> Result<(), DbErr> {
    let rolls: Vec<(i64, NaiveDate)> = attendance_rolls::Entity::find()
        .select_only()
        .columns([
            attendance_rolls::Column::SectionId,
            attendance_rolls::Column::HeldOn,
        ])
        .join(
            JoinType::InnerJoin,
            attendance_rolls::Relation::Sections.def(),
        )
        .filter(in_windows(windows, attendance_rolls::Column::HeldOn))
        .into_tuple()
        .all(db)
        .await?;
    for (section, day) in rolls {
        snap.rolls.entry(section).or_default().push(day);
    }
    use Field::Plain;
    let marks_fields = [
        Plain(r#""student_id""#),
        Plain(r#""held_on""#),
        Plain(r#""status""#),
    ];
    let activity_fields = [
        Plain(r#""student_id""#),
        Plain(r#""day""#),
        Plain(r#""count""#),
    ];
    // NOTE: read by groups of a window's sections: each query is one range per section of
    // the (section, day) indexes, so only the windows' days are read, not every term's rows.
    for (before, sections) in window_sections(snap, windows) {
        // NOTE: the two biggest tables (a row per student, section and day) come packed, one
        // row per section: `student,day,value;…` (see `packed`). Through the driver a row
        // costs about as much as a few dozen of these entries, and the groups follow the
        // (section, day) indexes' order, so neither database sorts.
        let query = attendance::Entity::find()
            .select_only()
            .column(attendance::Column::SectionId)
            .column_as(Expr::cust(packed(db, &marks_fields)), "packed")
            .filter(attendance::Column::HeldOn.lt(before))
            .filter(attendance::Column::Status.ne("present"))
            .group_by(attendance::Column::SectionId);
        let read = |section, fields: [&str; 3]| {
            let (student, day, mark) = read_dated(fields)?;
            Some((student, (section, day, mark.into())))
        };
        let attendance = packed_by_student(
            db,
            query,
            attendance::Column::SectionId,
            &sections,
            "an attendance mark",
            read,
            &mut snap.marks_by_student,
        );
        let query = learning_activity::Entity::find()
            .select_only()
            .column(learning_activity::Column::SectionId)
            .column_as(Expr::cust(packed(db, &activity_fields)), "packed")
            .filter(learning_activity::Column::Day.lt(before))
            .group_by(learning_activity::Column::SectionId);
        let read = |section, fields: [&str; 3]| {
            let (student, day, count) = read_dated(fields)?;
            Some((student, (section, day, count.parse().ok()?)))
        };
        let activity = packed_by_student(
            db,
            query,
            learning_activity::Column::SectionId,
            &sections,
            "a learning-activity count",
            read,
            &mut snap.activity_by_student,
        );
        // NOTE: both at once: each is stepped on its own connection's thread.
        tokio::try_join!(attendance, activity)?;
    }
    // NOTE: a student's rows in (section, day) order, so that a feature finds one section's
    // days by binary search instead of reading every row of every term (see `early_signals`).
    for rows in snap.marks_by_student.values_mut() {
        rows.sort_unstable_by_key(|(section, day, _)| (*section, *day));
    }
    for rows in snap.activity_by_student.values_mut() {
        rows.sort_unstable_by_key(|(section, day, _)| (*section, *day));
    }
    Ok(())
}

/// A field of a [`packed`] text: a column (named in SQL, quoted; fixed here, never input) and
/// how it is written so that it reads back to the same value.
#[derive(Clone, Copy)]
enum Field {
    /// An integer, a date (both databases write `YYYY-MM-DD`, PostgreSQL in sqlx's ISO date
    /// style) or a text without `,` or `;` (a status, a kind): as it is.
    Plain(&'static str),
    /// A double, nothing when NULL: SQLite writes a double in a text with 15 digits, so it is
    /// asked for 17 with the flag that allows more than 16; PostgreSQL writes the shortest
    /// exact form under sqlx's `extra_float_digits`.
    Double(&'static str),
    /// A date-time, nothing when NULL, read by [`read_time`]: SQLite's text as stored (sqlx
    /// writes RFC 3339, keeping the offset it was given); PostgreSQL's instant in UTC to the
    /// microsecond, as sqlx reads it.
    Time(&'static str),
}

/// Rows of a table as one text per group: entries of the `fields`, `,` between fields and `;`
/// between entries. `string_agg` is standard SQL, in SQLite since 3.44 and PostgreSQL since
/// 9.0. Through the driver a row costs about as much as a few dozen of these entries.
fn packed(db: &impl ConnectionTrait, fields: &[Field]) -> String {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let written: Vec<String> = fields
        .iter()
        .map(|field| match (*field, postgres) {
            (Field::Plain(c), _) => c.to_string(),
            (Field::Double(c), true) => format!("coalesce({c}::text, '')"),
            (Field::Double(c), false) => {
                format!("CASE WHEN {c} IS NULL THEN '' ELSE printf('%!.17g', {c}) END")
            }
            // NOTE: `to_char` writes no era, no sign and nothing for ±infinity. A year past
            // 9999 gets the sign chrono reads it with (as sqlx writes it on SQLite); BC and
            // infinity are written as PostgreSQL's own text, which does not read: the run names
            // the entry instead of taking 44 BC for AD 44 or infinity for NULL.
            (Field::Time(c), true) => format!(
                r#"CASE WHEN {c} IS NULL THEN '' WHEN isfinite({c}) AND {c} >= '0001-01-01 00:00:00+00' THEN CASE WHEN {c} >= '10000-01-01 00:00:00+00' THEN '+' ELSE '' END || to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') ELSE {c}::text END"#
            ),
            (Field::Time(c), false) => format!("coalesce({c}, '')"),
        })
        .collect();
    format!("string_agg({}, ';')", written.join(" || ',' || "))
}

/// A packed date-time (see [`Field::Time`]) read as sqlx reads one from SQLite: RFC 3339 (what
/// the portal writes), the other forms SQLite's date functions write (without an offset: UTC),
/// a whole number of seconds since 1970, or a Julian day.
pub fn read_time(text: &str) -> Option<Ts> {
    const FORMS: [&str; 12] = [
        "%F %T%.f",
        "%F %R",
        "%F %RZ",
        "%F %R%:z",
        "%F %T%.fZ",
        "%F %T%.f%:z",
        "%FT%R",
        "%FT%RZ",
        "%FT%R%:z",
        "%FT%T%.f",
        "%FT%T%.fZ",
        "%FT%T%.f%:z",
    ];
    let utc = |naive: chrono::NaiveDateTime| naive.and_utc().fixed_offset();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time);
    }
    for form in FORMS {
        if let Ok(time) = DateTime::parse_from_str(text, form) {
            return Some(time);
        }
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, form) {
            return Some(utc(naive));
        }
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return DateTime::from_timestamp(seconds, 0).map(|t| t.fixed_offset());
    }
    let days: f64 = text.parse().ok()?;
    let seconds = (days - 2_440_587.5) * 86_400.0;
    if !seconds.is_finite() || seconds.abs() > 1e15 {
        return None;
    }
    // NOTE: a Julian day's fraction to the nanosecond, as sqlx rounds it.
    let nanos = (seconds.fract() * 1e9).abs() as u32;
    DateTime::from_timestamp(seconds.trunc() as i64, nanos).map(|t| t.fixed_offset())
}

/// A packed date-time that may be NULL (written as nothing).
fn read_optional_time(text: &str) -> Option<Option<Ts>> {
    match text {
        "" => Some(None),
        text => read_time(text).map(Some),
    }
}

/// The entries of packed texts (`a,b,c;a,b,c;…`), each read from its fields; the
/// first entry that does not read is kept to be reported once the read is over.
#[derive(Default)]
pub struct Entries {
    unreadable: Option<String>,
}

impl Entries {
    /// Gives `keep` each entry of `packed` that has `N` fields and that `read` makes sense of.
    pub fn each<'a, const N: usize, T>(
        &mut self,
        packed: &'a str,
        read: impl Fn([&'a str; N]) -> Option<T>,
        mut keep: impl FnMut(T),
    ) {
        for entry in packed.split(';') {
            match fields(entry).and_then(&read) {
                Some(value) => keep(value),
                None => {
                    self.unreadable.get_or_insert_with(|| entry.to_string());
                }
            }
        }
    }

    /// Whether every entry was read; `what` names one entry in the error.
    pub fn read(self, what: &str) -> Result<(), DbErr> {
        match self.unreadable {
            Some(entry) => Err(DbErr::Custom(format!(
                "{what} could not be read: {entry:?}"
            ))),
            None => Ok(()),
        }
    }
}

/// Reads `query` (the `key` column, then one [`packed`] text) by groups of `keys` (see
/// [`by_groups`]), each entry read by `read` with its group's key into its student and row,
/// added to that student's rows in `out`; `what` names an entry in the error when one does not
/// read.
async fn packed_by_student<E, C, R, const N: usize>(
    db: &C,
    query: Select<E>,
    key: E::Column,
    keys: &[i64],
    what: &str,
    read: impl Fn(i64, [&str; N]) -> Option<(i64, R)>,
    out: &mut HashMap<i64, Vec<R>>,
) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    let mut entries = Entries::default();
    by_groups(db, query, key, keys, |(group, packed): (i64, String)| {
        let read = |fields| read(group, fields);
        entries.each(&packed, read, |(student, row)| {
            out.entry(student).or_default().push(row)
        })
    })
    .await?;
    entries.read(what)
}

/// The `N` fields of a packed entry; none when it has more or fewer.
fn fields<const N: usize>(entry: &str) -> Option<[&str; N]> {
    let mut parts = entry.split(',');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    parts.next().is_none().then_some(out)
}

/// One entry of a [`packed`] text: student, day and the value as written.
pub fn read_dated([student, day, value]: [&str; 3]) -> Option<(i64, NaiveDate, &str)> {
    let student = student.parse().ok()?;
    let dashes = day.get(4..5) == Some("-") && day.get(7..8) == Some("-");
    let day = match (
        day.get(0..4),
        day.get(5..7),
        day.get(8..10),
        day.len(),
        dashes,
    ) {
        (Some(y), Some(m), Some(d), 10, true) => {
            NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?
        }
        // NOTE: a year outside 0000–9999 (written with its sign) takes chrono's own parser.
        _ => day.parse().ok()?,
    };
    Some((student, day, value))
}

/// The rows of `section` in a student's rows kept in (section, day) order.
fn of_section<T>(rows: &[(i64, NaiveDate, T)], section: i64) -> &[(i64, NaiveDate, T)] {
    let from = rows.partition_point(|r| r.0 < section);
    let to = from + rows[from..].partition_point(|r| r.0 == section);
    &rows[from..to]
}

/// Each window term's first day not read (its as-of date: a day is known once it is over; a
/// term in two windows is read up to the later one) and its sections, in id order.
fn window_sections(snap: &Snapshot, windows: &[(i64, Ts)]) -> Vec<(NaiveDate, Vec<i64>)> {
    let mut by_term: HashMap<i64, (NaiveDate, Vec<i64>)> = HashMap::new();
    for (term, as_of) in windows {
        let day = as_of.date_naive();
        let entry = by_term.entry(*term).or_insert((day, Vec::new()));
        entry.0 = entry.0.max(day);
    }
    for (id, s) in &snap.sections {
        if let Some((_, ids)) = by_term.get_mut(&s.term) {
            ids.push(*id);
        }
    }
    let mut out: Vec<(NaiveDate, Vec<i64>)> = by_term.into_values().collect();
    for (_, ids) in &mut out {
        ids.sort_unstable();
    }
    out
}

/// When each student withdrew, oldest first: from the history, else (no such row) from the
/// record's own date.
async fn load_withdrawals(db: &impl ConnectionTrait) -> AppResult<HashMap<i64, Vec<Ts>>> {
    let mut withdrawn_at: HashMap<i64, Vec<Ts>> = HashMap::new();
    let rows: Vec<(i64, Ts)> = student_history::Entity::find()
        .select_only()
        .columns([
            student_history::Column::StudentId,
            student_history::Column::At,
        ])
        .filter(student_history::Column::Field.eq("status"))
        .filter(student_history::Column::NewValue.eq("withdrawn"))
        .order_by_asc(student_history::Column::At)
        .into_tuple()
        .all(db)
        .await?;
    for (student, at) in rows {
        withdrawn_at.entry(student).or_default().push(at);
    }
    let rows: Vec<(i64, Ts)> = students::Entity::find()
        .select_only()
        .columns([students::Column::Id, students::Column::StatusChangedAt])
        .filter(students::Column::Status.eq("withdrawn"))
        .into_tuple()
        .all(db)
        .await?;
    for (student, at) in rows {
        withdrawn_at.entry(student).or_insert_with(|| vec![at]);
    }
    Ok(withdrawn_at)
}

async fn load_holds(db: &impl ConnectionTrait) -> AppResult<HashMap<i64, Vec<Ts>>> {
    let rows: Vec<(i64, Ts)> = holds::Entity::find()
        .select_only()
        .columns([holds::Column::StudentId, holds::Column::PlacedAt])
        .into_tuple()
        .all(db)
        .await?;
    let mut by_student: HashMap<i64, Vec<Ts>> = HashMap::new();
    for (student, at) in rows {
        by_student.entry(student).or_default().push(at);
    }
    Ok(by_student)
}

/// Contacts a student made: the cases they raised and the messages they sent (by their
/// account).
async fn load_contacts(db: &impl ConnectionTrait) -> AppResult<HashMap<i64, Vec<Ts>>> {
    let mut by_student: HashMap<i64, Vec<Ts>> = HashMap::new();
    let rows: Vec<(i64, Ts)> = cases::Entity::find()
        .select_only()
        .columns([cases::Column::StudentId, cases::Column::CreatedAt])
        .into_tuple()
        .all(db)
        .await?;
    for (student, at) in rows {
        by_student.entry(student).or_default().push(at);
    }
    let user_to_student: HashMap<i64, i64> = students::Entity::find()
        .select_only()
        .columns([students::Column::UserId, students::Column::Id])
        .filter(students::Column::UserId.is_not_null())
        .into_tuple::<(Option<i64>, i64)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(u, s)| u.map(|u| (u, s)))
        .collect();
    let rows: Vec<(i64, Ts)> = messages::Entity::find()
        .select_only()
        .columns([messages::Column::SenderId, messages::Column::SentAt])
        .into_tuple()
        .all(db)
        .await?;
    for (user, at) in rows {
        if let Some(s) = user_to_student.get(&user) {
            by_student.entry(*s).or_default().push(at);
        }
    }
    Ok(by_student)
}

/// Keys per query when reading a big table by groups (see [`by_groups`]).
const GROUP: usize = 200;

/// Reads `query` once per group of [`GROUP`] of `keys` (rows whose `key` column is one of the
/// group's), handing each row to `each`: by an index on that column, only the rows asked for
/// are read, and memory holds one group's driver rows at a time.
async fn by_groups<E, T, C>(
    db: &C,
    query: Select<E>,
    key: E::Column,
    keys: &[i64],
    mut each: impl FnMut(T),
) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    E: EntityTrait,
    T: TryGetableMany,
{
    for group in keys.chunks(GROUP) {
        let rows: Vec<T> = query
            .clone()
            .filter(key.is_in(group.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        rows.into_iter().for_each(&mut each);
    }
    Ok(())
}

/// The as-of instant of `term` that corresponds to `offset` after its first day (so "week 4"
/// of an earlier term is compared with week 4 of the current one).
pub fn as_of_in(term: &terms::Model, offset: Duration) -> Ts {
    let start = term
        .starts_on
        .and_time(NaiveTime::MIN)
        .and_utc()
        .fixed_offset();
    start + offset
}

/// The students taking part in `term` at `as_of`: enrolled in at least one of its sections on
/// that date (enrolled then, whether or not they drop later).
pub fn participants(snap: &Snapshot, term: i64, as_of: Ts) -> Vec<i64> {
    snap.students
        .iter()
        .filter(|s| {
            snap.enrol_by_student.get(&s.id).is_some_and(|list| {
                list.iter().any(|e| {
                    snap.sections
                        .get(&e.section)
                        .is_some_and(|x| x.term == term)
                        && e.created_at <= as_of
                        && (e.status == EnrolStatus::Enrolled
                            || (e.status == EnrolStatus::Dropped
                                && e.dropped_at.is_some_and(|d| d > as_of)))
                })
            })
        })
        .map(|s| s.id)
        .collect()
}

/// The feature vector of `student` in `term`, using only what was known at `as_of`.
pub fn features(snap: &Snapshot, student: i64, term: &terms::Model, as_of: Ts) -> Vec<f64> {
    let mut f = vec![0.0; FEATURES.len()];
    // Earlier terms' published grades: GPA, its trend, failures, credits.
    // NOTE: in term order (not a hash map's, which differs from map to map): the GPA's sums
    // are then the same to the last bit whichever snapshot or run computes them.
    let mut by_seq: BTreeMap<i64, (f64, f64, f64, usize)> = BTreeMap::new(); // credits, points*credits, score sum, n
    for g in snap.grades_by_student.get(&student).into_iter().flatten() {
        let Some(seq) = snap.seq_of_section(g.section) else {
            continue;
        };
        if seq >= term.seq || g.published_at.is_none_or(|p| p > as_of) {
            continue;
        }
        let Some(sec) = snap.sections.get(&g.section) else {
            continue;
        };
        let cr = snap.credits.get(&sec.course).copied().unwrap_or(0.0);
        let e = by_seq.entry(seq).or_default();
        e.0 += cr;
        e.1 += cr * g.points;
        e.2 += g.score;
        e.3 += 1;
        f[5] += cr;
        if g.score < snap.pass_mark(sec.scale) {
            f[3] += 1.0;
        } else {
            f[6] += cr;
        }
    }
    let (total_cr, total_pts) = by_seq
        .values()
        .fold((0.0, 0.0), |(a, b), v| (a + v.0, b + v.1));
    if total_cr > 0.0 {
        f[PRIOR_GPA] = total_pts / total_cr;
        f[HAS_HISTORY] = 1.0;
    }
    let seqs: Vec<i64> = by_seq.keys().copied().collect();
    let gpa = |v: &(f64, f64, f64, usize)| if v.0 > 0.0 { v.1 / v.0 } else { 0.0 };
    if let Some(last) = seqs.last().and_then(|s| by_seq.get(s)) {
        f[LAST_TERM_SCORE] = last.2 / last.3.max(1) as f64;
        if seqs.len() >= 2
            && let Some(before) = by_seq.get(&seqs[seqs.len() - 2])
        {
            f[GPA_TREND] = gpa(last) - gpa(before);
        }
    }
    // Enrolments: earlier drops, and this term's sections (as of the date).
    let mut this_term: Vec<i64> = Vec::new();
    let mut taking: Vec<Taking> = Vec::new();
    let mut earlier_courses: Vec<i64> = Vec::new();
    for e in snap.enrol_by_student.get(&student).into_iter().flatten() {
        let Some(sec) = snap.sections.get(&e.section) else {
            continue;
        };
        let Some(seq) = snap.term(sec.term).map(|t| t.seq) else {
            continue;
        };
        if seq < term.seq && e.dropped_at.is_some_and(|d| d <= as_of) {
            f[4] += 1.0;
        }
        if seq < term.seq && e.status == EnrolStatus::Enrolled {
            earlier_courses.push(sec.course);
        }
        if sec.term == term.id && e.created_at <= as_of {
            this_term.push(e.section);
            taking.push(Taking {
                section: e.section,
                course: sec.course,
                joined: e.created_at,
                left: e.dropped_at.filter(|d| *d <= as_of),
            });
        }
    }
    // This term's assessments due before the date: weighted score, missed and late.
    let (mut wsum, mut wscore) = (0.0, 0.0);
    for s in snap.scores_by_student.get(&student).into_iter().flatten() {
        let Some(a) = snap.assessments.get(&s.assessment) else {
            continue;
        };
        if !this_term.contains(&a.section) || a.due_at.is_none_or(|d| d > as_of) {
            continue;
        }
        let pct = s.score.unwrap_or(0.0) / a.max_score.max(1.0) * 100.0;
        wsum += a.weight;
        wscore += a.weight * pct;
        match s.status {
            ScoreStatus::Missing => f[9] += 1.0,
            ScoreStatus::Late => f[10] += 1.0,
            ScoreStatus::Other => {}
        }
    }
    f[TERM_SCORE] = if wsum > 0.0 {
        wscore / wsum
    } else {
        f[LAST_TERM_SCORE]
    };
    // Registration changes (drops) and waitlists this term up to the date.
    for (section, action, at) in snap.events_by_student.get(&student).into_iter().flatten() {
        let in_term = snap
            .sections
            .get(section)
            .is_some_and(|x| x.term == term.id);
        if *at > as_of || !in_term {
            continue;
        }
        match action {
            EventAction::Drop => f[11] += 1.0,
            EventAction::Waitlist => f[12] += 1.0,
            EventAction::Other => {}
        }
    }
    f[13] = snap
        .holds_by_student
        .get(&student)
        .map_or(0, |v| v.iter().filter(|t| **t <= as_of).count()) as f64;
    f[14] = snap
        .contacts_by_student
        .get(&student)
        .map_or(0, |v| v.iter().filter(|t| **t <= as_of).count()) as f64;
    early_signals(
        snap,
        student,
        term,
        as_of,
        &taking,
        &earlier_courses,
        &mut f,
    );
    f
}

/// One of this term's sections as the student takes it at the as-of instant.
struct Taking {
    section: i64,
    course: i64,
    joined: Ts,
    /// When the student dropped it, if before the as-of instant.
    left: Option<Ts>,
}

/// The early warning's features (see [`FEATURES`]): attendance, learning-platform activity,
/// the share of assessment weight seen, registration timing, retaken courses, and whether the
/// first assessment was missed, each from what was known before the as-of date.
fn early_signals(
    snap: &Snapshot,
    student: i64,
    term: &terms::Model,
    as_of: Ts,
    taking: &[Taking],
    earlier_courses: &[i64],
    f: &mut [f64],
) {
    let today = as_of.date_naive();
    let start = term.starts_on;
    let days_in = (today - start).num_days().max(0);
    // Attendance: meetings of the student's sections held while they took them.
    let (mut held, mut attended) = (0usize, 0usize);
    let marks: &[(i64, NaiveDate, Mark)] = snap
        .marks_by_student
        .get(&student)
        .map_or(&[], Vec::as_slice);
    for t in taking {
        let (from, until) = (t.joined.date_naive(), t.left.map(|d| d.date_naive()));
        let of_section = of_section(marks, t.section);
        for &day in snap.rolls.get(&t.section).into_iter().flatten() {
            if day < from || day >= today || until.is_some_and(|u| day >= u) {
                continue;
            }
            let mark = of_section
                .binary_search_by_key(&day, |m| m.1)
                .map_or(Mark::Present, |i| of_section[i].2);
            match mark {
                Mark::Excused => {}
                Mark::Absent => held += 1,
                Mark::Present | Mark::Late => {
                    held += 1;
                    attended += 1;
                }
            }
        }
    }
    f[ATTENDANCE_RATE] = if held > 0 {
        attended as f64 * 100.0 / held as f64
    } else {
        100.0
    };
    let sections: Vec<i64> = taking.iter().map(|t| t.section).collect();
    // NOTE: each section once (a student who dropped and rejoined one takes it twice), so that
    // a row is counted once, as when every row was tested for its section.
    let mut distinct = sections.clone();
    distinct.sort_unstable();
    distinct.dedup();
    f[RECENT_ABSENCES] = distinct
        .iter()
        .flat_map(|s| of_section(marks, *s))
        .filter(|(_, d, m)| {
            *m == Mark::Absent && *d < today && (today - *d).num_days() <= RECENT_DAYS
        })
        .count() as f64;
    // Learning-platform activity per week so far, its trend, and days since the last.
    let weeks = (days_in / 7).max(1) as usize;
    let mut per_week = vec![0i64; weeks];
    let mut last_day: Option<NaiveDate> = None;
    let activity: &[(i64, NaiveDate, i64)] = snap
        .activity_by_student
        .get(&student)
        .map_or(&[], Vec::as_slice);
    for (_, day, count) in distinct.iter().flat_map(|s| of_section(activity, *s)) {
        if *day >= today || *day < start {
            continue;
        }
        let w = ((*day - start).num_days() / 7) as usize;
        if let Some(slot) = per_week.get_mut(w.min(weeks - 1)) {
            *slot += count;
        }
        if *count > 0 && last_day.is_none_or(|l| *day > l) {
            last_day = Some(*day);
        }
    }
    let total: i64 = per_week.iter().sum();
    f[ACTIVITY_PER_WEEK] = total as f64 / weeks as f64;
    if weeks >= 3 {
        let recent = per_week[weeks - 2..].iter().sum::<i64>() as f64 / 2.0;
        let before = per_week[..weeks - 2].iter().sum::<i64>() as f64 / (weeks - 2) as f64;
        f[ACTIVITY_TREND] = 100.0 * (recent - before) / (before + 1.0);
    }
    f[DAYS_SINCE_ACTIVITY] =
        last_day.map_or(days_in, |d| (today - d).num_days().min(days_in)) as f64;
    // Assessment weight due so far, of all this term's assessments of the student's sections.
    let (mut due, mut all) = (0.0, 0.0);
    let of_sections = sections
        .iter()
        .filter_map(|s| snap.assessments_by_section.get(s))
        .flatten()
        .filter_map(|id| snap.assessments.get(id));
    for a in of_sections {
        all += a.weight;
        if a.due_at.is_some_and(|d| d <= as_of) {
            due += a.weight;
        }
    }
    f[WEIGHT_SEEN] = if all > 0.0 { 100.0 * due / all } else { 0.0 };
    // Registration timing: days after the term's first day (negative: before it), on average.
    if !taking.is_empty() {
        let sum: i64 = taking
            .iter()
            .map(|t| (t.joined.date_naive() - start).num_days())
            .sum();
        f[REGISTERED_DAY] = sum as f64 / taking.len() as f64;
    }
    f[PRIOR_ATTEMPTS] = taking
        .iter()
        .filter(|t| earlier_courses.contains(&t.course))
        .count() as f64;
    // The first assessment due this term (by the as-of instant): was it missed?
    let first = snap
        .scores_by_student
        .get(&student)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let a = snap.assessments.get(&s.assessment)?;
            let d = a.due_at.filter(|d| *d <= as_of)?;
            sections.contains(&a.section).then_some((d, s.status))
        })
        .min_by_key(|(d, _)| *d);
    f[FIRST_MISSED] = f64::from(u8::from(
        first.is_some_and(|(_, st)| st == ScoreStatus::Missing),
    ));
}
