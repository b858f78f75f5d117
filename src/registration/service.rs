//! Adding, dropping and swapping sections, with waitlists that promote automatically.
//!
//! Every change is one write transaction (IMMEDIATE on SQLite). Seats are taken with a
//! conditional update (`… SET enrolled_count = enrolled_count + 1 WHERE enrolled_count <
//! capacity`), so two requests can never both take the last seat, on one instance or on many
//! sharing one PostgreSQL; a CHECK constraint on `sections` refuses an over-filled section even
//! if the code were wrong.

use super::admission::{
    Admission, KeyOf, check_fits, check_window, full_refusal, label, refuse, timetable,
};
use crate::audit::Entry;
use crate::courses::service::Meeting;
use crate::entity::{
    courses, enrolments, registration_events, registration_overrides, section_meetings, sections,
    students, terms,
};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait, Set,
    sea_query::{Expr, ExprTrait, Query},
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

/// How an add may proceed: a normal add may fall back to the waitlist; a swap must get a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    SeatOrWaitlist,
    SeatOnly,
}

/// Every check of an add that only reads, made on a read connection before the write lock is
/// taken: most refusals then never queue for the lock, and the locked part stays short. Two
/// statements at most (one when refused for the standing or a full section); the answer
/// remembered under `key` when there is one.
///
/// NOTE: the remembered answer and the registration are committed together, and one statement
/// sees both or neither, so a refusal here never needs the key looked up again: had a twin
/// request with the same key registered, this statement would have seen its answer.
async fn precheck(
    db: &impl ConnectionTrait,
    student_id: i64,
    section_id: i64,
    key: KeyOf<'_>,
) -> AppResult<Option<(u16, String)>> {
    let a = Admission::read(db, student_id, section_id, key)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(replay) = a.replay() {
        return Ok(Some(replay));
    }
    check_window(&a.term, now())?;
    a.check_standing()?;
    // A section whose seats and waitlist were all taken when it was read is refused here: the
    // answer was true at that instant, and on registration day most adds to the popular
    // sections end this way, so they neither read the student's timetable nor queue for the
    // write lock. Only a hold or an existing registration is named before it.
    let s = &a.section;
    let full = s.enrolled_count >= s.capacity;
    if full && s.waitlist_count >= s.waitlist_capacity && !a.standing.capacity_override {
        return Err(full_refusal(&a.label(), s));
    }
    a.check_prerequisites(db).await?;
    let slots = timetable(db, student_id, section_id, a.term.id).await?;
    check_fits(&slots, s, &a.term, None)?;
    Ok(None)
}

/// Adds under the write lock: every check of the precheck is made again on what the lock
/// holds (two statements), so nothing that changed meanwhile (a concurrent add or drop of the
/// student's, a hold, a prerequisite) can slip through. The answer remembered under `key` is
/// returned instead when there is one.
async fn add_in_txn(
    db: &impl ConnectionTrait,
    student_id: i64,
    section_id: i64,
    actor: Option<i64>,
    mode: Mode,
    leaving: Option<i64>,
    key: KeyOf<'_>,
) -> AppResult<Added> {
    // On SQLite the IMMEDIATE transaction already excludes every other writer. On PostgreSQL
    // the student's row lock orders that student's own adds (two clashing sections added at
    // once would otherwise each miss the other), then the section's row lock orders the
    // writers of this section; always in that order.
    lock_student(db, student_id).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        lock_section(db, section_id).await?;
    }
    let a = Admission::read(db, student_id, section_id, key)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some((status, body)) = a.replay() {
        return Ok(Added::Replayed(status, body));
    }
    let at = now();
    check_window(&a.term, at)?;
    a.check_standing()?;
    a.check_prerequisites(db).await?;
    let slots = timetable(db, student_id, section_id, a.term.id).await?;
    check_fits(&slots, &a.section, &a.term, leaving)?;

    let capacity_override = if a.standing.capacity_override {
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
        let label = a.label();
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
            return Err(full_refusal(&a.label(), &a.section));
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
        a.standing.existing_id,
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
    Ok(Added::New(Registration {
        id,
        section_id,
        student_id,
        status,
        waitlist_position,
    }))
}

