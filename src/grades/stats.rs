//! Grade statistics (成绩统计) for a section, a course across sections, a term or a department:
//! count, mean, median, population standard deviation, min, max, pass rate and a histogram
//! of ten 10-point bins (the last one 90–100), each computed from one grouped SQL query per
//! scope (never one query per student). A section's statistics include drafts (for its teacher
//! before publishing); the wider scopes count published grades only.
//!
//! A section's and a course's statistics are live (their rows are found by index). The whole
//! university, a term, a department and a department's term group hundreds of thousands of
//! grades, so once a snapshot has written the analysis store's grade facts (published grades
//! per term × department × score, with the passes) they are read there, and say when the
//! snapshot was taken; before the first such snapshot they are live too.

use crate::entity::grades::GradeStatus::Published as PUBLISHED;
use crate::entity::{courses, grades, grading_scales, sections, terms, users};
use crate::error::AppResult;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Select,
};
use serde::Serialize;

/// Which grades a statistic covers. Fields combine (a course within one term).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Scope {
    pub section: Option<i64>,
    pub course: Option<i64>,
    pub term: Option<i64>,
    pub department: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Bin {
    pub label: String,
    pub from: f64,
    pub to: f64,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Stats {
    pub count: i64,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub std_dev: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pass_rate: Option<f64>,
    pub histogram: Vec<Bin>,
}

/// The pass mark of the row's section: its scale's (joined in `base`), else the default
/// scale's (an uncorrelated subquery, evaluated once), else 60.
pub const PASS_MARK_SQL: &str = super::scale::pass_mark_sql!(scale "section_scale");

fn base(scope: &Scope) -> Select<grades::Entity> {
    let mut q = grades::Entity::find()
        .join(JoinType::InnerJoin, grades::Relation::Sections.def())
        .join(JoinType::InnerJoin, sections::Relation::Courses.def())
        .join_as(
            JoinType::LeftJoin,
            sections::Entity::belongs_to(grading_scales::Entity)
                .from(sections::Column::GradingScaleId)
                .to(grading_scales::Column::Id)
                .into(),
            sea_orm::sea_query::Alias::new("section_scale"),
        );
    if let Some(s) = scope.section {
        q = q.filter(grades::Column::SectionId.eq(s));
    } else {
        q = q.filter(grades::Column::Status.eq(PUBLISHED));
    }
    if let Some(c) = scope.course {
        q = q.filter(sections::Column::CourseId.eq(c));
    }
    if let Some(t) = scope.term {
        q = q.filter(sections::Column::TermId.eq(t));
    }
    if let Some(d) = scope.department {
        q = q.filter(courses::Column::DepartmentId.eq(d));
    }
    q
}

pub fn bin_label(i: usize) -> String {
    if i == 9 {
        "90–100".into()
    } else {
        format!("{}–{}", i * 10, i * 10 + 9)
    }
}

/// Statistics of one scope, from one grouped query: the number of grades (and of passes) at
/// each distinct score, from which count, mean, median, standard deviation, min, max, pass
/// rate and histogram follow exactly. Scores have at most two decimals, so there are at most
/// 10,001 groups whatever the number of students.
pub async fn stats(db: &impl ConnectionTrait, scope: &Scope) -> AppResult<Stats> {
    let groups: Vec<(f64, i64, Option<i64>)> = base(scope)
        .select_only()
        .column(grades::Column::Score)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(
            Expr::cust(format!(
                "SUM(CASE WHEN grades.score >= {PASS_MARK_SQL} THEN 1 ELSE 0 END)"
            )),
            "p",
        )
        .group_by(grades::Column::Score)
        .order_by_asc(grades::Column::Score)
        .into_tuple()
        .all(db)
        .await?;
    Ok(summarise(&groups))
}

/// The statistics of (score, how many, how many passed) groups sorted by score.
pub fn summarise(groups: &[(f64, i64, Option<i64>)]) -> Stats {
    let mut bins = [0i64; 10];
    for &(score, n, _) in groups {
        bins[((score / 10.0).floor().max(0.0) as usize).min(9)] += n;
    }
    let histogram = (0..10)
        .map(|i| Bin {
            label: bin_label(i),
            from: (i * 10) as f64,
            to: if i == 9 { 100.0 } else { (i * 10 + 10) as f64 },
            count: bins[i],
        })
        .collect();
    let count: i64 = groups.iter().map(|g| g.1).sum();
    if count == 0 {
        return Stats {
            count,
            mean: None,
            median: None,
            std_dev: None,
            min: None,
            max: None,
            pass_rate: None,
            histogram,
        };
    }
    let n = count as f64;
    let mean = groups.iter().map(|&(s, k, _)| s * k as f64).sum::<f64>() / n;
    let var = groups
        .iter()
        .map(|&(s, k, _)| k as f64 * (s - mean) * (s - mean))
        .sum::<f64>()
        / n;
    // The k-th smallest score (0-based), walking the cumulative counts.
    let nth = |k: i64| {
        let mut seen = 0;
        groups
            .iter()
            .find(|g| {
                seen += g.1;
                seen > k
            })
            .map(|g| g.0)
    };
    let median = if count % 2 == 1 {
        nth(count / 2)
    } else {
        nth(count / 2 - 1)
            .zip(nth(count / 2))
            .map(|(a, b)| (a + b) / 2.0)
    };
    let passed: i64 = groups.iter().map(|g| g.2.unwrap_or(0)).sum();
    Stats {
        count,
        mean: Some(r2(mean)),
        median: median.map(r2),
        std_dev: Some(r2(var.sqrt())),
        min: groups.first().map(|g| g.0),
        max: groups.last().map(|g| g.0),
        pass_rate: Some(r4(passed as f64 / n)),
        histogram,
    }
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
fn r4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

/// One group of a comparison: a section or a term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupStat {
    pub id: i64,
    pub label: String,
    pub term_code: String,
    pub teacher: Option<String>,
    pub count: i64,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pass_rate: Option<f64>,
}

impl GroupStat {
    /// One term's row of a trend: labelled by the term's code, the mean rounded to two places,
    /// the pass rate (of `passed` among `count`) to four, neither when no grade counts.
    fn term(
        id: i64,
        code: String,
        count: i64,
        mean: Option<f64>,
        (min, max): (Option<f64>, Option<f64>),
        passed: Option<i64>,
    ) -> GroupStat {
        GroupStat {
            id,
            label: code.clone(),
            term_code: code,
            teacher: None,
            count,
            mean: mean.map(r2),
            min,
            max,
            pass_rate: passed
                .filter(|_| count > 0)
                .map(|p| r4(p as f64 / count as f64)),
        }
    }
}

/// The scope of a section comparison: a course's sections within one term (the term asked
/// for, else the latest term with published grades of that course).
pub async fn comparison_scope(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<Option<Scope>> {
    let Some(course) = scope.course else {
        return Ok(None);
    };
    if scope.term.is_some() {
        return Ok(Some(*scope));
    }
    let latest: Option<i64> = grades::Entity::find()
        .select_only()
        .column(sections::Column::TermId)
        .join(JoinType::InnerJoin, grades::Relation::Sections.def())
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .filter(sections::Column::CourseId.eq(course))
        .filter(grades::Column::Status.eq(PUBLISHED))
        .order_by_desc(terms::Column::Seq)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest.map(|t| Scope {
        term: Some(t),
        ..*scope
    }))
}

/// The sections of the scope side by side (one grouped query).
pub async fn by_section(db: &impl ConnectionTrait, scope: &Scope) -> AppResult<Vec<GroupStat>> {
    type Row = (
        i64,
        String,
        String,
        String,
        Option<String>,
        i64,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<i64>,
    );
    let rows: Vec<Row> = base(scope)
        .select_only()
        .column(sections::Column::Id)
        .column(courses::Column::Code)
        .column(sections::Column::SectionNo)
        .column(terms::Column::Code)
        .column(users::Column::DisplayName)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("AVG(grades.score)"), "m")
        .column_as(Expr::cust("MIN(grades.score)"), "mn")
        .column_as(Expr::cust("MAX(grades.score)"), "mx")
        .column_as(
            Expr::cust(format!(
                "SUM(CASE WHEN grades.score >= {PASS_MARK_SQL} THEN 1 ELSE 0 END)"
            )),
            "p",
        )
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .join(JoinType::LeftJoin, sections::Relation::Users.def())
        .group_by(sections::Column::Id)
        .group_by(courses::Column::Code)
        .group_by(sections::Column::SectionNo)
        .group_by(terms::Column::Code)
        .group_by(terms::Column::Seq)
        .group_by(users::Column::DisplayName)
        .order_by_asc(terms::Column::Seq)
        .order_by_asc(courses::Column::Code)
        .order_by_asc(sections::Column::SectionNo)
        .limit(200)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, no, term, teacher, n, m, mn, mx, p)| GroupStat {
            id,
            label: format!("{code}-{no} {term}"),
            term_code: term,
            teacher,
            count: n,
            mean: m.map(r2),
            min: mn,
            max: mx,
            pass_rate: p.filter(|_| n > 0).map(|p| r4(p as f64 / n as f64)),
        })
        .collect())
}

