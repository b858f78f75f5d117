//! What an add reads and checks before it writes, in as few statements as the rules allow:
//! one statement for the section, its term and course, the student's standing toward it and a
//! remembered answer ([`Admission::read`]), and one for the student's timetable in the term
//! ([`timetable`]). Each statement is a round trip (on SQLite, to sqlx's worker thread), and
//! on registration day the round trips, not the SQL, were where the time went.

use super::rules::sections_clash;
use crate::entity::enrolments::EnrolmentStatus;
use crate::entity::{
    course_prerequisites, courses, enrolments, grades, holds, idempotency_keys,
    registration_overrides, section_meetings, sections, terms,
};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, FixedOffset};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    sea_query::{Expr, ExprTrait, Order, Query, SelectStatement},
};

/// A refusal with its code: a conflict with what exists (409) or a rule not met (422).
pub fn refuse(code: &'static str, message: String) -> AppError {
    match code {
        "already_registered" | "section_full" | "waitlist_full" | "time_conflict" => {
            AppError::conflict(code, message)
        }
        _ => AppError::unprocessable(code, message),
    }
}

/// A readable name for a section: "CS101-02".
pub fn label(course_code: &str, s: &sections::Model) -> String {
    format!("{course_code}-{}", s.section_no)
}

pub fn window_open(term: &terms::Model, at: DateTime<FixedOffset>) -> bool {
    term.registration_opens_at <= at && at <= term.registration_closes_at
}

pub fn check_window(term: &terms::Model, at: DateTime<FixedOffset>) -> AppResult<()> {
    if window_open(term, at) {
        Ok(())
    } else {
        Err(refuse(
            "registration_closed",
            format!("registration for {} is not open now", term.name_en),
        )
        .arg("term_zh", &term.name_zh)
        .arg("term_en", &term.name_en))
    }
}

/// The refusal for a section with no free seat and no room on its waitlist.
pub fn full_refusal(label: &str, section: &sections::Model) -> AppError {
    if section.waitlist_capacity == 0 {
        refuse(
            "section_full",
            format!("{label} is full and has no waitlist"),
        )
        .arg("section", label)
    } else {
        refuse(
            "waitlist_full",
            format!("{label} is full and so is its waitlist"),
        )
        .arg("section", label)
    }
}

/// Where a student stands toward one section: an open hold, their row for the section (live
/// or dropped), the overrides granted and not yet used, the first prerequisite of the course
/// not passed, and the answer remembered under the request's idempotency key.
#[derive(Debug, FromQueryResult)]
pub struct Standing {
    pub hold_reason: Option<String>,
    pub existing_id: Option<i64>,
    pub existing_status: Option<EnrolmentStatus>,
    pub prerequisite_override: bool,
    pub capacity_override: bool,
    pub missing_prerequisite: Option<i64>,
    pub replay_status: Option<i64>,
    pub replay_body: Option<String>,
}

/// The section with its term and course, and the student's standing toward it: all one add
/// reads before its timetable, in one statement.
pub struct Admission {
    pub section: sections::Model,
    pub term: terms::Model,
    pub course: courses::Model,
    pub standing: Standing,
}

/// The user and the idempotency key of a request that sent one.
pub type KeyOf<'a> = Option<(i64, &'a str)>;

