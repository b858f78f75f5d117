//! Finding students: search, filters, sorting, pagination and the caller's scope, in SQL; the
//! lifecycle stage is computed for the rows shown (or, when filtering by stage, for the
//! candidates) from one aggregated grades query.

use super::lifecycle::{Calendar, Stage, stages_for};
use crate::access::Permission;
use crate::auth::CurrentUser;
use crate::entity::students::StudentStatus;
use crate::entity::{
    departments, enrolments, majors, mining_runs, risk_flags, sections, students, terms,
    value_cells,
};
use crate::error::{AppError, AppResult};
use crate::paging::{Page, PageReq};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Whom a caller may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    All,
    /// A teacher: students in their sections or whom they advise.
    Teacher(i64),
}

/// Whose students a caller may list, and whether a full national id may find them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub reach: Reach,
    /// Holds "view full identifiers": only then does typing a national id find a student
    /// (otherwise the search would reveal whose id it is).
    pub full_identifiers: bool,
}

impl Scope {
    /// The caller's scope, or `Forbidden` when they may list no one.
    pub fn of(user: &CurrentUser) -> AppResult<Scope> {
        let reach = if user.can(Permission::ViewAnyStudent) {
            Reach::All
        } else if user.can(Permission::ViewScopedStudents) {
            Reach::Teacher(user.id)
        } else {
            return Err(AppError::Forbidden);
        };
        Ok(Scope {
            reach,
            full_identifiers: user.can(Permission::ViewFullIdentifiers),
        })
    }

    fn condition(self) -> Condition {
        match self.reach {
            Reach::All => Condition::all(),
            Reach::Teacher(uid) => Condition::any()
                .add(students::Column::AdvisorId.eq(uid))
                .add(
                    students::Column::Id.in_subquery(
                        Query::select()
                            .column((enrolments::Entity, enrolments::Column::StudentId))
                            .from(enrolments::Entity)
                            .inner_join(
                                sections::Entity,
                                Expr::col((sections::Entity, sections::Column::Id))
                                    .equals((enrolments::Entity, enrolments::Column::SectionId)),
                            )
                            .and_where(
                                Expr::col((sections::Entity, sections::Column::TeacherId)).eq(uid),
                            )
                            .to_owned(),
                    ),
                ),
        }
    }
}

/// Whose risk flags a staff member works on, on the at-risk list (mining) and the care list
/// alike: everyone's with `students.view_any` or `mining.run`, otherwise their own students
/// (see [`at_risk_condition`]). One rule, so both lists name the same students.
pub fn at_risk_reach(user: &CurrentUser) -> Reach {
    if user.can(Permission::ViewAnyStudent) || user.can(Permission::RunMining) {
        Reach::All
    } else {
        Reach::Teacher(user.id)
    }
}

/// The students a teacher may act on in a run of `term` (any term when `None`): those they
/// advise, and those enrolled or waitlisted (not dropped) in one of their sections of that term.
/// `student` is the column holding the student id (e.g. `risk_flags::Column::StudentId`).
pub fn at_risk_condition<C: ColumnTrait>(reach: Reach, student: C, term: Option<i64>) -> Condition {
    let Reach::Teacher(uid) = reach else {
        return Condition::all();
    };
    let advised = Query::select()
        .column(students::Column::Id)
        .from(students::Entity)
        .and_where(Expr::col(students::Column::AdvisorId).eq(uid))
        .to_owned();
    Condition::any()
        .add(student.in_subquery(advised))
        .add(student.in_subquery(taught_in(uid, term)))
}

