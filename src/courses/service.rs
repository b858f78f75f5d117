//! The catalogue: terms and sections with their courses, teachers, seats and meeting times.

use crate::entity::{courses, departments, mirror_row, section_meetings, sections, terms, users};
use crate::error::{AppError, AppResult};
use crate::paging::{Page, PageReq};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Asterisk, Expr, ExprTrait, Order, Query},
};
use serde::Serialize;
use std::collections::HashMap;

/// What a `term` parameter names: `current` (also when empty), a term id, or a term code.
enum TermSpec<'a> {
    Current,
    Id(i64),
    Code(&'a str),
}

impl<'a> TermSpec<'a> {
    fn parse(spec: Option<&'a str>) -> Self {
        match spec.map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("current") => TermSpec::Current,
            Some(s) => s.parse().map_or(TermSpec::Code(s), TermSpec::Id),
        }
    }

    fn matches(&self, t: &terms::Model) -> bool {
        match self {
            TermSpec::Current => t.is_current,
            TermSpec::Id(id) => t.id == *id,
            TermSpec::Code(code) => t.code == *code,
        }
    }

    async fn find(&self, db: &impl ConnectionTrait) -> AppResult<Option<terms::Model>> {
        let q = terms::Entity::find();
        let q = match self {
            TermSpec::Current => return current_term(db).await,
            TermSpec::Id(id) => q.filter(terms::Column::Id.eq(*id)),
            TermSpec::Code(code) => q.filter(terms::Column::Code.eq(*code)),
        };
        Ok(q.one(db).await?)
    }
}

/// The term marked current, if any: the one query every domain asks.
pub async fn current_term(db: &impl ConnectionTrait) -> AppResult<Option<terms::Model>> {
    Ok(terms::Entity::find()
        .filter(terms::Column::IsCurrent.eq(true))
        .one(db)
        .await?)
}

/// `current`, a term id, or a term code.
pub async fn resolve_term(
    db: &impl ConnectionTrait,
    spec: Option<&str>,
) -> AppResult<Option<terms::Model>> {
    TermSpec::parse(spec).find(db).await
}

/// `resolve_term` through this instance's copy of the terms (at most a second old, see
/// [`crate::state::FRESH_FOR`]); a term missing from the copy is looked up in the database.
pub async fn resolve_term_cached(
    state: &crate::state::AppState,
    spec: Option<&str>,
) -> AppResult<Option<terms::Model>> {
    let all = match state.terms.get() {
        Some(all) => all,
        None => {
            let all = std::sync::Arc::new(terms::Entity::find().all(&state.db).await?);
            state.terms.put(all.clone());
            all
        }
    };
    let spec = TermSpec::parse(spec);
    match all.iter().find(|t| spec.matches(t)) {
        Some(t) => Ok(Some(t.clone())),
        None => spec.find(&state.db).await,
    }
}

/// The refusal for a `term` that names no term.
pub fn unknown_term() -> AppError {
    AppError::unprocessable(
        "unknown_term",
        "no such term (use 'current', a term id or a term code)",
    )
}

#[derive(Debug, Clone, Default)]
pub struct SectionFilter {
    /// A course id or code.
    pub course: Option<String>,
    /// Words in the course code or title.
    pub q: Option<String>,
    pub department_id: Option<i64>,
    /// Part of the teacher's name.
    pub teacher: Option<String>,
    /// 1 = Monday … 7 = Sunday.
    pub weekday: Option<i64>,
    pub open_only: bool,
}

mirror_row! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct Meeting from section_meetings::Model {
        pub weekday: i64,
        pub start_period: i64,
        pub end_period: i64,
        pub start_week: i64,
        pub end_week: i64,
    }
}

