//! Taking the roll of a class meeting: who may take it (the section's teacher, or registrar
//! staff), which dates are meetings, the roster with everyone present by default, saving the
//! exceptions in one transaction (re-saving replaces the meeting's marks), and the attendance
//! rates other modules read.

use super::meetings::{self, Pattern};
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::{Writable, write_txn};
use crate::entity::{
    attendance, attendance_rolls, courses, enrolments, section_meetings, sections, students, terms,
};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// Where a roll or a mark came from.
pub const SOURCE_ROLL: &str = "roll";
pub const SOURCE_IMPORT: &str = "import";

/// Today, on the server's clock (meetings after today cannot be taken yet).
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// A student's attendance at one meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Present,
    Absent,
    Late,
    Excused,
}

impl Mark {
    pub const ALL: [Mark; 4] = [Mark::Present, Mark::Absent, Mark::Late, Mark::Excused];

    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Present => "present",
            Mark::Absent => "absent",
            Mark::Late => "late",
            Mark::Excused => "excused",
        }
    }

    /// A stored code, or a card reader's word in English or Chinese (出勤/缺勤/迟到/请假).
    pub fn parse(text: &str) -> Option<Mark> {
        match text.trim().to_lowercase().as_str() {
            "present" | "p" | "出勤" | "到" | "出席" => Some(Mark::Present),
            "absent" | "a" | "缺勤" | "缺席" | "旷课" => Some(Mark::Absent),
            "late" | "l" | "迟到" => Some(Mark::Late),
            "excused" | "e" | "请假" => Some(Mark::Excused),
            _ => None,
        }
    }
}

/// A section as the roll needs it: its names, its term's dates and its weekly meetings.
#[derive(Debug, Clone)]
pub struct RollSection {
    pub id: i64,
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub section_no: String,
    pub term_code: String,
    pub term_starts: NaiveDate,
    pub term_ends: NaiveDate,
    pub teacher_id: Option<i64>,
    pub patterns: Vec<Pattern>,
}

impl RollSection {
    /// Every meeting of the section in its term.
    pub fn dates(&self) -> Vec<NaiveDate> {
        meetings::dates(self.term_starts, self.term_ends, &self.patterns)
    }

    /// The first pattern meeting on `date` (for its periods), if `date` is a meeting.
    pub fn pattern_on(&self, date: NaiveDate) -> Option<Pattern> {
        if date < self.term_starts || date > self.term_ends {
            return None;
        }
        meetings::patterns_on(self.term_starts, date, &self.patterns)
            .into_iter()
            .min_by_key(|p| p.start_period)
    }
}