/// The ids of the students enrolled or waitlisted (not dropped) in `teacher`'s sections of
/// `term` (of any term when `None`).
pub fn taught_in(teacher: i64, term: Option<i64>) -> SelectStatement {
    let mut q = Query::select();
    q.column((enrolments::Entity, enrolments::Column::StudentId))
        .from(enrolments::Entity)
        .inner_join(
            sections::Entity,
            Expr::col((sections::Entity, sections::Column::Id))
                .equals((enrolments::Entity, enrolments::Column::SectionId)),
        )
        .and_where(Expr::col((sections::Entity, sections::Column::TeacherId)).eq(teacher))
        .and_where(
            Expr::col((enrolments::Entity, enrolments::Column::Status))
                .ne(enrolments::EnrolmentStatus::Dropped.as_str()),
        );
    if let Some(t) = term {
        q.and_where(Expr::col((sections::Entity, sections::Column::TermId)).eq(t));
    }
    q.to_owned()
}

/// A risk level of a mining run, as the list filters by it.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

/// A cell of the value matrix, as the list filters by it.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ValueCell {
    Develop,
    Engage,
    Support,
    Rescue,
}

/// The search and filters of the list, the API and the export (query-string fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StudentFilter {
    /// Student number (partial), name in Chinese or pinyin (partial) or national id (exact).
    pub q: Option<String>,
    pub department: Option<i64>,
    pub major: Option<i64>,
    pub cohort: Option<i64>,
    #[param(inline, value_type = Option<crate::entity::students::StudentStatus>)]
    pub status: Option<String>,
    /// Lifecycle stage.
    #[param(inline, value_type = Option<super::lifecycle::Stage>)]
    pub stage: Option<String>,
    /// Risk level in the latest finished mining run.
    #[param(inline, value_type = Option<RiskLevel>)]
    pub risk: Option<String>,
    /// Cell of the value matrix in its latest computed term (`develop`, `engage`, `support`,
    /// `rescue`); an advisor finds only the students they advise.
    #[param(inline, value_type = Option<ValueCell>)]
    pub value_cell: Option<String>,
    /// student_no (default), name, name_en, cohort, department, major, status
    pub sort: Option<String>,
    /// asc (default) or desc
    pub dir: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// Rows per page (50 when absent).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

