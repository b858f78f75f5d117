//! Adding, dropping and swapping sections, with waitlists that promote automatically.
//!
//! Every change is one write transaction (IMMEDIATE on SQLite). Seats are taken with a
//! conditional update (`… SET enrolled_count = enrolled_count + 1 WHERE enrolled_count <
//! capacity`), so two requests can never both take the last seat, on one instance or on many
//! sharing one PostgreSQL; a CHECK constraint on `sections` refuses an over-filled section even
//! if the code were wrong.

use super::rules::sections_clash;
use crate::audit::Entry;
use crate::courses::service::Meeting;
use crate::entity::{
    course_prerequisites, courses, enrolments, grades, holds, registration_events,
    registration_overrides, section_meetings, sections, students, terms,
};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Query, SelectStatement},
};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

pub use crate::entity::enrolments::EnrolmentStatus;
/// Short names for the statuses, as the rest of the code has long written them.
pub const ENROLLED: EnrolmentStatus = EnrolmentStatus::Enrolled;
pub const WAITLISTED: EnrolmentStatus = EnrolmentStatus::Waitlisted;
pub const DROPPED: EnrolmentStatus = EnrolmentStatus::Dropped;

/// What a successful add produced.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Registration {
    pub id: i64,
    pub section_id: i64,
    pub student_id: i64,
    pub status: EnrolmentStatus,
    /// 1-based place in the waitlist, when waitlisted.
    pub waitlist_position: Option<u64>,
}

