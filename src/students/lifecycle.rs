//! Lifecycle stages (a CRM idea: new → forming → stable → declining → left or graduated),
//! derived from the record, never typed in. Every rule lives in this file; the help page at
//! `/students/lifecycle` describes the same rules.
//!
//! In order, the first rule that applies wins:
//! 1. status `withdrawn` → **left**; status `graduated` → **graduated**;
//! 2. status `suspended` → **declining**;
//! 3. a failed course (published grade below the pass mark) in the current or the previous
//!    term, or the term GPA falling two terms running (the last three graded terms strictly
//!    decreasing) → **declining**;
//! 4. the current term is the first term of the student's cohort → **new**;
//! 5. the current term is in the cohort's first academic year → **forming**;
//! 6. otherwise → **stable**.

use crate::entity::students::StudentStatus;
use crate::entity::{grades, sections, students, terms};
use crate::error::AppResult;
use crate::grades::scale::pass_mark_sql;
use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Select,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    New,
    Forming,
    Stable,
    Declining,
    Left,
    Graduated,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::New,
        Stage::Forming,
        Stage::Stable,
        Stage::Declining,
        Stage::Left,
        Stage::Graduated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Forming => "forming",
            Stage::Stable => "stable",
            Stage::Declining => "declining",
            Stage::Left => "left",
            Stage::Graduated => "graduated",
        }
    }

    pub fn from_code(code: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.code() == code.trim())
    }

    /// Whether the stage follows from the status alone (so a filter is plain SQL).
    pub fn status(self) -> Option<StudentStatus> {
        match self {
            Stage::Left => Some(StudentStatus::Withdrawn),
            Stage::Graduated => Some(StudentStatus::Graduated),
            _ => None,
        }
    }
}

/// The grade-point average lives in `grades::gpa` (the one GPA function, with the retake and
/// zero-credit rules); callers sum `points × credits` and `credits` and call it.
pub use crate::grades::gpa::gpa;

/// One student's published grades in one term, summed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TermAgg {
    pub term_seq: i64,
    pub quality_points: f64,
    pub credits: f64,
    pub failed: i64,
}

impl TermAgg {
    pub fn gpa(&self) -> Option<f64> {
        gpa(self.quality_points, self.credits)
    }
}

/// What the rules need to know about "now": the current term and which cohorts are in their
/// first term or first year. Computed once per request, not per student.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub current_seq: Option<i64>,
    pub previous_seq: Option<i64>,
    pub new_cohorts: HashSet<i64>,
    pub forming_cohorts: HashSet<i64>,
}

/// The academic year a date falls in: it starts in August.
fn academic_year(d: NaiveDate) -> i64 {
    let y = i64::from(d.year());
    if d.month() >= 8 { y } else { y - 1 }
}

impl Calendar {
    /// Builds the calendar from the terms table. Without a current term, today's date decides
    /// the academic year and every term that has started counts.
    pub async fn load(db: &impl ConnectionTrait) -> AppResult<Calendar> {
        let all = terms::Entity::find()
            .order_by_asc(terms::Column::Seq)
            .all(db)
            .await?;
        let today = Utc::now().date_naive();
        Ok(Calendar::from_terms(&all, today))
    }

    pub fn from_terms(all: &[terms::Model], today: NaiveDate) -> Calendar {
        let current = all
            .iter()
            .find(|t| t.is_current)
            .or_else(|| all.iter().rev().find(|t| t.starts_on <= today));
        let Some(current) = current else {
            let year = academic_year(today);
            return Calendar {
                new_cohorts: HashSet::from([year]),
                forming_cohorts: HashSet::from([year]),
                ..Default::default()
            };
        };
        let year = academic_year(current.starts_on);
        let earlier_same_year = all
            .iter()
            .any(|t| t.seq < current.seq && academic_year(t.starts_on) == year);
        let mut new_cohorts = HashSet::new();
        if !earlier_same_year {
            new_cohorts.insert(year);
        }
        Calendar {
            current_seq: Some(current.seq),
            previous_seq: all
                .iter()
                .filter(|t| t.seq < current.seq)
                .map(|t| t.seq)
                .max(),
            new_cohorts,
            // Cohorts admitted later than the current year (pre-admission) count as new too.
            forming_cohorts: HashSet::from([year]),
        }
    }

    fn is_new(&self, cohort: i64) -> bool {
        self.new_cohorts.contains(&cohort) || self.new_cohorts.iter().any(|y| cohort > *y)
    }

    fn is_forming(&self, cohort: i64) -> bool {
        self.forming_cohorts.contains(&cohort) || self.forming_cohorts.iter().any(|y| cohort > *y)
    }

    /// The grade-based warning of rule 3.
    pub fn grades_declining(&self, terms: &[TermAgg]) -> bool {
        self.grade_warning(terms).is_some()
    }