impl StudentFilter {
    fn stage(&self) -> AppResult<Option<Stage>> {
        match self.stage.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(code) => Stage::from_code(code).map(Some).ok_or_else(|| {
                AppError::bad_request("bad_stage", format!("unknown lifecycle stage '{code}'"))
            }),
        }
    }

    fn risk(&self) -> AppResult<Option<&str>> {
        match self.risk.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(level @ ("low" | "medium" | "high")) => Ok(Some(level)),
            Some(other) => Err(AppError::bad_request(
                "bad_risk",
                format!("unknown risk level '{other}'; use low, medium or high"),
            )),
        }
    }

    fn value_cell(&self) -> AppResult<Option<&str>> {
        match self.value_cell.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(c @ ("develop" | "engage" | "support" | "rescue")) => Ok(Some(c)),
            Some(other) => Err(AppError::bad_request(
                "bad_value_cell",
                format!("unknown value cell '{other}'; use develop, engage, support or rescue"),
            )),
        }
    }

    /// Checks the filter's coded values (400 on an unknown one).
    fn check(&self) -> AppResult<()> {
        self.stage()?;
        self.risk()?;
        self.value_cell()?;
        Ok(())
    }

    /// The SQL condition of the search, filters and scope (not the stage rule's grade part).
    fn condition(&self, scope: Scope, stage: Option<Stage>, cal: &Calendar) -> Condition {
        let mut c = Condition::all()
            .add(students::Column::MergedIntoId.is_null())
            .add(scope.condition());
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let like = format!("%{}%", q.replace(['%', '_'], ""));
            let compact = format!("%{}%", q.to_lowercase().replace([' ', '%', '_'], ""));
            let mut any = Condition::any()
                .add(students::Column::StudentNo.like(like.clone()))
                .add(students::Column::NameZh.like(like))
                .add(
                    Expr::expr(Func::cust("REPLACE").args([
                        Func::lower(Expr::col((students::Entity, students::Column::NameEn))).into(),
                        Expr::val(" "),
                        Expr::val(""),
                    ]))
                    .like(compact),
                );
            // NOTE: without "view full identifiers" a national id finds no one: a match would
            // tell the searcher whose id they typed.
            if scope.full_identifiers {
                any = any.add(students::Column::NationalId.eq(q.to_uppercase()));
            }
            c = c.add(any);
        }
        if let Some(d) = self.department {
            c = c.add(students::Column::DepartmentId.eq(d));
        }
        if let Some(m) = self.major {
            c = c.add(students::Column::MajorId.eq(m));
        }
        if let Some(y) = self.cohort {
            c = c.add(students::Column::CohortYear.eq(y));
        }
        if let Some(s) = self.status.as_deref().filter(|s| !s.is_empty()) {
            c = c.add(students::Column::Status.eq(s));
        }
        if let Ok(Some(level)) = self.risk() {
            // The students flagged at that level by the latest finished run.
            let latest = Query::select()
                .expr(Expr::col(mining_runs::Column::Id).max())
                .from(mining_runs::Entity)
                .and_where(mining_runs::Column::Status.eq("done"))
                .to_owned();
            let flagged = Query::select()
                .column(risk_flags::Column::StudentId)
                .from(risk_flags::Entity)
                .and_where(risk_flags::Column::Level.eq(level))
                .and_where(risk_flags::Column::RunId.in_subquery(latest))
                .to_owned();
            c = c.add(students::Column::Id.in_subquery(flagged));
        }
        if let Ok(Some(cell)) = self.value_cell() {
            // The students in that cell in the latest computed term; an advisor's own only.
            let computed = Query::select()
                .distinct()
                .column(value_cells::Column::TermId)
                .from(value_cells::Entity)
                .to_owned();
            let latest = Query::select()
                .column(terms::Column::Id)
                .from(terms::Entity)
                .and_where(terms::Column::Id.in_subquery(computed))
                .order_by(terms::Column::Seq, sea_orm::Order::Desc)
                .limit(1)
                .to_owned();
            let in_cell = Query::select()
                .column(value_cells::Column::StudentId)
                .from(value_cells::Entity)
                .and_where(value_cells::Column::Cell.eq(cell))
                .and_where(value_cells::Column::TermId.in_subquery(latest))
                .to_owned();
            c = c.add(students::Column::Id.in_subquery(in_cell));
            if let Reach::Teacher(uid) = scope.reach {
                c = c.add(students::Column::AdvisorId.eq(uid));
            }
        }
        match stage {
            None => {}
            Some(st) => match st.status() {
                Some(status) => c = c.add(students::Column::Status.eq(status)),
                None if st == Stage::Declining => {
                    c = c.add(
                        students::Column::Status
                            .is_in([StudentStatus::Active, StudentStatus::Suspended]),
                    )
                }
                None => {
                    c = c.add(students::Column::Status.eq(StudentStatus::Active));
                    // New and forming students are in known cohorts; stable ones are not.
                    let (new_max, forming_max) = (
                        cal.new_cohorts.iter().max().copied(),
                        cal.forming_cohorts.iter().max().copied(),
                    );
                    c = match (st, new_max, forming_max) {
                        (Stage::New, Some(n), _) => c.add(
                            Condition::any()
                                .add(students::Column::CohortYear.is_in(cal.new_cohorts.clone()))
                                .add(students::Column::CohortYear.gt(n)),
                        ),
                        (Stage::New, None, _) => c.add(students::Column::Id.eq(-1)),
                        (_, _, Some(f)) if st == Stage::Forming => {
                            c.add(students::Column::CohortYear.gte(f))
                        }
                        (_, _, Some(f)) => c.add(students::Column::CohortYear.lt(f)),
                        _ => c,
                    };
                }
            },
        }
        c
    }

    fn order(&self) -> (students::Column, Order) {
        let col = match self.sort.as_deref().unwrap_or("student_no") {
            "name" | "name_zh" => students::Column::NameZh,
            "name_en" => students::Column::NameEn,
            "cohort" => students::Column::CohortYear,
            "department" => students::Column::DepartmentId,
            "major" => students::Column::MajorId,
            "status" => students::Column::Status,
            _ => students::Column::StudentNo,
        };
        let dir = if self.dir.as_deref() == Some("desc") {
            Order::Desc
        } else {
            Order::Asc
        };
        (col, dir)
    }
}