/// Loads sections with their terms and meeting patterns.
pub async fn load_sections(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, RollSection>> {
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        NaiveDate,
        NaiveDate,
        Option<i64>,
    );
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Row> = sections::Entity::find()
        .select_only()
        .column(sections::Column::Id)
        .column(courses::Column::Code)
        .column(courses::Column::TitleZh)
        .column(courses::Column::TitleEn)
        .column(sections::Column::SectionNo)
        .column(terms::Column::Code)
        .column(terms::Column::StartsOn)
        .column(terms::Column::EndsOn)
        .column(sections::Column::TeacherId)
        .inner_join(courses::Entity)
        .inner_join(terms::Entity)
        .filter(sections::Column::Id.is_in(ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    let mut patterns: HashMap<i64, Vec<Pattern>> = HashMap::new();
    for m in section_meetings::Entity::find()
        .filter(section_meetings::Column::SectionId.is_in(ids.to_vec()))
        .all(db)
        .await?
    {
        patterns.entry(m.section_id).or_default().push((&m).into());
    }
    Ok(rows
        .into_iter()
        .map(|(id, code, tz, te, no, term, starts, ends, teacher)| {
            (
                id,
                RollSection {
                    id,
                    course_code: code,
                    title_zh: tz,
                    title_en: te,
                    section_no: no,
                    term_code: term,
                    term_starts: starts,
                    term_ends: ends,
                    teacher_id: teacher,
                    patterns: patterns.remove(&id).unwrap_or_default(),
                },
            )
        })
        .collect())
}

/// Whether `user` may take (and read) the roll of `section`: its teacher, or staff who manage
/// registrations (the registrar's office; administrators hold every right).
pub fn may_take(user: &CurrentUser, section: &RollSection) -> bool {
    (section.teacher_id == Some(user.id)
        && (user.can(Permission::EnterOwnGrades) || user.can(Permission::ViewScopedStudents)))
        || user.can(Permission::ManageRegistrations)
}

/// Loads a section and checks the user may take its roll; a refusal is audited.
pub async fn section_access(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    id: i64,
) -> AppResult<RollSection> {
    let section = load_sections(db, &[id])
        .await?
        .remove(&id)
        .ok_or(AppError::NotFound)?;
    if !may_take(user, &section) {
        Entry::new(Some(user.id), "attendance.section.access", "section")
            .id(id)
            .denied()
            .write(db)
            .await?;
        return Err(AppError::Forbidden);
    }
    Ok(section)
}

/// A date must be one of the section's meetings, and not after today.
pub fn check_date(section: &RollSection, date: NaiveDate, today: NaiveDate) -> AppResult<()> {
    if date > today {
        return Err(AppError::unprocessable(
            "future_meeting",
            format!(
                "the meeting on {date} has not happened yet: a roll is taken on the day or after"
            ),
        )
        .arg("date", date));
    }
    if section.pattern_on(date).is_none() {
        return Err(AppError::unprocessable(
            "not_a_meeting",
            format!(
                "{}-{} does not meet on {date}: choose one of its meetings",
                section.course_code, section.section_no
            ),
        )
        .arg("date", date));
    }
    Ok(())
}

/// One meeting of a section, with whether its roll was taken and its exceptions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeetingOut {
    pub date: NaiveDate,
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    pub start_period: i64,
    pub end_period: i64,
    pub taken: bool,
    pub absent: i64,
    pub late: i64,
    pub excused: i64,
}

/// Mark counts per (section, date): (absent, late, excused).
async fn counts_by_meeting(
    db: &impl ConnectionTrait,
    section_ids: &[i64],
) -> AppResult<HashMap<(i64, NaiveDate), (i64, i64, i64)>> {
    let rows: Vec<(i64, NaiveDate, String, i64)> = attendance::Entity::find()
        .select_only()
        .column(attendance::Column::SectionId)
        .column(attendance::Column::HeldOn)
        .column(attendance::Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(attendance::Column::SectionId.is_in(section_ids.to_vec()))
        .group_by(attendance::Column::SectionId)
        .group_by(attendance::Column::HeldOn)
        .group_by(attendance::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<(i64, NaiveDate), (i64, i64, i64)> = HashMap::new();
    for (sid, day, status, n) in rows {
        let c = out.entry((sid, day)).or_default();
        match Mark::parse(&status) {
            Some(Mark::Absent) => c.0 += n,
            Some(Mark::Late) => c.1 += n,
            Some(Mark::Excused) => c.2 += n,
            _ => {}
        }
    }
    Ok(out)
}

async fn taken_days(
    db: &impl ConnectionTrait,
    section_ids: &[i64],
) -> AppResult<HashSet<(i64, NaiveDate)>> {
    let rows: Vec<(i64, NaiveDate)> = attendance_rolls::Entity::find()
        .select_only()
        .column(attendance_rolls::Column::SectionId)
        .column(attendance_rolls::Column::HeldOn)
        .filter(attendance_rolls::Column::SectionId.is_in(section_ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The meetings of sections up to `today`, newest first, each with its roll's state.
pub async fn meetings_of(
    db: &impl ConnectionTrait,
    sections: &[&RollSection],
    today: NaiveDate,
) -> AppResult<HashMap<i64, Vec<MeetingOut>>> {
    let ids: Vec<i64> = sections.iter().map(|s| s.id).collect();
    let taken = taken_days(db, &ids).await?;
    let counts = counts_by_meeting(db, &ids).await?;
    let mut out = HashMap::new();
    for s in sections {
        let mut list: Vec<MeetingOut> = s
            .dates()
            .into_iter()
            .filter(|d| *d <= today)
            .filter_map(|d| {
                let p = s.pattern_on(d)?;
                let (absent, late, excused) = counts.get(&(s.id, d)).copied().unwrap_or_default();
                Some(MeetingOut {
                    date: d,
                    weekday: p.weekday,
                    start_period: p.start_period,
                    end_period: p.end_period,
                    taken: taken.contains(&(s.id, d)),
                    absent,
                    late,
                    excused,
                })
            })
            .collect();
        list.reverse();
        out.insert(s.id, list);
    }
    Ok(out)
}

/// One section of the teacher's roll-taking page.
#[derive(Debug, Clone, Serialize)]
pub struct TeacherSection {
    pub section_id: i64,
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub section_no: String,
    pub term_code: String,
    /// Meetings up to today, newest first.
    pub meetings: Vec<MeetingOut>,
    pub untaken: usize,
}

/// The current term's sections that `teacher_id` teaches, with their meetings so far.
pub async fn teacher_sections(
    db: &impl ConnectionTrait,
    teacher_id: i64,
    today: NaiveDate,
) -> AppResult<Vec<TeacherSection>> {
    let ids: Vec<i64> = sections::Entity::find()
        .select_only()
        .column(sections::Column::Id)
        .inner_join(terms::Entity)
        .filter(sections::Column::TeacherId.eq(teacher_id))
        .filter(terms::Column::IsCurrent.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let loaded = load_sections(db, &ids).await?;
    let mut list: Vec<&RollSection> = loaded.values().collect();
    list.sort_by(|a, b| (&a.course_code, &a.section_no).cmp(&(&b.course_code, &b.section_no)));
    let mut meetings = meetings_of(db, &list, today).await?;
    Ok(list
        .into_iter()
        .map(|s| {
            let m = meetings.remove(&s.id).unwrap_or_default();
            TeacherSection {
                section_id: s.id,
                course_code: s.course_code.clone(),
                title_zh: s.title_zh.clone(),
                title_en: s.title_en.clone(),
                section_no: s.section_no.clone(),
                term_code: s.term_code.clone(),
                untaken: m.iter().filter(|m| !m.taken).count(),
                meetings: m,
            }
        })
        .collect())
}

/// One student on a meeting's roll.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RollLine {
    pub student_id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    /// `present` unless marked otherwise.
    pub status: Mark,
}

/// A meeting's roll: everyone enrolled, present unless marked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Roll {
    pub section_id: i64,
    pub course_code: String,
    pub section_no: String,
    pub term_code: String,
    pub date: NaiveDate,
    pub weekday: i64,
    pub start_period: i64,
    pub end_period: i64,
    /// Whether the roll was taken (saved) already.
    pub taken: bool,
    pub taken_at: Option<DateTime<FixedOffset>>,
    pub students: Vec<RollLine>,
}

/// The enrolled students of a section: (id, number, name zh, name en), by number.
async fn roster(
    db: &impl ConnectionTrait,
    section_id: i64,
) -> AppResult<Vec<(i64, String, String, String)>> {
    Ok(enrolments::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .column(students::Column::StudentNo)
        .column(students::Column::NameZh)
        .column(students::Column::NameEn)
        .join(JoinType::InnerJoin, enrolments::Relation::Students.def())
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(enrolments::Column::Status.eq(enrolments::EnrolmentStatus::Enrolled))
        .order_by_asc(students::Column::StudentNo)
        .into_tuple()
        .all(db)
        .await?)
}

/// A meeting's roll for its teacher (the date checked; the read audited).
pub async fn roll(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    section: &RollSection,
    date: NaiveDate,
    today: NaiveDate,
) -> AppResult<Roll> {
    check_date(section, date, today)?;
    let pattern = section.pattern_on(date).ok_or(AppError::NotFound)?;
    let taken = attendance_rolls::Entity::find()
        .filter(attendance_rolls::Column::SectionId.eq(section.id))
        .filter(attendance_rolls::Column::HeldOn.eq(date))
        .one(db)
        .await?;
    let marks: HashMap<i64, Mark> = attendance::Entity::find()
        .filter(attendance::Column::SectionId.eq(section.id))
        .filter(attendance::Column::HeldOn.eq(date))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| Some((m.student_id, Mark::parse(&m.status)?)))
        .collect();
    let students: Vec<RollLine> = roster(db, section.id)
        .await?
        .into_iter()
        .map(|(id, no, zh, en)| RollLine {
            student_id: id,
            student_no: no,
            name_zh: zh,
            name_en: en,
            status: marks.get(&id).copied().unwrap_or(Mark::Present),
        })
        .collect();
    Entry::new(Some(user.id), "attendance.roll.read", "section")
        .id(section.id)
        .detail(json!({"date": date, "students": students.len()}))
        .write(db)
        .await?;
    Ok(Roll {
        section_id: section.id,
        course_code: section.course_code.clone(),
        section_no: section.section_no.clone(),
        term_code: section.term_code.clone(),
        date,
        weekday: pattern.weekday,
        start_period: pattern.start_period,
        end_period: pattern.end_period,
        taken: taken.is_some(),
        taken_at: taken.map(|t| t.taken_at),
        students,
    })
}

/// One exception on a roll (students not listed were present).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MarkIn {
    pub student_id: i64,
    pub status: Mark,
}

/// What saving a roll did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RollSaved {
    pub section_id: i64,
    pub date: NaiveDate,
    pub students: usize,
    pub present: usize,
    pub absent: usize,
    pub late: usize,
    pub excused: usize,
    /// Whether an earlier roll of this meeting was replaced.
    pub replaced: bool,
}

/// Saves a meeting's roll: the roll row and its exceptions in one transaction, replacing
/// whatever the meeting held. Every student must be enrolled in the section; the date must be
/// a meeting that has happened.
pub async fn save_roll(
    db: &impl Writable,
    user: &CurrentUser,
    section: &RollSection,
    date: NaiveDate,
    today: NaiveDate,
    marks: &[MarkIn],
) -> AppResult<RollSaved> {
    check_date(section, date, today)?;
    // NOTE: the roster is read inside the write transaction, so a student who drops meanwhile
    // cannot be marked.
    let txn = write_txn(db).await?;
    let enrolled: HashSet<i64> = roster(&txn, section.id)
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect();
    let mut seen = HashSet::new();
    for m in marks {
        if !enrolled.contains(&m.student_id) {
            return Err(AppError::unprocessable(
                "not_enrolled",
                format!("student {} is not enrolled in this section", m.student_id),
            )
            .arg("student", m.student_id));
        }
        if !seen.insert(m.student_id) {
            return Err(AppError::unprocessable(
                "duplicate_mark",
                format!("student {} is marked twice", m.student_id),
            )
            .arg("student", m.student_id));
        }
    }
    let exceptions: Vec<MarkIn> = marks
        .iter()
        .filter(|m| m.status != Mark::Present)
        .copied()
        .collect();
    let count = |k: Mark| exceptions.iter().filter(|m| m.status == k).count();
    let now = Utc::now().fixed_offset();
    attendance::Entity::delete_many()
        .filter(attendance::Column::SectionId.eq(section.id))
        .filter(attendance::Column::HeldOn.eq(date))
        .exec(&txn)
        .await?;
    let replaced = attendance_rolls::Entity::delete_many()
        .filter(attendance_rolls::Column::SectionId.eq(section.id))
        .filter(attendance_rolls::Column::HeldOn.eq(date))
        .exec(&txn)
        .await?
        .rows_affected
        > 0;
    attendance_rolls::ActiveModel {
        section_id: Set(section.id),
        held_on: Set(date),
        source: Set(SOURCE_ROLL.into()),
        taken_by: Set(Some(user.id)),
        taken_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if !exceptions.is_empty() {
        attendance::Entity::insert_many(exceptions.iter().map(|m| attendance::ActiveModel {
            section_id: Set(section.id),
            student_id: Set(m.student_id),
            held_on: Set(date),
            status: Set(m.status.as_str().into()),
            source: Set(SOURCE_ROLL.into()),
            recorded_by: Set(Some(user.id)),
            recorded_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    let saved = RollSaved {
        section_id: section.id,
        date,
        students: enrolled.len(),
        present: enrolled.len() - exceptions.len(),
        absent: count(Mark::Absent),
        late: count(Mark::Late),
        excused: count(Mark::Excused),
        replaced,
    };
    Entry::new(Some(user.id), "attendance.roll.save", "section")
        .id(section.id)
        .detail(
            json!({"date": date, "absent": saved.absent, "late": saved.late,
                       "excused": saved.excused, "replaced": replaced}),
        )
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(saved)
}

/// A student's attendance in one section up to a day: meetings held while enrolled (rolls
/// taken) and their exceptions. Present = held − absent − late − excused.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub student_id: i64,
    pub section_id: i64,
    pub held: i64,
    pub absent: i64,
    pub late: i64,
    pub excused: i64,
}

impl Rate {
    /// The share of meetings attended (present or late), excused meetings not counted; none
    /// before any roll was taken.
    pub fn rate(&self) -> Option<f64> {
        let counted = self.held - self.excused;
        (counted > 0).then(|| (counted - self.absent).max(0) as f64 / counted as f64)
    }
}

/// The attendance of the students enrolled in `section_ids` (only `student_ids` if given),
/// counting the meetings whose roll was taken on or before `as_of`. The one function other
/// modules call for attendance rates (the mining module reads the tables for its features).
pub async fn rates(
    db: &impl ConnectionTrait,
    section_ids: &[i64],
    student_ids: Option<&[i64]>,
    as_of: NaiveDate,
) -> AppResult<Vec<Rate>> {
    if section_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = enrolments::Entity::find()
        .select_only()
        .column(enrolments::Column::StudentId)
        .column(enrolments::Column::SectionId)
        .column(enrolments::Column::CreatedAt)
        .filter(enrolments::Column::SectionId.is_in(section_ids.to_vec()))
        .filter(enrolments::Column::Status.eq(enrolments::EnrolmentStatus::Enrolled));
    if let Some(ids) = student_ids {
        q = q.filter(enrolments::Column::StudentId.is_in(ids.to_vec()));
    }
    let pairs: Vec<(i64, i64, DateTime<FixedOffset>)> = q.into_tuple().all(db).await?;
    // Each section's meetings with a roll, oldest first: a student counts those held on or
    // after the day they enrolled (the meetings before were never theirs to attend).
    let mut held_on: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
    for (section, day) in attendance_rolls::Entity::find()
        .select_only()
        .column(attendance_rolls::Column::SectionId)
        .column(attendance_rolls::Column::HeldOn)
        .filter(attendance_rolls::Column::SectionId.is_in(section_ids.to_vec()))
        .filter(attendance_rolls::Column::HeldOn.lte(as_of))
        .order_by_asc(attendance_rolls::Column::HeldOn)
        .into_tuple::<(i64, NaiveDate)>()
        .all(db)
        .await?
    {
        held_on.entry(section).or_default().push(day);
    }
    let mut mq = attendance::Entity::find()
        .select_only()
        .column(attendance::Column::StudentId)
        .column(attendance::Column::SectionId)
        .column(attendance::Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(attendance::Column::SectionId.is_in(section_ids.to_vec()))
        .filter(attendance::Column::HeldOn.lte(as_of));
    if let Some(ids) = student_ids {
        mq = mq.filter(attendance::Column::StudentId.is_in(ids.to_vec()));
    }
    let mut marks: HashMap<(i64, i64), (i64, i64, i64)> = HashMap::new();
    for (student, section, status, n) in mq
        .group_by(attendance::Column::StudentId)
        .group_by(attendance::Column::SectionId)
        .group_by(attendance::Column::Status)
        .into_tuple::<(i64, i64, String, i64)>()
        .all(db)
        .await?
    {
        let c = marks.entry((student, section)).or_default();
        match Mark::parse(&status) {
            Some(Mark::Absent) => c.0 += n,
            Some(Mark::Late) => c.1 += n,
            Some(Mark::Excused) => c.2 += n,
            _ => {}
        }
    }
    Ok(pairs
        .into_iter()
        .map(|(student, section, enrolled)| {
            let (absent, late, excused) =
                marks.get(&(student, section)).copied().unwrap_or_default();
            let days = held_on.get(&section).map_or(&[][..], Vec::as_slice);
            let from = enrolled.date_naive();
            let held = (days.len() - days.partition_point(|d| *d < from)) as i64;
            Rate {
                student_id: student,
                section_id: section,
                held,
                absent,
                late,
                excused,
            }
        })
        .collect())
}

/// One exception on a student's record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MarkLine {
    pub date: NaiveDate,
    pub status: Mark,
}

/// A student's attendance in one section.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionAttendance {
    pub section_id: i64,
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub section_no: String,
    pub term_code: String,
    /// Meetings whose roll was taken.
    pub held: i64,
    pub absent: i64,
    pub late: i64,
    pub excused: i64,
    /// The share attended (present or late) of the meetings held, excused ones not counted.
    pub rate: Option<f64>,
    /// Every mark other than present, newest first.
    pub marks: Vec<MarkLine>,
}

/// A student's attendance in their current term's sections.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudentAttendance {
    pub student_id: i64,
    pub sections: Vec<SectionAttendance>,
}

/// The attendance of `student_id` in the current term's sections they are enrolled in, up to
/// `as_of`. Reads no scope: the caller checked (and audited) that the reader may see it.
pub async fn student_attendance(
    db: &impl ConnectionTrait,
    student_id: i64,
    as_of: NaiveDate,
) -> AppResult<StudentAttendance> {
    let ids: Vec<i64> = enrolments::Entity::find()
        .select_only()
        .column(enrolments::Column::SectionId)
        .join(JoinType::InnerJoin, enrolments::Relation::Sections.def())
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.eq(enrolments::EnrolmentStatus::Enrolled))
        .filter(terms::Column::IsCurrent.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let loaded = load_sections(db, &ids).await?;
    let rates: HashMap<i64, Rate> = rates(db, &ids, Some(&[student_id]), as_of)
        .await?
        .into_iter()
        .map(|r| (r.section_id, r))
        .collect();
    let mut marks: HashMap<i64, Vec<MarkLine>> = HashMap::new();
    for m in attendance::Entity::find()
        .filter(attendance::Column::StudentId.eq(student_id))
        .filter(attendance::Column::SectionId.is_in(ids.clone()))
        .filter(attendance::Column::HeldOn.lte(as_of))
        .order_by_desc(attendance::Column::HeldOn)
        .all(db)
        .await?
    {
        if let Some(status) = Mark::parse(&m.status).filter(|s| *s != Mark::Present) {
            marks.entry(m.section_id).or_default().push(MarkLine {
                date: m.held_on,
                status,
            });
        }
    }
    let mut sections: Vec<SectionAttendance> = loaded
        .into_values()
        .map(|s| {
            let r = rates.get(&s.id).copied().unwrap_or(Rate {
                student_id,
                section_id: s.id,
                held: 0,
                absent: 0,
                late: 0,
                excused: 0,
            });
            SectionAttendance {
                section_id: s.id,
                marks: marks.remove(&s.id).unwrap_or_default(),
                course_code: s.course_code,
                title_zh: s.title_zh,
                title_en: s.title_en,
                section_no: s.section_no,
                term_code: s.term_code,
                held: r.held,
                absent: r.absent,
                late: r.late,
                excused: r.excused,
                rate: r.rate(),
            }
        })
        .collect();
    sections.sort_by(|a, b| (&a.course_code, &a.section_no).cmp(&(&b.course_code, &b.section_no)));
    Ok(StudentAttendance {
        student_id,
        sections,
    })
}

/// The student record of the signed-in user, for the `/me` pages.
pub fn own_student(user: &CurrentUser) -> AppResult<i64> {
    match user.student_id {
        Some(id) if user.can(Permission::ViewOwnRecord) => Ok(id),
        _ => Err(AppError::Forbidden),
    }
}