/// The scope term by term, oldest first (one grouped query): a course's trend.
pub async fn by_term(db: &impl ConnectionTrait, scope: &Scope) -> AppResult<Vec<GroupStat>> {
    type Row = (
        i64,
        String,
        String,
        String,
        i64,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<i64>,
    );
    let rows: Vec<Row> = base(scope)
        .select_only()
        .column(terms::Column::Id)
        .column(terms::Column::Code)
        .column(terms::Column::NameZh)
        .column(terms::Column::NameEn)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("AVG(grades.score)"), "m")
        .column_as(Expr::cust("MIN(grades.score)"), "mn")
        .column_as(Expr::cust("MAX(grades.score)"), "mx")
        .column_as(
            Expr::cust(format!(
                "SUM(CASE WHEN grades.score >= {PASS_MARK_SQL} THEN 1 ELSE 0 END)"
            )),
            "p",
        )
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .group_by(terms::Column::Id)
        .group_by(terms::Column::Code)
        .group_by(terms::Column::NameZh)
        .group_by(terms::Column::NameEn)
        .group_by(terms::Column::Seq)
        .order_by_asc(terms::Column::Seq)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, _zh, _en, n, m, mn, mx, p)| GroupStat::term(id, code, n, m, (mn, mx), p))
        .collect())
}