impl Admission {
    /// Reads it; `None` when there is no such section.
    pub async fn read(
        db: &impl ConnectionTrait,
        student_id: i64,
        section_id: i64,
        key: KeyOf<'_>,
    ) -> AppResult<Option<Admission>> {
        let sub = |q: SelectStatement| Expr::SubQuery(None, Box::new(q.into()));
        let hold = Query::select()
            .column(holds::Column::Reason)
            .from(holds::Entity)
            .and_where(holds::Column::StudentId.eq(student_id))
            .and_where(holds::Column::LiftedAt.is_null())
            .limit(1)
            .to_owned();
        let mine = |column: enrolments::Column| {
            Query::select()
                .column(column)
                .from(enrolments::Entity)
                .and_where(enrolments::Column::StudentId.eq(student_id))
                .and_where(enrolments::Column::SectionId.eq(section_id))
                .to_owned()
        };
        let unused = |kind: &str| {
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(registration_overrides::Entity)
                    .and_where(registration_overrides::Column::StudentId.eq(student_id))
                    .and_where(registration_overrides::Column::SectionId.eq(section_id))
                    .and_where(registration_overrides::Column::Kind.eq(kind))
                    .and_where(registration_overrides::Column::UsedAt.is_null())
                    .to_owned(),
            )
        };
        // A prerequisite is passed by a published grade of at least its minimum in any section
        // of the prerequisite course ("gs"; the outer query's row is "sections").
        let passed = Query::select()
            .expr(Expr::val(1))
            .from(grades::Entity)
            .join_as(
                JoinType::InnerJoin,
                sections::Entity,
                "gs",
                Expr::col(("gs", sections::Column::Id))
                    .equals((grades::Entity, grades::Column::SectionId)),
            )
            .and_where(Expr::col((grades::Entity, grades::Column::StudentId)).eq(student_id))
            .and_where(Expr::col((grades::Entity, grades::Column::Status)).eq("published"))
            .and_where(
                Expr::col((grades::Entity, grades::Column::Score)).gte(Expr::col((
                    course_prerequisites::Entity,
                    course_prerequisites::Column::MinScore,
                ))),
            )
            .and_where(Expr::col(("gs", sections::Column::CourseId)).equals((
                course_prerequisites::Entity,
                course_prerequisites::Column::PrerequisiteId,
            )))
            .to_owned();
        let missing = Query::select()
            .column((
                course_prerequisites::Entity,
                course_prerequisites::Column::PrerequisiteId,
            ))
            .from(course_prerequisites::Entity)
            .and_where(
                Expr::col((
                    course_prerequisites::Entity,
                    course_prerequisites::Column::CourseId,
                ))
                .equals((sections::Entity, sections::Column::CourseId)),
            )
            .and_where(Expr::not_exists(passed))
            .order_by(
                (
                    course_prerequisites::Entity,
                    course_prerequisites::Column::PrerequisiteId,
                ),
                Order::Asc,
            )
            .limit(1)
            .to_owned();
        let (replay_status, replay_body) = match key {
            Some((user_id, key)) => {
                let kept = |column: idempotency_keys::Column| {
                    sub(Query::select()
                        .column(column)
                        .from(idempotency_keys::Entity)
                        .and_where(idempotency_keys::Column::UserId.eq(user_id))
                        .and_where(idempotency_keys::Column::Key.eq(key))
                        .to_owned())
                };
                (
                    kept(idempotency_keys::Column::Status),
                    kept(idempotency_keys::Column::Body),
                )
            }
            None => (
                Expr::val(Option::<i64>::None),
                Expr::val(Option::<String>::None),
            ),
        };
        let query = sections::Entity::find_by_id(section_id)
            .find_also_related(terms::Entity)
            .find_also_related(courses::Entity)
            .expr_as(sub(hold), "hold_reason")
            .expr_as(sub(mine(enrolments::Column::Id)), "existing_id")
            .expr_as(sub(mine(enrolments::Column::Status)), "existing_status")
            .expr_as(unused("prerequisite"), "prerequisite_override")
            .expr_as(unused("capacity"), "capacity_override")
            .expr_as(sub(missing), "missing_prerequisite")
            .expr_as(replay_status, "replay_status")
            .expr_as(replay_body, "replay_body")
            .into_query();
        let Some(row) = db.query_one(&query).await? else {
            return Ok(None);
        };
        Ok(Some(Admission {
            section: sections::Model::from_query_result(&row, "A_")?,
            term: terms::Model::from_query_result(&row, "B_")?,
            course: courses::Model::from_query_result(&row, "C_")?,
            standing: Standing::from_query_result(&row, "")?,
        }))
    }

    pub fn label(&self) -> String {
        label(&self.course.code, &self.section)
    }

    /// The answer remembered under the request's key, when there is one.
    pub fn replay(&self) -> Option<(u16, String)> {
        let s = &self.standing;
        s.replay_status
            .zip(s.replay_body.clone())
            .map(|(status, body)| (u16::try_from(status).unwrap_or(201), body))
    }

    /// Refuses a student on hold, or one registered in the section already.
    pub fn check_standing(&self) -> AppResult<()> {
        if let Some(reason) = &self.standing.hold_reason {
            return Err(refuse(
                "hold",
                format!("a hold on your record blocks registration: {reason}"),
            )
            .arg("reason", reason));
        }
        if matches!(
            self.standing.existing_status,
            Some(EnrolmentStatus::Enrolled | EnrolmentStatus::Waitlisted)
        ) {
            return Err(refuse(
                "already_registered",
                "you are already registered in this section".into(),
            ));
        }
        Ok(())
    }

    /// Refuses a student who has not passed a prerequisite (unless a registrar let them).
    pub async fn check_prerequisites(&self, db: &impl ConnectionTrait) -> AppResult<()> {
        match self.standing.missing_prerequisite {
            Some(missing) if !self.standing.prerequisite_override => {
                Err(prerequisite_refusal(db, self.section.course_id, missing).await?)
            }
            _ => Ok(()),
        }
    }
}

/// The refusal naming the prerequisite not passed (read only when refusing).
async fn prerequisite_refusal(
    db: &impl ConnectionTrait,
    course_id: i64,
    prerequisite_id: i64,
) -> AppResult<AppError> {
    let (code, min): (String, f64) =
        course_prerequisites::Entity::find_by_id((course_id, prerequisite_id))
            // The prerequisite's course (the other relation is the course that needs it).
            .join(
                JoinType::InnerJoin,
                course_prerequisites::Relation::Courses2.def(),
            )
            .select_only()
            .column(courses::Column::Code)
            .column(course_prerequisites::Column::MinScore)
            .into_tuple()
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
    Ok(refuse(
        "prerequisite_missing",
        format!("this course needs {code} passed with at least {min} first"),
    )
    .arg("course", code)
    .arg("min", min))
}

