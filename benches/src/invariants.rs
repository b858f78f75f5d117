//! The seat and waitlist invariants of the current term, checked in the database the server
//! uses after a run: the counters on each section agree with its rows and its limits.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use srm::entity::{enrolments, sections, terms};
use srm::error::{AppError, AppResult};
use std::collections::{HashMap, HashSet};

/// The stored status of a registration holding a seat, and of one on the waitlist.
pub const ENROLLED: &str = "enrolled";
pub const WAITLISTED: &str = "waitlisted";

/// The columns of a live registration the checks read (the status as stored text, so this
/// crate does not follow the entity's Rust type).
#[derive(FromQueryResult)]
struct Live {
    student_id: i64,
    section_id: i64,
    status: String,
    waitlist_position: Option<i64>,
}

/// One invariant: what it says, how many things were checked and what broke it.
pub struct Check {
    pub name: &'static str,
    pub checked: usize,
    pub failures: Vec<String>,
}

impl Check {
    fn new(name: &'static str, checked: usize) -> Self {
        Check {
            name,
            checked,
            failures: Vec::new(),
        }
    }

    pub fn print(&self) {
        if self.failures.is_empty() {
            println!("  PASS  {} ({} checked)", self.name, self.checked);
        } else {
            let examples: Vec<&str> = self.failures.iter().take(3).map(String::as_str).collect();
            println!(
                "  FAIL  {}: {} of {} (e.g. {})",
                self.name,
                self.failures.len(),
                self.checked,
                examples.join("; ")
            );
        }
    }
}

/// Checks the seats and waitlists of every section of the current term against its rows.
pub async fn check(db: &impl ConnectionTrait) -> AppResult<Vec<Check>> {
    let term = terms::Entity::find()
        .filter(terms::Column::IsCurrent.eq(true))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("there is no current term to check"))?;
    let all_sections = sections::Entity::find()
        .filter(sections::Column::TermId.eq(term.id))
        .all(db)
        .await?;
    let rows = enrolments::Entity::find()
        .select_only()
        .columns([
            enrolments::Column::StudentId,
            enrolments::Column::SectionId,
            enrolments::Column::Status,
            enrolments::Column::WaitlistPosition,
        ])
        .inner_join(sections::Entity)
        .filter(sections::Column::TermId.eq(term.id))
        .filter(enrolments::Column::Status.is_in([ENROLLED, WAITLISTED]))
        .into_model::<Live>()
        .all(db)
        .await?;

    let mut enrolled: HashMap<i64, i64> = HashMap::new();
    let mut waitlisted: HashMap<i64, i64> = HashMap::new();
    let mut tickets: HashMap<i64, Vec<Option<i64>>> = HashMap::new();
    let mut pairs: HashMap<(i64, i64), u32> = HashMap::new();
    for r in &rows {
        if r.status == ENROLLED {
            *enrolled.entry(r.section_id).or_default() += 1;
        } else {
            *waitlisted.entry(r.section_id).or_default() += 1;
            tickets
                .entry(r.section_id)
                .or_default()
                .push(r.waitlist_position);
        }
        *pairs.entry((r.student_id, r.section_id)).or_default() += 1;
    }

    let n = all_sections.len();
    let mut counted = Check::new("enrolled rows = sections.enrolled_count", n);
    let mut seats = Check::new("enrolled_count <= capacity + override_count", n);
    let mut waiting = Check::new("waitlisted rows = sections.waitlist_count", n);
    let mut wait_cap = Check::new("waitlist_count <= waitlist_capacity", n);
    let mut distinct = Check::new("waitlist tickets distinct (and set) per section", n);
    for s in &all_sections {
        let rows_in = enrolled.get(&s.id).copied().unwrap_or(0);
        if rows_in != s.enrolled_count {
            counted.failures.push(format!(
                "section {}: {rows_in} rows, count {}",
                s.id, s.enrolled_count
            ));
        }
        if s.enrolled_count > s.capacity + s.override_count {
            seats.failures.push(format!(
                "section {}: {} enrolled, capacity {} + {}",
                s.id, s.enrolled_count, s.capacity, s.override_count
            ));
        }
        let rows_wait = waitlisted.get(&s.id).copied().unwrap_or(0);
        if rows_wait != s.waitlist_count {
            waiting.failures.push(format!(
                "section {}: {rows_wait} rows, count {}",
                s.id, s.waitlist_count
            ));
        }
        if s.waitlist_count > s.waitlist_capacity {
            wait_cap.failures.push(format!(
                "section {}: {} waiting, capacity {}",
                s.id, s.waitlist_count, s.waitlist_capacity
            ));
        }
        let list = tickets.get(&s.id).map(Vec::as_slice).unwrap_or_default();
        let set: HashSet<i64> = list.iter().flatten().copied().collect();
        if set.len() != list.len() {
            distinct.failures.push(format!(
                "section {}: {} waitlisted rows, {} distinct tickets",
                s.id,
                list.len(),
                set.len()
            ));
        }
    }
    let mut single = Check::new("one live registration per student and section", pairs.len());
    for ((student, section), count) in &pairs {
        if *count > 1 {
            single.failures.push(format!(
                "student {student}, section {section}: {count} live rows"
            ));
        }
    }
    Ok(vec![counted, seats, waiting, wait_cap, distinct, single])
}

/// The popular sections as they ended.
pub async fn print_hot_after(db: &impl ConnectionTrait, ids: Vec<i64>) -> AppResult<()> {
    let after = sections::Entity::find()
        .filter(sections::Column::Id.is_in(ids))
        .all(db)
        .await?;
    println!("popular sections after (capacity / enrolled / waitlist of waitlist capacity):");
    for s in after {
        println!(
            "  {:>6}  {:>4} / {:>4} / {:>3} of {:>3}",
            s.id, s.capacity, s.enrolled_count, s.waitlist_count, s.waitlist_capacity
        );
    }
    Ok(())
}