/// The registration of an add made without a key (which can never be a replay).
fn new_only(added: Added) -> AppResult<Registration> {
    match added {
        Added::New(reg) => Ok(reg),
        Added::Replayed(..) => Err(AppError::internal("an add without a key was replayed")),
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
    precheck(db, student_id, section_id, None).await?;
    let conn = db.clone();
    crate::db::on_writer_thread(db, async move {
        let txn = crate::db::write_txn(&conn).await?;
        let reg = new_only(
            add_in_txn(
                &txn,
                student_id,
                section_id,
                actor,
                Mode::SeatOrWaitlist,
                None,
                None,
            )
            .await?,
        )?;
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
    if let Some((status, body)) = precheck(db, student_id, section_id, Some((actor, key))).await? {
        return Ok(Added::Replayed(status, body));
    }
    let conn = db.clone();
    let key = key.to_string();
    crate::db::on_writer_thread(db, async move {
        let db = &conn;
        let key = key.as_str();
        let txn = crate::db::write_txn(db).await?;
        let result = add_in_txn(
            &txn,
            student_id,
            section_id,
            Some(actor),
            Mode::SeatOrWaitlist,
            None,
            Some((actor, key)),
        )
        .await;
        match result {
            Ok(Added::New(reg)) => {
                let body = serde_json::to_string(&reg).map_err(AppError::internal)?;
                remember(&txn, actor, key, 201, &body).await?;
                audit_add(&txn, Some(actor), &reg).await?;
                txn.commit().await?;
                Ok(Added::New(reg))
            }
            Ok(replayed) => Ok(replayed),
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
    // The caller holds the section's lock, so its waitlist count is exact.
    if section.waitlist_count == 0 {
        return Ok(None);
    }
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
        let slots = timetable(db, w.student_id, section.id, term.id).await?;
        if check_fits(&slots, section, term, None).is_err() {
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
    // The row with its section and term, in one statement.
    let read = || {
        find()
            .find_also_related(sections::Entity)
            .and_also_related(terms::Entity)
    };
    if db.get_database_backend() == DbBackend::Postgres {
        let section_id = find().one(db).await?.ok_or(AppError::NotFound)?.section_id;
        lock_section(db, section_id).await?;
        // NOTE: read the status only now that the section is locked: a concurrent drop may have
        // just promoted this very row from the waitlist (found on PostgreSQL by the load test).
    }
    // (SQLite's IMMEDIATE transaction has held the write lock since it began.)
    let (e, section, term) = read().one(db).await?.ok_or(AppError::NotFound)?;
    let (mut section, term) = section.zip(term).ok_or(AppError::NotFound)?;
    if e.status != ENROLLED && e.status != WAITLISTED {
        return Err(AppError::NotFound);
    }
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
    let reg = new_only(
        add_in_txn(
            &txn,
            student_id,
            to_section,
            actor,
            Mode::SeatOnly,
            Some(from.section_id),
            None,
        )
        .await?,
    )?;
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

/// One live registration with its section and course, and its rank on the waitlist.
#[derive(FromQueryResult)]
struct Listed {
    id: i64,
    section_id: i64,
    term_id: i64,
    course_code: String,
    title_zh: String,
    title_en: String,
    section_no: String,
    credits: f64,
    status: EnrolmentStatus,
    waitlist_position: Option<i64>,
    waitlist_rank: i64,
    room: String,
}

/// The student's live registrations (enrolled and waitlisted), optionally in one term: two
/// statements however many there are (the rows with their sections, courses and waitlist
/// ranks, then their meetings).
pub async fn list_for_student(
    db: &impl ConnectionTrait,
    student_id: i64,
    term_id: Option<i64>,
) -> AppResult<Vec<MyRegistration>> {
    // The rank of a waitlisted row: the waitlisted rows ("w") of its section up to its ticket.
    let rank = Query::select()
        .expr(Expr::col(("w", enrolments::Column::Id)).count())
        .from_as(enrolments::Entity, "w")
        .and_where(
            Expr::col(("w", enrolments::Column::SectionId))
                .equals((enrolments::Entity, enrolments::Column::SectionId)),
        )
        .and_where(Expr::col(("w", enrolments::Column::Status)).eq(WAITLISTED.as_str()))
        .and_where(
            Expr::col(("w", enrolments::Column::WaitlistPosition)).lte(Expr::col((
                enrolments::Entity,
                enrolments::Column::WaitlistPosition,
            ))),
        )
        .to_owned();
    let rows = enrolments::Entity::find()
        .select_only()
        .columns([
            enrolments::Column::Id,
            enrolments::Column::SectionId,
            enrolments::Column::Status,
            enrolments::Column::WaitlistPosition,
        ])
        .columns([
            sections::Column::TermId,
            sections::Column::SectionNo,
            sections::Column::Room,
        ])
        .column_as(courses::Column::Code, "course_code")
        .columns([
            courses::Column::TitleZh,
            courses::Column::TitleEn,
            courses::Column::Credits,
        ])
        .expr_as(Expr::SubQuery(None, Box::new(rank.into())), "waitlist_rank")
        .inner_join(sections::Entity)
        .join(JoinType::InnerJoin, sections::Relation::Courses.def())
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.is_in([ENROLLED, WAITLISTED]))
        .apply_if(term_id, |q, t| q.filter(sections::Column::TermId.eq(t)))
        .order_by_asc(enrolments::Column::Id)
        .into_model::<Listed>()
        .all(db)
        .await?;
    let section_ids: Vec<i64> = rows.iter().map(|r| r.section_id).collect();
    let mut meets = meetings(db, &section_ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| MyRegistration {
            id: r.id,
            section_id: r.section_id,
            term_id: r.term_id,
            course_code: r.course_code,
            title_zh: r.title_zh,
            title_en: r.title_en,
            section_no: r.section_no,
            credits: r.credits,
            status: r.status,
            waitlist_position: match r.waitlist_position {
                Some(_) if r.status == WAITLISTED => u64::try_from(r.waitlist_rank).ok(),
                _ => None,
            },
            room: r.room,
            meetings: meets
                .remove(&r.section_id)
                .unwrap_or_default()
                .into_iter()
                .map(Meeting::from)
                .collect(),
        })
        .collect())
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
///
/// The term comes from this instance's copy of the terms (see
/// [`crate::courses::service::resolve_term_cached`]), so the list costs two statements.
pub async fn list_in_term(
    state: &crate::state::AppState,
    student_id: i64,
    term: Option<&str>,
) -> AppResult<Vec<MyRegistration>> {
    let term_id = match term {
        Some(t) => Some(
            crate::courses::service::resolve_term_cached(state, Some(t))
                .await?
                .ok_or(AppError::NotFound)?
                .id,
        ),
        None => None,
    };
    list_for_student(&state.db, student_id, term_id).await
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