/// One meeting (or, for a section without meetings, none) of a section in a student's
/// timetable, with the section's course and credits.
#[derive(Debug, FromQueryResult)]
pub struct Slot {
    pub section_id: i64,
    pub course_id: i64,
    pub section_no: String,
    pub course_code: String,
    pub credits: f64,
    pub meeting_id: Option<i64>,
    pub weekday: Option<i64>,
    pub start_period: Option<i64>,
    pub end_period: Option<i64>,
    pub start_week: Option<i64>,
    pub end_week: Option<i64>,
}

impl Slot {
    fn meeting(&self) -> Option<section_meetings::Model> {
        Some(section_meetings::Model {
            id: self.meeting_id?,
            section_id: self.section_id,
            weekday: self.weekday?,
            start_period: self.start_period?,
            end_period: self.end_period?,
            start_week: self.start_week?,
            end_week: self.end_week?,
        })
    }

    fn label(&self) -> String {
        format!("{}-{}", self.course_code, self.section_no)
    }
}

/// The student's enrolled sections of the term and the section `adding`, with their meetings,
/// courses and credits, in section order: one statement.
pub async fn timetable(
    db: &impl ConnectionTrait,
    student_id: i64,
    adding: i64,
    term_id: i64,
) -> AppResult<Vec<Slot>> {
    let enrolled = Query::select()
        .column(enrolments::Column::SectionId)
        .from(enrolments::Entity)
        .and_where(enrolments::Column::StudentId.eq(student_id))
        .and_where(enrolments::Column::Status.eq(EnrolmentStatus::Enrolled))
        .to_owned();
    Ok(sections::Entity::find()
        .select_only()
        .column_as(sections::Column::Id, "section_id")
        .column(sections::Column::CourseId)
        .column(sections::Column::SectionNo)
        .column_as(courses::Column::Code, "course_code")
        .column(courses::Column::Credits)
        .column_as(section_meetings::Column::Id, "meeting_id")
        .columns([
            section_meetings::Column::Weekday,
            section_meetings::Column::StartPeriod,
            section_meetings::Column::EndPeriod,
            section_meetings::Column::StartWeek,
            section_meetings::Column::EndWeek,
        ])
        .inner_join(courses::Entity)
        .left_join(section_meetings::Entity)
        .filter(
            Condition::any().add(sections::Column::Id.eq(adding)).add(
                Condition::all()
                    .add(sections::Column::TermId.eq(term_id))
                    .add(sections::Column::Id.in_subquery(enrolled)),
            ),
        )
        .order_by_asc(sections::Column::Id)
        .order_by_asc(section_meetings::Column::Id)
        .into_model::<Slot>()
        .all(db)
        .await?)
}

/// Checks that the student may hold a seat in `section` next to their other enrolled sections
/// of the term in `slots` (ignoring `leaving`, the section a swap gives up): not a second
/// section of one course, no clash, within the credit limit. Each other section is checked in
/// order, the course before the clash, so the section named is always the same one.
pub fn check_fits(
    slots: &[Slot],
    section: &sections::Model,
    term: &terms::Model,
    leaving: Option<i64>,
) -> AppResult<()> {
    let meetings_of = |id: i64| -> Vec<section_meetings::Model> {
        slots
            .iter()
            .filter(|s| s.section_id == id)
            .filter_map(Slot::meeting)
            .collect()
    };
    let mine = meetings_of(section.id);
    let mut total = 0.0;
    let mut seen = None;
    for slot in slots {
        if seen == Some(slot.section_id) {
            continue;
        }
        seen = Some(slot.section_id);
        if slot.section_id == section.id {
            total += slot.credits;
            continue;
        }
        if Some(slot.section_id) == leaving {
            continue;
        }
        total += slot.credits;
        if slot.course_id == section.course_id {
            let label = slot.label();
            return Err(refuse(
                "already_registered",
                format!("you are already registered in {label} of this course"),
            )
            .arg("other", label));
        }
        if sections_clash(&mine, &meetings_of(slot.section_id)) {
            let label = slot.label();
            return Err(refuse(
                "time_conflict",
                format!("this section meets at the same time as {label}"),
            )
            .arg("other", label));
        }
    }
    if total > term.credit_limit + 1e-9 {
        return Err(refuse(
            "credit_limit",
            format!(
                "this would bring you to {total} credits; the limit this term is {}",
                term.credit_limit
            ),
        )
        .arg("total", total)
        .arg("limit", term.credit_limit));
    }
    Ok(())
}