/// Who may see statistics wider than one section: staff with `grades.view_all`, and a
/// teacher for a course they teach a section of. A refusal is audited.
pub async fn check_scope(
    db: &impl ConnectionTrait,
    user: &crate::auth::CurrentUser,
    scope: &Scope,
) -> AppResult<()> {
    use crate::access::Permission;
    use sea_orm::PaginatorTrait;
    if user.can(Permission::ViewAllGrades) {
        return Ok(());
    }
    if let Some(c) = scope.course
        && user.can(Permission::EnterOwnGrades)
        && sections::Entity::find()
            .filter(sections::Column::CourseId.eq(c))
            .filter(sections::Column::TeacherId.eq(user.id))
            .count(db)
            .await?
            > 0
    {
        return Ok(());
    }
    crate::audit::Entry::new(Some(user.id), "grades.statistics.read", "statistics")
        .denied()
        .write(db)
        .await?;
    Err(crate::error::AppError::Forbidden)
}

/// Statistics for a course, term or department, with the course's sections compared and its
/// trend across terms: what the API answers and the statistics page draws.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub scope: Scope,
    pub statistics: Stats,
    pub sections: Vec<GroupStat>,
    pub trend: Vec<GroupStat>,
    /// When the analysis store's snapshot these figures come from was taken (none: counted
    /// now from the grades).
    pub as_of: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// When the latest snapshot was taken, if it wrote the grade facts.
async fn stored_since(
    db: &impl ConnectionTrait,
) -> AppResult<Option<chrono::DateTime<chrono::FixedOffset>>> {
    use crate::analytics::{facts::GRADE_FACTS, store};
    Ok(store::latest(db)
        .await?
        .filter(|s| s.facts >= GRADE_FACTS)
        .map(|s| s.taken_at))
}

/// The store's grade facts of `scope` (its term and department; no course, no section).
fn facts(scope: &Scope) -> SelectStatement {
    let mut q = Query::select();
    q.from(Alias::new("analysis_grade_facts"));
    if let Some(t) = scope.term {
        q.and_where(Expr::col(Alias::new("term_id")).eq(t));
    }
    if let Some(d) = scope.department {
        q.and_where(Expr::col(Alias::new("department_id")).eq(d));
    }
    q
}