/// A section as the catalogue lists it: its course, teacher, seats and meeting times.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionRow {
    pub id: i64,
    pub term_id: i64,
    pub course_id: i64,
    pub course_code: String,
    pub title: String,
    pub title_zh: String,
    pub title_en: String,
    pub credits: f64,
    pub department_id: i64,
    pub section_no: String,
    pub teacher_id: Option<i64>,
    pub teacher: Option<String>,
    pub capacity: i64,
    pub enrolled_count: i64,
    pub waitlist_count: i64,
    pub waitlist_capacity: i64,
    pub seats_left: i64,
    pub room: String,
    pub meetings: Vec<Meeting>,
}

/// The sections of `term` that pass the filter, a page at a time.
///
/// One statement: the page's sections with their courses, teachers' names and meeting times,
/// and how many pass the filter in all. On registration day the catalogue is almost half of
/// every request, and each statement costs a round trip to the database's thread.
pub async fn list_sections(
    db: &impl ConnectionTrait,
    term: &terms::Model,
    f: &SectionFilter,
    p: PageReq,
) -> AppResult<Page<SectionRow>> {
    let mut q = sections::Entity::find()
        .inner_join(courses::Entity)
        .filter(sections::Column::TermId.eq(term.id));
    if let Some(c) = f.course.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        q = match c.parse::<i64>() {
            Ok(id) => q.filter(courses::Column::Id.eq(id)),
            Err(_) => q.filter(courses::Column::Code.eq(c)),
        };
    }
    if let Some(words) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        q = q.filter(
            Condition::any()
                .add(courses::Column::Code.contains(words))
                .add(courses::Column::TitleZh.contains(words))
                .add(courses::Column::TitleEn.contains(words)),
        );
    }
    if let Some(d) = f.department_id {
        q = q.filter(courses::Column::DepartmentId.eq(d));
    }
    if f.open_only {
        q = q.filter(
            Expr::col(sections::Column::EnrolledCount).lt(Expr::col(sections::Column::Capacity)),
        );
    }
    if let Some(t) = f
        .teacher
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        q = q.filter(
            sections::Column::TeacherId.in_subquery(
                Query::select()
                    .column(users::Column::Id)
                    .from(users::Entity)
                    .and_where(users::Column::DisplayName.contains(t))
                    .to_owned(),
            ),
        );
    }
    if let Some(day) = f.weekday {
        q = q.filter(
            sections::Column::Id.in_subquery(
                Query::select()
                    .column(section_meetings::Column::SectionId)
                    .from(section_meetings::Entity)
                    .and_where(section_meetings::Column::Weekday.eq(day))
                    .to_owned(),
            ),
        );
    }
    let offset = (p.page - 1) * p.per_page;
    let found = catalogue_rows(
        q.clone()
            .order_by_asc(sections::Column::CourseId)
            .order_by_asc(sections::Column::SectionNo)
            .offset(offset)
            .limit(p.per_page),
        db,
    )
    .await?;
    // NOTE: a page past the last has no row to carry the count.
    let total = match found.first() {
        Some((_, total)) => *total,
        None => q.count(db).await?,
    };
    Ok(Page {
        items: found.into_iter().map(|(row, _)| row).collect(),
        total,
        page: p.page,
        per_page: p.per_page,
    })
}

/// A catalogue row as read: the section and its course's columns, the teacher's name, the
/// meeting times packed (`weekday,start_period,end_period,start_week,end_week;…`), and how
/// many rows the query has without its limit.
#[derive(FromQueryResult)]
struct CatalogueRow {
    id: i64,
    term_id: i64,
    course_id: i64,
    section_no: String,
    teacher_id: Option<i64>,
    capacity: i64,
    enrolled_count: i64,
    waitlist_count: i64,
    waitlist_capacity: i64,
    room: String,
    course_code: String,
    title_zh: String,
    title_en: String,
    credits: f64,
    department_id: i64,
    teacher: Option<String>,
    meetings: Option<String>,
    total: i64,
}

/// The subquery's name in [`catalogue_rows`].
const LISTED: &str = "listed";