    /// Which part of rule 3 warns, if any: `failed_course` or `gpa_falling`.
    fn grade_warning(&self, terms: &[TermAgg]) -> Option<&'static str> {
        let mut terms: Vec<&TermAgg> = terms
            .iter()
            .filter(|t| self.current_seq.is_none_or(|c| t.term_seq <= c))
            .collect();
        terms.sort_by_key(|t| t.term_seq);
        let recent_failure = terms.iter().any(|t| {
            t.failed > 0
                && (Some(t.term_seq) == self.current_seq || Some(t.term_seq) == self.previous_seq)
        });
        if recent_failure {
            return Some("failed_course");
        }
        let gpas: Vec<f64> = terms.iter().filter_map(|t| t.gpa()).collect();
        match gpas.as_slice() {
            [.., a, b, c] if a > b && b > c => Some("gpa_falling"),
            _ => None,
        }
    }

    /// The stage of one student, given their status, cohort and per-term grade sums.
    pub fn stage(&self, status: StudentStatus, cohort: i64, terms: &[TermAgg]) -> Stage {
        self.stage_and_rule(status, cohort, terms).0
    }

    /// The stage and the rule that gave it (stored with each recorded transition): `withdrawn`,
    /// `graduated`, `suspended`, `failed_course`, `gpa_falling`, `first_term`, `first_year` or
    /// `established`.
    pub fn stage_and_rule(
        &self,
        status: StudentStatus,
        cohort: i64,
        terms: &[TermAgg],
    ) -> (Stage, &'static str) {
        match status {
            StudentStatus::Withdrawn => (Stage::Left, "withdrawn"),
            StudentStatus::Graduated => (Stage::Graduated, "graduated"),
            StudentStatus::Suspended => (Stage::Declining, "suspended"),
            _ => match self.grade_warning(terms) {
                Some(rule) => (Stage::Declining, rule),
                None if self.is_new(cohort) => (Stage::New, "first_term"),
                None if self.is_forming(cohort) => (Stage::Forming, "first_year"),
                None => (Stage::Stable, "established"),
            },
        }
    }
}

/// Per-term published-grade sums for the students selected by `students_subquery` (a
/// `SELECT students.id …`), in one aggregated query rather than one per student.
pub async fn term_aggregates(
    db: &impl ConnectionTrait,
    students_subquery: SelectStatement,
) -> AppResult<HashMap<i64, Vec<TermAgg>>> {
    type Row = (i64, i64, Option<f64>, Option<f64>, Option<i64>);
    let rows: Vec<Row> = term_aggregates_query(students_subquery)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<TermAgg>> = HashMap::new();
    for (student, seq, qp, credits, failed) in rows {
        out.entry(student).or_default().push(TermAgg {
            term_seq: seq,
            quality_points: qp.unwrap_or(0.0),
            credits: credits.unwrap_or(0.0),
            failed: failed.unwrap_or(0),
        });
    }
    Ok(out)
}

/// The query of [`term_aggregates`]: (student, term seq, quality points, credits, failed).
/// It reaches the grades through the students of the subquery (by the index on the student),
/// never through all published grades.
pub fn term_aggregates_query(students_subquery: SelectStatement) -> Select<grades::Entity> {
    grades::Entity::find()
        .select_only()
        .column(grades::Column::StudentId)
        .column(terms::Column::Seq)
        .column_as(
            Expr::cust("SUM(grades.points * courses.credits)"),
            "quality_points",
        )
        .column_as(Expr::cust("SUM(courses.credits)"), "credits")
        .column_as(
            Expr::cust(concat!(
                "SUM(CASE WHEN grades.score < ",
                pass_mark_sql!(section "sections"),
                " THEN 1 ELSE 0 END)"
            )),
            "failed",
        )
        .join(JoinType::InnerJoin, grades::Relation::Sections.def())
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .join(JoinType::InnerJoin, sections::Relation::Courses.def())
        .filter(grades::Column::Status.eq("published"))
        .filter(grades::Column::StudentId.in_subquery(students_subquery))
        .group_by(grades::Column::StudentId)
        .group_by(terms::Column::Seq)
}

/// Stages for a set of students given as (id, status, cohort), with one aggregated query.
pub async fn stages_for(
    db: &impl ConnectionTrait,
    calendar: &Calendar,
    students_subquery: SelectStatement,
    people: &[(i64, StudentStatus, i64)],
) -> AppResult<HashMap<i64, Stage>> {
    let aggs = if people.iter().any(|(_, s, _)| *s == StudentStatus::Active) {
        term_aggregates(db, students_subquery).await?
    } else {
        HashMap::new()
    };
    Ok(people
        .iter()
        .map(|(id, status, cohort)| {
            let terms = aggs.get(id).map(Vec::as_slice).unwrap_or(&[]);
            (*id, calendar.stage(*status, *cohort, terms))
        })
        .collect())
}

/// The stage of one student.
pub async fn stage_of(db: &impl ConnectionTrait, student: &students::Model) -> AppResult<Stage> {
    let calendar = Calendar::load(db).await?;
    let sub = sea_orm::sea_query::Query::select()
        .expr(Expr::val(student.id))
        .to_owned();
    let map = stages_for(
        db,
        &calendar,
        sub,
        &[(student.id, student.status, student.cohort_year)],
    )
    .await?;
    Ok(map.get(&student.id).copied().unwrap_or(Stage::Stable))
}