/// The (score, how many, how many passed) groups of `scope` from the store, sorted by score.
async fn stored_scores(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> AppResult<Vec<(f64, i64, Option<i64>)>> {
    let mut q = facts(scope);
    q.column(Alias::new("score"))
        .expr(Expr::cust("CAST(SUM(graded) AS BIGINT)"))
        .expr(Expr::cust("CAST(SUM(passed) AS BIGINT)"))
        .group_by_col(Alias::new("score"))
        .order_by(Alias::new("score"), Order::Asc);
    let mut out = Vec::new();
    for r in db.query_all(&q).await? {
        out.push((
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
        ));
    }
    Ok(out)
}

/// The scope term by term from the store, oldest first (what `by_term` counts live).
async fn stored_trend(db: &impl ConnectionTrait, scope: &Scope) -> AppResult<Vec<GroupStat>> {
    let mut q = facts(scope);
    q.column((terms::Entity, terms::Column::Id))
        .column((terms::Entity, terms::Column::Code))
        .expr(Expr::cust("CAST(SUM(graded) AS BIGINT)"))
        .expr(Expr::cust("CAST(SUM(score * graded) AS DOUBLE PRECISION)"))
        .expr(Expr::cust("MIN(score)"))
        .expr(Expr::cust("MAX(score)"))
        .expr(Expr::cust("CAST(SUM(passed) AS BIGINT)"))
        .inner_join(
            terms::Entity,
            Expr::col((terms::Entity, terms::Column::Id)).equals(Alias::new("term_id")),
        )
        .group_by_col((terms::Entity, terms::Column::Id))
        .group_by_col((terms::Entity, terms::Column::Code))
        .group_by_col((terms::Entity, terms::Column::Seq))
        .order_by((terms::Entity, terms::Column::Seq), Order::Asc);
    let mut out = Vec::new();
    for r in db.query_all(&q).await? {
        let (code, n, total): (String, i64, f64) = (
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
            r.try_get_by_index(3)?,
        );
        out.push(GroupStat::term(
            r.try_get_by_index(0)?,
            code,
            n,
            (n > 0).then(|| total / n as f64),
            (r.try_get_by_index(4)?, r.try_get_by_index(5)?),
            Some(r.try_get_by_index(6)?),
        ));
    }
    Ok(out)
}

/// The overview of `scope`, after checking the user may see it.
pub async fn overview(
    db: &impl ConnectionTrait,
    user: &crate::auth::CurrentUser,
    scope: Scope,
) -> AppResult<Overview> {
    check_scope(db, user, &scope).await?;
    let all_terms = Scope {
        term: None,
        ..scope
    };
    if scope.section.is_none()
        && scope.course.is_none()
        && let Some(taken_at) = stored_since(db).await?
    {
        let statistics = summarise(&stored_scores(db, &scope).await?);
        let trend = if scope.department.is_some() {
            stored_trend(db, &all_terms).await?
        } else {
            Vec::new()
        };
        return Ok(Overview {
            scope,
            statistics,
            sections: Vec::new(),
            trend,
            as_of: Some(taken_at),
        });
    }
    let statistics = stats(db, &scope).await?;
    let sections = match comparison_scope(db, &scope).await? {
        Some(c) => by_section(db, &c).await?,
        None => Vec::new(),
    };
    let trend = if scope.course.is_some() || scope.department.is_some() {
        by_term(db, &all_terms).await?
    } else {
        Vec::new()
    };
    Ok(Overview {
        scope,
        statistics,
        sections,
        trend,
        as_of: None,
    })
}

/// One choice of a statistics picker.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Choice {
    pub id: i64,
    pub name: String,
}

/// The terms (newest first), departments and courses a statistics scope can be picked from,
/// named in `lang`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pickers {
    pub terms: Vec<Choice>,
    pub departments: Vec<Choice>,
    pub courses: Vec<Choice>,
}

pub async fn pickers(db: &impl ConnectionTrait, lang: crate::i18n::Lang) -> AppResult<Pickers> {
    use crate::entity::departments;
    let zh = lang == crate::i18n::Lang::Zh;
    let terms = terms::Entity::find()
        .order_by_desc(terms::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .map(|t| Choice {
            id: t.id,
            name: if zh { t.name_zh } else { t.name_en },
        })
        .collect();
    let departments = departments::Entity::find()
        .order_by_asc(departments::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|d| Choice {
            id: d.id,
            name: if zh { d.name_zh } else { d.name_en },
        })
        .collect();
    let courses = courses::Entity::find()
        .order_by_asc(courses::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|c| Choice {
            id: c.id,
            name: format!("{} {}", c.code, if zh { c.title_zh } else { c.title_en }),
        })
        .collect();
    Ok(Pickers {
        terms,
        departments,
        courses,
    })
}