/// One student as lists and the API show them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudentRow {
    pub id: i64,
    pub student_no: String,
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub department_id: i64,
    pub department: String,
    pub department_zh: String,
    pub major_id: i64,
    pub major: String,
    pub major_zh: String,
    pub cohort: i64,
    pub status: StudentStatus,
    pub lifecycle_stage: Stage,
}

#[derive(Debug, FromQueryResult)]
struct DbRow {
    id: i64,
    student_no: String,
    name_zh: String,
    name_en: String,
    department_id: i64,
    department: String,
    department_zh: String,
    major_id: i64,
    major: String,
    major_zh: String,
    cohort_year: i64,
    status: StudentStatus,
}

fn row_select() -> sea_orm::Select<students::Entity> {
    students::Entity::find()
        .select_only()
        .columns([
            students::Column::Id,
            students::Column::StudentNo,
            students::Column::NameZh,
            students::Column::NameEn,
            students::Column::DepartmentId,
            students::Column::MajorId,
            students::Column::CohortYear,
            students::Column::Status,
        ])
        .column_as(departments::Column::NameEn, "department")
        .column_as(departments::Column::NameZh, "department_zh")
        .column_as(majors::Column::NameEn, "major")
        .column_as(majors::Column::NameZh, "major_zh")
        .join(JoinType::InnerJoin, students::Relation::Departments.def())
        .join(JoinType::InnerJoin, students::Relation::Majors.def())
}

fn id_subquery(cond: Condition) -> SelectStatement {
    students::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .filter(cond)
        .into_query()
}

/// The ids matching `filter` in the caller's scope, in the requested order, stage applied.
async fn matching_ids(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &StudentFilter,
    cal: &Calendar,
) -> AppResult<(Vec<i64>, HashMap<i64, Stage>)> {
    filter.check()?;
    let stage = filter.stage()?;
    let cond = filter.condition(scope, stage, cal);
    let (col, dir) = filter.order();
    let candidates: Vec<(i64, StudentStatus, i64)> = students::Entity::find()
        .select_only()
        .columns([
            students::Column::Id,
            students::Column::Status,
            students::Column::CohortYear,
        ])
        .filter(cond.clone())
        .order_by(col, dir.clone())
        .order_by(students::Column::Id, dir)
        .into_tuple()
        .all(db)
        .await?;
    let stages = match stage {
        Some(st) if st.status().is_none() => {
            stages_for(db, cal, id_subquery(cond), &candidates).await?
        }
        _ => HashMap::new(),
    };
    let ids = candidates
        .iter()
        .filter(|(id, ..)| {
            stage.is_none_or(|st| st.status().is_some() || stages.get(id) == Some(&st))
        })
        .map(|(id, ..)| *id)
        .collect();
    Ok((ids, stages))
}