/// A listed section's meeting times as one text, in weekday order (fixed SQL: no input in it).
/// `string_agg` is in SQLite since 3.44 and in PostgreSQL; `||` writes the integers as text on
/// both.
const MEETINGS_PACKED: &str = r#"(SELECT string_agg("m"."weekday" || ',' || "m"."start_period" || ',' || "m"."end_period" || ',' || "m"."start_week" || ',' || "m"."end_week", ';' ORDER BY "m"."weekday", "m"."id") FROM "section_meetings" AS "m" WHERE "m"."section_id" = "listed"."id")"#;

/// Reads `q` (sections joined to their courses, filtered, ordered and limited) as catalogue
/// rows, each with the count of rows the query has without its limit.
///
/// The meeting times are packed outside the limited query: the count is a window over every
/// row that passes the filter, and SQLite computes a window's other columns for all of those
/// rows before it sorts and limits them.
async fn catalogue_rows(
    q: sea_orm::Select<sections::Entity>,
    db: &impl ConnectionTrait,
) -> AppResult<Vec<(SectionRow, u64)>> {
    use sections::Column as S;
    let listed = q
        .left_join(users::Entity)
        .select_only()
        .columns([
            S::Id,
            S::TermId,
            S::CourseId,
            S::SectionNo,
            S::TeacherId,
            S::Capacity,
            S::EnrolledCount,
            S::WaitlistCount,
            S::WaitlistCapacity,
            S::Room,
        ])
        .column_as(courses::Column::Code, "course_code")
        .columns([
            courses::Column::TitleZh,
            courses::Column::TitleEn,
            courses::Column::Credits,
            courses::Column::DepartmentId,
        ])
        .column_as(users::Column::DisplayName, "teacher")
        .column_as(Expr::cust("COUNT(*) OVER ()"), "total")
        .into_query();
    let with_meetings = Query::select()
        .expr(Expr::col(Asterisk))
        .expr_as(Expr::cust(MEETINGS_PACKED), "meetings")
        .from_subquery(listed, LISTED)
        .order_by((LISTED, S::CourseId), Order::Asc)
        .order_by((LISTED, S::SectionNo), Order::Asc)
        .to_owned();
    let found = db
        .query_all(&with_meetings)
        .await?
        .iter()
        .map(|row| CatalogueRow::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    found
        .into_iter()
        .map(|r| {
            let meetings = match r.meetings.as_deref() {
                None | Some("") => Vec::new(),
                Some(packed) => packed
                    .split(';')
                    .map(read_meeting)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        AppError::internal(format!(
                            "section {}: meeting times could not be read: {packed:?}",
                            r.id
                        ))
                    })?,
            };
            let row = SectionRow {
                id: r.id,
                term_id: r.term_id,
                course_id: r.course_id,
                course_code: r.course_code,
                title: r.title_en.clone(),
                title_zh: r.title_zh,
                title_en: r.title_en,
                credits: r.credits,
                department_id: r.department_id,
                section_no: r.section_no,
                teacher_id: r.teacher_id,
                teacher: r.teacher,
                capacity: r.capacity,
                enrolled_count: r.enrolled_count,
                waitlist_count: r.waitlist_count,
                waitlist_capacity: r.waitlist_capacity,
                seats_left: std::cmp::max(r.capacity - r.enrolled_count, 0),
                room: r.room,
                meetings,
            };
            Ok((row, u64::try_from(r.total).unwrap_or(0)))
        })
        .collect()
}

/// One meeting of [`MEETINGS_PACKED`]: five integers.
fn read_meeting(entry: &str) -> Option<Meeting> {
    let mut n = entry.split(',').map(|v| v.parse::<i64>().ok());
    let meeting = Meeting {
        weekday: n.next()??,
        start_period: n.next()??,
        end_period: n.next()??,
        start_week: n.next()??,
        end_week: n.next()??,
    };
    n.next().is_none().then_some(meeting)
}