fn refuse(code: &'static str, message: String) -> AppError {
    match code {
        "already_registered" | "section_full" | "waitlist_full" | "time_conflict" => {
            AppError::conflict(code, message)
        }
        _ => AppError::unprocessable(code, message),
    }
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// The section, locked for the rest of the transaction on PostgreSQL (SQLite's IMMEDIATE
/// transaction already holds the write lock).
async fn lock_section(db: &impl ConnectionTrait, section_id: i64) -> AppResult<sections::Model> {
    let mut q = sections::Entity::find_by_id(section_id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await?.ok_or(AppError::NotFound)
}

/// Locks a student's row for the rest of the transaction on PostgreSQL, so that everything that
/// checks and then changes one student's timetable (their adds, a promotion from a waitlist)
/// runs one at a time. Lock order: a student before a section, except in a promotion, which
/// runs after the section's lock; a deadlock that may cause is retried
/// ([`crate::db::retrying_deadlocks`]).
async fn lock_student(db: &impl ConnectionTrait, student_id: i64) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        students::Entity::find_by_id(student_id)
            .select_only()
            .column(students::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    Ok(())
}

async fn course_code(db: &impl ConnectionTrait, course_id: i64) -> AppResult<String> {
    Ok(courses::Entity::find_by_id(course_id)
        .one(db)
        .await?
        .map(|c| c.code)
        .unwrap_or_default())
}

/// A readable name for a section: "CS101-02".
async fn section_label(db: &impl ConnectionTrait, s: &sections::Model) -> AppResult<String> {
    Ok(label(&course_code(db, s.course_id).await?, s))
}

fn label(course_code: &str, s: &sections::Model) -> String {
    format!("{course_code}-{}", s.section_no)
}

async fn meetings(
    db: &impl ConnectionTrait,
    section_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<section_meetings::Model>>> {
    let mut out: HashMap<i64, Vec<section_meetings::Model>> = HashMap::new();
    for m in section_meetings::Entity::find()
        .filter(section_meetings::Column::SectionId.is_in(section_ids.to_vec()))
        .all(db)
        .await?
    {
        out.entry(m.section_id).or_default().push(m);
    }
    Ok(out)
}

/// The student's enrolled sections in a term, by id.
async fn enrolled_in_term(
    db: &impl ConnectionTrait,
    student_id: i64,
    term_id: i64,
) -> AppResult<Vec<sections::Model>> {
    Ok(sections::Entity::find()
        .inner_join(enrolments::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.eq(ENROLLED))
        .filter(sections::Column::TermId.eq(term_id))
        .order_by_asc(sections::Column::Id)
        .all(db)
        .await?)
}

/// The ids of the student's enrolled sections in a term, in order.
async fn enrolled_ids_in_term(
    db: &impl ConnectionTrait,
    student_id: i64,
    term_id: i64,
) -> AppResult<Vec<i64>> {
    Ok(sections::Entity::find()
        .inner_join(enrolments::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.eq(ENROLLED))
        .filter(sections::Column::TermId.eq(term_id))
        .select_only()
        .column(sections::Column::Id)
        .order_by_asc(sections::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// The credits of the courses of `list`, in one statement.
async fn credits_of(db: &impl ConnectionTrait, list: &[&sections::Model]) -> AppResult<f64> {
    let ids: Vec<i64> = list.iter().map(|s| s.course_id).collect();
    let by_id: HashMap<i64, f64> = courses::Entity::find()
        .filter(courses::Column::Id.is_in(ids))
        .select_only()
        .columns([courses::Column::Id, courses::Column::Credits])
        .into_tuple::<(i64, f64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(list
        .iter()
        .map(|s| by_id.get(&s.course_id).copied().unwrap_or(0.0))
        .sum())
}

/// Checks that `student` may hold a seat in `section` next to their other enrolled sections of
/// the term (ignoring `leaving`, the section a swap gives up): no clash, within the credit limit.
/// Returns the ids of the enrolled sections it saw.
async fn check_fits(
    db: &impl ConnectionTrait,
    student_id: i64,
    section: &sections::Model,
    term: &terms::Model,
    leaving: Option<i64>,
) -> AppResult<Vec<i64>> {
    let all = enrolled_in_term(db, student_id, term.id).await?;
    let enrolled: Vec<i64> = all.iter().map(|s| s.id).collect();
    let current: Vec<sections::Model> = all
        .into_iter()
        .filter(|s| Some(s.id) != leaving && s.id != section.id)
        .collect();
    let mut ids: Vec<i64> = current.iter().map(|s| s.id).collect();
    ids.push(section.id);
    let meets = meetings(db, &ids).await?;
    let empty = Vec::new();
    let mine = meets.get(&section.id).unwrap_or(&empty);
    for other in &current {
        if other.course_id == section.course_id {
            let label = section_label(db, other).await?;
            return Err(refuse(
                "already_registered",
                format!("you are already registered in {label} of this course"),
            )
            .arg("other", label));
        }
        if sections_clash(mine, meets.get(&other.id).unwrap_or(&empty)) {
            let label = section_label(db, other).await?;
            return Err(refuse(
                "time_conflict",
                format!("this section meets at the same time as {label}"),
            )
            .arg("other", label));
        }
    }
    let mut taking: Vec<&sections::Model> = current.iter().collect();
    taking.push(section);
    let total = credits_of(db, &taking).await?;
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
    Ok(enrolled)
}

async fn check_prerequisites(
    db: &impl ConnectionTrait,
    student_id: i64,
    section: &sections::Model,
) -> AppResult<()> {
    let prereqs = course_prerequisites::Entity::find()
        .filter(course_prerequisites::Column::CourseId.eq(section.course_id))
        .all(db)
        .await?;
    for p in prereqs {
        let passed = grades::Entity::find()
            .filter(grades::Column::StudentId.eq(student_id))
            .filter(grades::Column::Status.eq("published"))
            .filter(grades::Column::Score.gte(p.min_score))
            .inner_join(sections::Entity)
            .filter(sections::Column::CourseId.eq(p.prerequisite_id))
            .count(db)
            .await?;
        if passed == 0 {
            let code = course_code(db, p.prerequisite_id).await?;
            return Err(refuse(
                "prerequisite_missing",
                format!(
                    "this course needs {code} passed with at least {} first",
                    p.min_score
                ),
            )
            .arg("course", code)
            .arg("min", p.min_score));
        }
    }
    Ok(())
}

async fn override_for(
    db: &impl ConnectionTrait,
    student_id: i64,
    section_id: i64,
    kind: &str,
) -> AppResult<Option<registration_overrides::Model>> {
    Ok(registration_overrides::Entity::find()
        .filter(registration_overrides::Column::StudentId.eq(student_id))
        .filter(registration_overrides::Column::SectionId.eq(section_id))
        .filter(registration_overrides::Column::Kind.eq(kind))
        .filter(registration_overrides::Column::UsedAt.is_null())
        .one(db)
        .await?)
}

async fn event(
    db: &impl ConnectionTrait,
    student_id: i64,
    section_id: i64,
    action: &str,
    code: &str,
    actor: Option<i64>,
) -> AppResult<()> {
    registration_events::ActiveModel {
        student_id: Set(student_id),
        section_id: Set(section_id),
        action: Set(action.to_string()),
        code: Set(code.to_string()),
        at: Set(now()),
        actor_id: Set(actor),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Moves one of a section's counters by `delta` (the caller holds the section's lock).
async fn count(
    db: &impl ConnectionTrait,
    section_id: i64,
    column: sections::Column,
    delta: i64,
) -> AppResult<()> {
    sections::Entity::update_many()
        .col_expr(column, Expr::col(column).add(delta))
        .filter(sections::Column::Id.eq(section_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes a seat if one is free: true when taken.
async fn take_seat(db: &impl ConnectionTrait, section_id: i64) -> AppResult<bool> {
    let res = sections::Entity::update_many()
        .col_expr(
            sections::Column::EnrolledCount,
            Expr::col(sections::Column::EnrolledCount).add(1),
        )
        .filter(sections::Column::Id.eq(section_id))
        .filter(
            Expr::col(sections::Column::EnrolledCount).lt(Expr::col(sections::Column::Capacity)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// 1-based rank of a waitlist ticket in its section.
pub async fn waitlist_rank(
    db: &impl ConnectionTrait,
    section_id: i64,
    ticket: i64,
) -> AppResult<u64> {
    Ok(enrolments::Entity::find()
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(enrolments::Column::Status.eq(WAITLISTED))
        .filter(enrolments::Column::WaitlistPosition.lte(ticket))
        .count(db)
        .await?)
}

/// Writes the student's row for this section: a new one, or the dropped one (`existing`)
/// reused. Returns its id.
async fn upsert_enrolment(
    db: &impl ConnectionTrait,
    existing: Option<i64>,
    student_id: i64,
    section_id: i64,
    status: EnrolmentStatus,
    ticket: Option<i64>,
    override_reason: Option<String>,
) -> AppResult<i64> {
    let t = now();
    if let Some(id) = existing {
        enrolments::Entity::update_many()
            .col_expr(enrolments::Column::Status, Expr::value(status))
            .col_expr(enrolments::Column::WaitlistPosition, Expr::value(ticket))
            .col_expr(enrolments::Column::UpdatedAt, Expr::value(t))
            .col_expr(
                enrolments::Column::DroppedAt,
                Expr::value(Option::<DateTime<FixedOffset>>::None),
            )
            .col_expr(
                enrolments::Column::OverrideReason,
                Expr::value(override_reason),
            )
            .filter(enrolments::Column::Id.eq(id))
            .exec(db)
            .await?;
        return Ok(id);
    }
    let row = enrolments::ActiveModel {
        student_id: Set(student_id),
        section_id: Set(section_id),
        status: Set(status),
        waitlist_position: Set(ticket),
        created_at: Set(t),
        updated_at: Set(t),
        dropped_at: Set(None),
        override_reason: Set(override_reason),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            refuse(
                "already_registered",
                "you are already registered in this section".into(),
            )
        } else {
            e.into()
        }
    })?;
    Ok(row.id)
}

fn window_open(term: &terms::Model, at: DateTime<FixedOffset>) -> bool {
    term.registration_opens_at <= at && at <= term.registration_closes_at
}

/// How an add may proceed: a normal add may fall back to the waitlist; a swap must get a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    SeatOrWaitlist,
    SeatOnly,
}

/// What the checks made before the write lock found: the section with its course and term,
/// and the student's enrolled sections of the term that the clash and credit checks saw.
struct Prechecked {
    section: sections::Model,
    course_code: String,
    term: terms::Model,
    enrolled: Vec<i64>,
}

impl Prechecked {
    fn label(&self) -> String {
        label(&self.course_code, &self.section)
    }
}

fn check_window(term: &terms::Model, at: DateTime<FixedOffset>) -> AppResult<()> {
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

/// Where a student stands toward one section, read in one statement: an open hold, their row
/// for the section (live or dropped), and the overrides granted and not yet used.
#[derive(Debug, FromQueryResult)]
struct Standing {
    hold_reason: Option<String>,
    existing_id: Option<i64>,
    existing_status: Option<EnrolmentStatus>,
    prerequisite_override: bool,
    capacity_override: bool,
}

impl Standing {
    async fn read(db: &impl ConnectionTrait, student_id: i64, section_id: i64) -> AppResult<Self> {
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
        let sub = |q: SelectStatement| Expr::SubQuery(None, Box::new(q.into()));
        let query = Query::select()
            .expr_as(sub(hold), "hold_reason")
            .expr_as(sub(mine(enrolments::Column::Id)), "existing_id")
            .expr_as(sub(mine(enrolments::Column::Status)), "existing_status")
            .expr_as(unused("prerequisite"), "prerequisite_override")
            .expr_as(unused("capacity"), "capacity_override")
            .to_owned();
        let row = db
            .query_one(&query)
            .await?
            .ok_or_else(|| AppError::internal("the standing query answered no row"))?;
        Ok(Standing::from_query_result(&row, "")?)
    }

    /// Refuses a student on hold, or one registered in the section already.
    fn check(&self) -> AppResult<()> {
        if let Some(reason) = &self.hold_reason {
            return Err(refuse(
                "hold",
                format!("a hold on your record blocks registration: {reason}"),
            )
            .arg("reason", reason));
        }
        if matches!(self.existing_status, Some(ENROLLED | WAITLISTED)) {
            return Err(refuse(
                "already_registered",
                "you are already registered in this section".into(),
            ));
        }
        Ok(())
    }
}

/// Every check of an add that only reads, made on a read connection before the write lock is
/// taken: most refusals then never queue for the lock, and the locked part stays short.
async fn precheck(
    db: &impl ConnectionTrait,
    student_id: i64,
    section_id: i64,
) -> AppResult<Prechecked> {
    let (section, term, course) = sections::Entity::find_by_id(section_id)
        .find_also_related(terms::Entity)
        .find_also_related(courses::Entity)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let (term, course) = term.zip(course).ok_or(AppError::NotFound)?;
    check_window(&term, now())?;
    let standing = Standing::read(db, student_id, section_id).await?;
    standing.check()?;
    // A section whose seats and waitlist were all taken when it was read is refused here: the
    // answer was true at that instant, and on registration day most adds to the popular
    // sections end this way, so they neither read the student's timetable nor queue for the
    // write lock. Only a hold or an existing registration is named before it.
    let full = section.enrolled_count >= section.capacity;
    if full && section.waitlist_count >= section.waitlist_capacity && !standing.capacity_override {
        return Err(full_refusal(&label(&course.code, &section), &section));
    }
    if !standing.prerequisite_override {
        check_prerequisites(db, student_id, &section).await?;
    }
    let enrolled = check_fits(db, student_id, &section, &term, None).await?;
    Ok(Prechecked {
        section,
        course_code: course.code,
        term,
        enrolled,
    })
}

/// The refusal for a section with no free seat and no room on its waitlist.
fn full_refusal(label: &str, section: &sections::Model) -> AppError {
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

/// Adds under the write lock. With `pre`, the read-only checks were made just before; they are
/// made again here only when the student's enrolled sections changed meanwhile (a concurrent
/// add or drop of theirs), so a clash or the credit limit can never slip through a race.
async fn add_in_txn(
    db: &impl ConnectionTrait,
    student_id: i64,
    section_id: i64,
    actor: Option<i64>,
    mode: Mode,
    leaving: Option<i64>,
    pre: Option<Prechecked>,
) -> AppResult<Registration> {
    // On SQLite the IMMEDIATE transaction already excludes every other writer, and the fields
    // used below (course, term, waitlist size) were read by the precheck. On PostgreSQL the
    // student's row lock orders that student's own adds (two clashing sections added at once
    // would otherwise each miss the other), then the section's row lock orders the writers of
    // this section; always in that order.
    lock_student(db, student_id).await?;
    let (section, pre) = match pre {
        Some(p) if db.get_database_backend() == DbBackend::Sqlite => (p.section.clone(), Some(p)),
        pre => {
            let section = lock_section(db, section_id).await?;
            let term_id = section.term_id;
            (section, pre.filter(|p| p.term.id == term_id))
        }
    };
    let term = match &pre {
        Some(p) => p.term.clone(),
        None => terms::Entity::find_by_id(section.term_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    let at = now();
    check_window(&term, at)?;
    let standing = Standing::read(db, student_id, section_id).await?;
    standing.check()?;
    let still_fits = match &pre {
        Some(p) => enrolled_ids_in_term(db, student_id, term.id).await? == p.enrolled,
        None => false,
    };
    if !still_fits {
        if pre.is_none() && !standing.prerequisite_override {
            check_prerequisites(db, student_id, &section).await?;
        }
        check_fits(db, student_id, &section, &term, leaving).await?;
    }

    let capacity_override = if standing.capacity_override {
        override_for(db, student_id, section_id, "capacity").await?
    } else {
        None
    };
    let (status, ticket, reason) = if take_seat(db, section_id).await? {
        (ENROLLED, None, None)
    } else if let Some(o) = capacity_override {
        sections::Entity::update_many()
            .col_expr(
                sections::Column::EnrolledCount,
                Expr::col(sections::Column::EnrolledCount).add(1),
            )
            .col_expr(
                sections::Column::OverrideCount,
                Expr::col(sections::Column::OverrideCount).add(1),
            )
            .filter(sections::Column::Id.eq(section_id))
            .exec(db)
            .await?;
        let mut am: registration_overrides::ActiveModel = o.clone().into();
        am.used_at = Set(Some(at));
        am.update(db).await?;
        (ENROLLED, None, Some(o.reason))
    } else if mode == Mode::SeatOnly {
        let label = label_of(db, &section, &pre).await?;
        return Err(
            refuse("section_full", format!("{label} has no free seat")).arg("section", label)
        );
    } else {
        let joined = sections::Entity::update_many()
            .col_expr(
                sections::Column::WaitlistCount,
                Expr::col(sections::Column::WaitlistCount).add(1),
            )
            .filter(sections::Column::Id.eq(section_id))
            .filter(
                Expr::col(sections::Column::WaitlistCount)
                    .lt(Expr::col(sections::Column::WaitlistCapacity)),
            )
            .exec(db)
            .await?;
        if joined.rows_affected != 1 {
            return Err(full_refusal(&label_of(db, &section, &pre).await?, &section));
        }
        let last: Option<Option<i64>> = enrolments::Entity::find()
            .filter(enrolments::Column::SectionId.eq(section_id))
            .select_only()
            .column_as(enrolments::Column::WaitlistPosition.max(), "m")
            .into_tuple()
            .one(db)
            .await?;
        (WAITLISTED, Some(last.flatten().unwrap_or(0) + 1), None)
    };
    let id = upsert_enrolment(
        db,
        standing.existing_id,
        student_id,
        section_id,
        status,
        ticket,
        reason,
    )
    .await?;
    event(db, student_id, section_id, "add", status.as_str(), actor).await?;
    let waitlist_position = match ticket {
        Some(t) => Some(waitlist_rank(db, section_id, t).await?),
        None => None,
    };
    Ok(Registration {
        id,
        section_id,
        student_id,
        status,
        waitlist_position,
    })
}

/// The section's readable name, from the precheck when there was one.
async fn label_of(
    db: &impl ConnectionTrait,
    section: &sections::Model,
    pre: &Option<Prechecked>,
) -> AppResult<String> {
    match pre {
        Some(p) => Ok(p.label()),
        None => section_label(db, section).await,
    }
}

/// Registers a student for a section: enrolled, or waitlisted with a position, or refused with
/// a specific code (`section_full`, `waitlist_full`, `time_conflict`, `prerequisite_missing`,
/// `already_registered`, `registration_closed`, `credit_limit`, `hold`).
pub async fn add(
    db: &crate::db::Db,
    student_id: i64,
    section_id: i64,
    actor: Option<i64>,
) -> AppResult<Registration> {
    let pre = precheck(db, student_id, section_id).await?;
    let conn = db.clone();
    crate::db::on_writer_thread(db, async move {
        let txn = crate::db::write_txn(&conn).await?;
        let reg = add_in_txn(
            &txn,
            student_id,
            section_id,
            actor,
            Mode::SeatOrWaitlist,
            None,
            Some(pre),
        )
        .await?;
        audit_add(&txn, actor, &reg).await?;
        txn.commit().await?;
        Ok(reg)
    })
    .await
}

/// The audit row of an add made by a person (`actor`), written in the add's transaction.
async fn audit_add(
    db: &impl ConnectionTrait,
    actor: Option<i64>,
    reg: &Registration,
) -> AppResult<()> {
    let Some(actor) = actor else {
        return Ok(());
    };
    Entry::new(Some(actor), "registration.add", "enrolment")
        .id(reg.id)
        .student(reg.student_id)
        .detail(json!({"section_id": reg.section_id, "status": reg.status, "waitlist_position": reg.waitlist_position}))
        .write(db)
        .await
}

/// The answer to an add, replayed when `key` was seen before for this user.
pub enum Added {
    New(Registration),
    Replayed(u16, String),
}

/// `add` with an idempotency key: the registration and the remembered answer are written in
/// one transaction, so a retry can never register twice nor lose the first answer.
pub async fn add_once(
    db: &crate::db::Db,
    student_id: i64,
    section_id: i64,
    actor: i64,
    key: &str,
) -> AppResult<Added> {
    use super::idempotency::{remember, replay};
    if let Some((status, body)) = replay(db, actor, key).await? {
        return Ok(Added::Replayed(status, body));
    }
    let pre = match precheck(db, student_id, section_id).await {
        Ok(pre) => pre,
        Err(e) => {
            // A twin of this request may have registered meanwhile: answer as it did.
            return match replay(db, actor, key).await? {
                Some((status, body)) => Ok(Added::Replayed(status, body)),
                None => Err(e),
            };
        }
    };
    let conn = db.clone();
    let key = key.to_string();
    crate::db::on_writer_thread(db, async move {
        let db = &conn;
        let key = key.as_str();
        let txn = crate::db::write_txn(db).await?;
        if let Some((status, body)) = replay(&txn, actor, key).await? {
            return Ok(Added::Replayed(status, body));
        }
        let result = add_in_txn(
            &txn,
            student_id,
            section_id,
            Some(actor),
            Mode::SeatOrWaitlist,
            None,
            Some(pre),
        )
        .await;
        match result {
            Ok(reg) => {
                let body = serde_json::to_string(&reg).map_err(AppError::internal)?;
                remember(&txn, actor, key, 201, &body).await?;
                audit_add(&txn, Some(actor), &reg).await?;
                txn.commit().await?;
                Ok(Added::New(reg))
            }
            Err(e) => {
                txn.rollback().await?;
                // NOTE: on PostgreSQL a concurrent twin may have committed meanwhile; answer as it did.
                if let Some((status, body)) = replay(db, actor, key).await? {
                    return Ok(Added::Replayed(status, body));
                }
                Err(e)
            }
        }
    })
    .await
}

/// Gives the freed seat to the first waitlisted student who still fits; the others keep their
/// places. Returns the student promoted, if any.
async fn promote(
    db: &impl ConnectionTrait,
    section: &sections::Model,
    term: &terms::Model,
) -> AppResult<Option<i64>> {
    let waiting = enrolments::Entity::find()
        .filter(enrolments::Column::SectionId.eq(section.id))
        .filter(enrolments::Column::Status.eq(WAITLISTED))
        .order_by_asc(enrolments::Column::WaitlistPosition)
        .all(db)
        .await?;
    for w in waiting {
        // NOTE: without the lock, the student's own add of a clashing section could commit
        // between this check and the seat (found on PostgreSQL by a race test).
        lock_student(db, w.student_id).await?;
        if check_fits(db, w.student_id, section, term, None)
            .await
            .is_err()
        {
            continue;
        }
        if !take_seat(db, section.id).await? {
            return Ok(None);
        }
        count(db, section.id, sections::Column::WaitlistCount, -1).await?;
        let student_id = w.student_id;
        let mut am: enrolments::ActiveModel = w.into();
        am.status = Set(ENROLLED);
        am.waitlist_position = Set(None);
        am.updated_at = Set(now());
        am.update(db).await?;
        event(
            db,
            student_id,
            section.id,
            "promote",
            ENROLLED.as_str(),
            None,
        )
        .await?;
        notify_promoted(db, student_id, section).await?;
        return Ok(Some(student_id));
    }
    Ok(None)
}

async fn notify_promoted(
    db: &impl ConnectionTrait,
    student_id: i64,
    section: &sections::Model,
) -> AppResult<()> {
    use crate::interaction::messages::notify::{notify_user_with, user_of_student};
    if let Some(user_id) = user_of_student(db, student_id).await? {
        let label = section_label(db, section).await?;
        let letter = crate::mail::Letter::new("registration.promoted")
            .arg("section", &label)
            .link("/registrations");
        notify_user_with(
            db,
            user_id,
            "registration.promoted",
            &format!("You are now enrolled in {label}"),
            &format!("A seat became free in {label} and you were next on its waitlist."),
            "/registrations",
            &letter,
        )
        .await?;
    }
    Ok(())
}

async fn drop_in_txn(
    db: &impl ConnectionTrait,
    student_id: i64,
    enrolment_id: i64,
    actor: Option<i64>,
    check_deadline: bool,
) -> AppResult<Option<i64>> {
    let find = || {
        enrolments::Entity::find_by_id(enrolment_id)
            .filter(enrolments::Column::StudentId.eq(student_id))
    };
    let (e, mut section) = if db.get_database_backend() == DbBackend::Postgres {
        let section_id = find().one(db).await?.ok_or(AppError::NotFound)?.section_id;
        let section = lock_section(db, section_id).await?;
        // NOTE: read the status only now that the section is locked: a concurrent drop may have
        // just promoted this very row from the waitlist (found on PostgreSQL by the load test).
        (find().one(db).await?.ok_or(AppError::NotFound)?, section)
    } else {
        // SQLite's IMMEDIATE transaction has held the write lock since it began.
        let (e, section) = find()
            .find_also_related(sections::Entity)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        (e, section.ok_or(AppError::NotFound)?)
    };
    if e.status != ENROLLED && e.status != WAITLISTED {
        return Err(AppError::NotFound);
    }
    let term = terms::Entity::find_by_id(section.term_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if check_deadline && now() > term.add_drop_deadline {
        return Err(refuse(
            "drop_deadline_passed",
            format!("the add/drop deadline for {} has passed", term.name_en),
        )
        .arg("term_zh", &term.name_zh)
        .arg("term_en", &term.name_en));
    }
    let at = now();
    enrolments::Entity::update_many()
        .col_expr(enrolments::Column::Status, Expr::value(DROPPED))
        .col_expr(
            enrolments::Column::WaitlistPosition,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(enrolments::Column::UpdatedAt, Expr::value(at))
        .col_expr(enrolments::Column::DroppedAt, Expr::value(Some(at)))
        .filter(enrolments::Column::Id.eq(e.id))
        .exec(db)
        .await?;
    event(db, student_id, section.id, "drop", DROPPED.as_str(), actor).await?;
    if e.status == WAITLISTED {
        count(db, section.id, sections::Column::WaitlistCount, -1).await?;
        return Ok(None);
    }
    count(db, section.id, sections::Column::EnrolledCount, -1).await?;
    // The section is locked (or the file is), so the count is now exactly one lower.
    section.enrolled_count -= 1;
    promote(db, &section, &term).await
}

/// Drops a registration (enrolled or waitlisted) before the add/drop deadline; a freed seat goes
/// to the waitlist at once. Returns the student promoted, if any. A person's drop (`actor`) is
/// audited in the same transaction, as are adds and swaps.
pub async fn drop(
    db: &crate::db::Db,
    student_id: i64,
    enrolment_id: i64,
    actor: Option<i64>,
) -> AppResult<Option<i64>> {
    let conn = db.clone();
    let work = crate::db::retrying_deadlocks(move || {
        drop_once(conn.clone(), student_id, enrolment_id, actor)
    });
    crate::db::on_writer_thread(db, work).await
}

async fn drop_once(
    db: crate::db::Db,
    student_id: i64,
    enrolment_id: i64,
    actor: Option<i64>,
) -> AppResult<Option<i64>> {
    let txn = crate::db::write_txn(&db).await?;
    let promoted = drop_in_txn(&txn, student_id, enrolment_id, actor, true).await?;
    if let Some(actor) = actor {
        Entry::new(Some(actor), "registration.drop", "enrolment")
            .id(enrolment_id)
            .student(student_id)
            .write(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(promoted)
}

/// Swaps an enrolled section for another in one step: the new seat is taken first, and if it
/// cannot be had the old one is kept (nothing changes).
pub async fn swap(
    db: &crate::db::Db,
    student_id: i64,
    from_enrolment: i64,
    to_section: i64,
    actor: Option<i64>,
) -> AppResult<Registration> {
    let conn = db.clone();
    let work = crate::db::retrying_deadlocks(move || {
        swap_once(conn.clone(), student_id, from_enrolment, to_section, actor)
    });
    crate::db::on_writer_thread(db, work).await
}

async fn swap_once(
    db: crate::db::Db,
    student_id: i64,
    from_enrolment: i64,
    to_section: i64,
    actor: Option<i64>,
) -> AppResult<Registration> {
    let txn = crate::db::write_txn(&db).await?;
    let from = enrolments::Entity::find_by_id(from_enrolment)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.eq(ENROLLED))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let reg = add_in_txn(
        &txn,
        student_id,
        to_section,
        actor,
        Mode::SeatOnly,
        Some(from.section_id),
        None,
    )
    .await?;
    drop_in_txn(&txn, student_id, from.id, actor, true).await?;
    if let Some(actor) = actor {
        Entry::new(Some(actor), "registration.swap", "enrolment")
            .id(reg.id)
            .student(student_id)
            .detail(json!({"from": from_enrolment, "to_section_id": to_section}))
            .write(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(reg)
}

/// One row of a student's registrations, as the API and the pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyRegistration {
    pub id: i64,
    pub section_id: i64,
    pub term_id: i64,
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub section_no: String,
    pub credits: f64,
    pub status: EnrolmentStatus,
    pub waitlist_position: Option<u64>,
    pub room: String,
    pub meetings: Vec<Meeting>,
}

/// The student's live registrations (enrolled and waitlisted), optionally in one term.
pub async fn list_for_student(
    db: &impl ConnectionTrait,
    student_id: i64,
    term_id: Option<i64>,
) -> AppResult<Vec<MyRegistration>> {
    let rows = enrolments::Entity::find()
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.is_in([ENROLLED, WAITLISTED]))
        .order_by_asc(enrolments::Column::Id)
        .all(db)
        .await?;
    let section_ids: Vec<i64> = rows.iter().map(|r| r.section_id).collect();
    let mut secs: HashMap<i64, sections::Model> = HashMap::new();
    for s in sections::Entity::find()
        .filter(sections::Column::Id.is_in(section_ids.clone()))
        .all(db)
        .await?
    {
        secs.insert(s.id, s);
    }
    let course_ids: Vec<i64> = secs.values().map(|s| s.course_id).collect();
    let courses: HashMap<i64, courses::Model> = courses::Entity::find()
        .filter(courses::Column::Id.is_in(course_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut meets = meetings(db, &section_ids).await?;
    let mut out = Vec::new();
    for r in rows {
        let Some(s) = secs.get(&r.section_id) else {
            continue;
        };
        if term_id.is_some_and(|t| t != s.term_id) {
            continue;
        }
        let Some(c) = courses.get(&s.course_id) else {
            continue;
        };
        let waitlist_position = match r.waitlist_position {
            Some(t) if r.status == WAITLISTED => Some(waitlist_rank(db, s.id, t).await?),
            _ => None,
        };
        out.push(MyRegistration {
            id: r.id,
            section_id: s.id,
            term_id: s.term_id,
            course_code: c.code.clone(),
            title_zh: c.title_zh.clone(),
            title_en: c.title_en.clone(),
            section_no: s.section_no.clone(),
            credits: c.credits,
            status: r.status,
            waitlist_position,
            room: s.room.clone(),
            meetings: meets
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(Meeting::from)
                .collect(),
        });
    }
    Ok(out)
}

/// Another section of the same course in the same term, offered as a swap target.
#[derive(Debug, Clone, Serialize)]
pub struct SwapTarget {
    pub section_id: i64,
    pub section_no: String,
    pub seats_left: i64,
    pub meetings: Vec<Meeting>,
}

/// For each enrolled registration, the other sections of its course in its term.
pub async fn swap_alternatives(
    db: &impl ConnectionTrait,
    regs: &[MyRegistration],
) -> AppResult<std::collections::HashMap<i64, Vec<SwapTarget>>> {
    let enrolled: Vec<&MyRegistration> = regs.iter().filter(|r| r.status == ENROLLED).collect();
    let mut out = std::collections::HashMap::new();
    if enrolled.is_empty() {
        return Ok(out);
    }
    let own = sections::Entity::find()
        .filter(sections::Column::Id.is_in(enrolled.iter().map(|r| r.section_id)))
        .all(db)
        .await?;
    let course_of: std::collections::HashMap<i64, (i64, i64)> = own
        .iter()
        .map(|s| (s.id, (s.course_id, s.term_id)))
        .collect();
    let others = sections::Entity::find()
        .filter(sections::Column::CourseId.is_in(own.iter().map(|s| s.course_id)))
        .filter(sections::Column::TermId.is_in(own.iter().map(|s| s.term_id)))
        .order_by_asc(sections::Column::SectionNo)
        .all(db)
        .await?;
    let meets = meetings(db, &others.iter().map(|s| s.id).collect::<Vec<_>>()).await?;
    for r in enrolled {
        let Some(&(course, term)) = course_of.get(&r.section_id) else {
            continue;
        };
        let targets: Vec<SwapTarget> = others
            .iter()
            .filter(|s| s.course_id == course && s.term_id == term && s.id != r.section_id)
            .map(|s| SwapTarget {
                section_id: s.id,
                section_no: s.section_no.clone(),
                seats_left: std::cmp::max(s.capacity + s.override_count - s.enrolled_count, 0),
                meetings: meets
                    .get(&s.id)
                    .map(|list| list.iter().cloned().map(Meeting::from).collect())
                    .unwrap_or_default(),
            })
            .collect();
        if !targets.is_empty() {
            out.insert(r.id, targets);
        }
    }
    Ok(out)
}

/// The caller's student record: only students register.
pub fn own_student(user: &crate::auth::CurrentUser) -> AppResult<i64> {
    user.student_id.ok_or_else(|| {
        AppError::unprocessable("not_a_student", "only students register for sections")
    })
}

/// The student's live registrations, in the term named by `term` (`current`, an id or a code;
/// 404 for no such term) or in every term when it is not given.
pub async fn list_in_term(
    db: &impl ConnectionTrait,
    student_id: i64,
    term: Option<&str>,
) -> AppResult<Vec<MyRegistration>> {
    let term_id = match term {
        Some(t) => Some(
            crate::courses::service::resolve_term(db, Some(t))
                .await?
                .ok_or(AppError::NotFound)?
                .id,
        ),
        None => None,
    };
    list_for_student(db, student_id, term_id).await
}

/// A student's current term: their live registrations in it and the swaps open to each.
pub struct MyTerm {
    pub term: Option<terms::Model>,
    pub regs: Vec<MyRegistration>,
    pub alternatives: HashMap<i64, Vec<SwapTarget>>,
}

pub async fn my_term(db: &impl ConnectionTrait, student_id: i64) -> AppResult<MyTerm> {
    let term = crate::courses::service::current_term(db).await?;
    let regs = list_for_student(db, student_id, term.as_ref().map(|t| t.id)).await?;
    let alternatives = swap_alternatives(db, &regs).await?;
    Ok(MyTerm {
        term,
        regs,
        alternatives,
    })
}