/// Rows for `ids`, in that order, each with its lifecycle stage.
async fn rows_for(
    db: &impl ConnectionTrait,
    cal: &Calendar,
    ids: &[i64],
    known: &HashMap<i64, Stage>,
) -> AppResult<Vec<StudentRow>> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5000) {
        let db_rows = row_select()
            .filter(students::Column::Id.is_in(chunk.to_vec()))
            .into_model::<DbRow>()
            .all(db)
            .await?;
        let people: Vec<(i64, StudentStatus, i64)> = db_rows
            .iter()
            .filter(|r| !known.contains_key(&r.id))
            .map(|r| (r.id, r.status, r.cohort_year))
            .collect();
        let sub = id_subquery(
            Condition::all()
                .add(students::Column::Id.is_in(people.iter().map(|p| p.0).collect::<Vec<_>>())),
        );
        let computed = if people.is_empty() {
            HashMap::new()
        } else {
            stages_for(db, cal, sub, &people).await?
        };
        let mut by_id: HashMap<i64, DbRow> = db_rows.into_iter().map(|r| (r.id, r)).collect();
        for id in chunk {
            if let Some(r) = by_id.remove(id) {
                let stage = known
                    .get(id)
                    .or_else(|| computed.get(id))
                    .copied()
                    .unwrap_or(Stage::Stable);
                rows.push(StudentRow {
                    id: r.id,
                    name: r.name_zh.clone(),
                    student_no: r.student_no,
                    name_zh: r.name_zh,
                    name_en: r.name_en,
                    department_id: r.department_id,
                    department: r.department,
                    department_zh: r.department_zh,
                    major_id: r.major_id,
                    major: r.major,
                    major_zh: r.major_zh,
                    cohort: r.cohort_year,
                    status: r.status,
                    lifecycle_stage: stage,
                });
            }
        }
    }
    Ok(rows)
}

/// One page of students matching `filter`, within the caller's scope.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &StudentFilter,
) -> AppResult<Page<StudentRow>> {
    let cal = Calendar::load(db).await?;
    let req = PageReq::new(filter.page, filter.per_page);
    filter.check()?;
    let stage = filter.stage()?;
    if stage.is_none_or(|st| st.status().is_some()) {
        // No grade rule involved: count and page in SQL.
        let cond = filter.condition(scope, stage, &cal);
        let (col, dir) = filter.order();
        let total = students::Entity::find()
            .filter(cond.clone())
            .count(db)
            .await?;
        let page_ids: Vec<i64> = students::Entity::find()
            .select_only()
            .column(students::Column::Id)
            .filter(cond)
            .order_by(col, dir.clone())
            .order_by(students::Column::Id, dir)
            .offset((req.page - 1) * req.per_page)
            .limit(req.per_page)
            .into_tuple()
            .all(db)
            .await?;
        return Ok(Page {
            items: rows_for(db, &cal, &page_ids, &HashMap::new()).await?,
            total,
            page: req.page,
            per_page: req.per_page,
        });
    }
    let (ids, stages) = matching_ids(db, scope, filter, &cal).await?;
    let start = ((req.page - 1) * req.per_page) as usize;
    let page_ids: Vec<i64> = ids
        .iter()
        .skip(start)
        .take(req.per_page as usize)
        .copied()
        .collect();
    Ok(Page {
        items: rows_for(db, &cal, &page_ids, &stages).await?,
        total: ids.len() as u64,
        page: req.page,
        per_page: req.per_page,
    })
}

/// Every student matching `filter` (no paging), full records, for the export.
pub async fn all_matching(
    db: &impl ConnectionTrait,
    scope: Scope,
    filter: &StudentFilter,
) -> AppResult<Vec<(students::Model, Stage)>> {
    let cal = Calendar::load(db).await?;
    let (ids, mut stages) = matching_ids(db, scope, filter, &cal).await?;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5000) {
        let models = students::Entity::find()
            .filter(students::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        let missing: Vec<(i64, StudentStatus, i64)> = models
            .iter()
            .filter(|m| !stages.contains_key(&m.id))
            .map(|m| (m.id, m.status, m.cohort_year))
            .collect();
        if !missing.is_empty() {
            let sub =
                id_subquery(Condition::all().add(
                    students::Column::Id.is_in(missing.iter().map(|p| p.0).collect::<Vec<_>>()),
                ));
            stages.extend(stages_for(db, &cal, sub, &missing).await?);
        }
        let mut by_id: HashMap<i64, students::Model> =
            models.into_iter().map(|m| (m.id, m)).collect();
        for id in chunk {
            if let Some(m) = by_id.remove(id) {
                let st = stages.get(id).copied().unwrap_or(Stage::Stable);
                out.push((m, st));
            }
        }
    }
    Ok(out)
}