/// One section as the catalogue shows it.
pub async fn section_row(db: &impl ConnectionTrait, id: i64) -> AppResult<SectionRow> {
    let q = sections::Entity::find()
        .inner_join(courses::Entity)
        .filter(sections::Column::Id.eq(id));
    catalogue_rows(q, db)
        .await?
        .into_iter()
        .next()
        .map(|(row, _)| row)
        .ok_or(AppError::NotFound)
}

pub async fn departments(db: &impl ConnectionTrait) -> AppResult<Vec<departments::Model>> {
    Ok(departments::Entity::find()
        .order_by_asc(departments::Column::Code)
        .all(db)
        .await?)
}

pub async fn all_terms(db: &impl ConnectionTrait) -> AppResult<Vec<terms::Model>> {
    Ok(terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(db)
        .await?)
}

/// One prerequisite of a course as a student sees it in the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct PrereqMark {
    pub code: String,
    pub min_score: f64,
    pub met: bool,
}

/// What the catalogue marks for one student: the sections they hold or wait for, the courses
/// they hold in the term, the courses they have passed, and each listed course's prerequisites
/// with whether they meet them (the same rule registration checks).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StudentMarks {
    /// Section id → "enrolled" or "waitlisted".
    pub sections: HashMap<i64, String>,
    pub held_courses: Vec<i64>,
    pub passed_courses: Vec<i64>,
    pub prereqs: HashMap<i64, Vec<PrereqMark>>,
}

pub async fn student_marks(
    db: &impl ConnectionTrait,
    student_id: i64,
    term_id: i64,
    course_ids: &[i64],
) -> AppResult<StudentMarks> {
    use crate::entity::{course_prerequisites, enrolments, grades};
    let held: Vec<(i64, i64, String)> = enrolments::Entity::find()
        .select_only()
        .column(enrolments::Column::SectionId)
        .column(sections::Column::CourseId)
        .column(enrolments::Column::Status)
        .inner_join(sections::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(sections::Column::TermId.eq(term_id))
        .filter(enrolments::Column::Status.is_in(["enrolled", "waitlisted"]))
        .into_tuple()
        .all(db)
        .await?;
    // Published grades: (course, score, points). NOTE: a grade passes when it earns grade
    // points, which is how every scale marks its failing band.
    let results: Vec<(i64, f64, f64)> = grades::Entity::find()
        .select_only()
        .column(sections::Column::CourseId)
        .column(grades::Column::Score)
        .column(grades::Column::Points)
        .inner_join(sections::Entity)
        .filter(grades::Column::StudentId.eq(student_id))
        .filter(grades::Column::Status.eq("published"))
        .into_tuple()
        .all(db)
        .await?;
    let mut passed: Vec<i64> = results.iter().filter(|r| r.2 > 0.0).map(|r| r.0).collect();
    passed.sort_unstable();
    passed.dedup();
    let pre = course_prerequisites::Entity::find()
        .filter(course_prerequisites::Column::CourseId.is_in(course_ids.to_vec()))
        .all(db)
        .await?;
    let codes: HashMap<i64, String> = courses::Entity::find()
        .filter(
            courses::Column::Id.is_in(pre.iter().map(|p| p.prerequisite_id).collect::<Vec<_>>()),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect();
    let mut prereqs: HashMap<i64, Vec<PrereqMark>> = HashMap::new();
    for p in pre {
        let met = results
            .iter()
            .any(|r| r.0 == p.prerequisite_id && r.1 >= p.min_score);
        prereqs.entry(p.course_id).or_default().push(PrereqMark {
            code: codes.get(&p.prerequisite_id).cloned().unwrap_or_default(),
            min_score: p.min_score,
            met,
        });
    }
    Ok(StudentMarks {
        sections: held.iter().map(|h| (h.0, h.2.clone())).collect(),
        held_courses: held.iter().map(|h| h.1).collect(),
        passed_courses: passed,
        prereqs,
    })
}
