//! Grade statistics (成绩统计) for a section, a course across sections, a term or a department:
//! count, mean, median, population standard deviation, min, max, pass rate and a histogram
//! of ten 10-point bins (the last one 90–100), each computed by SQL aggregates (two queries
//! per scope, never one per student). A section's statistics include drafts (for its teacher
//! before publishing); the wider scopes count published grades only.

use super::service::PUBLISHED;
use crate::entity::{courses, grades, grading_scales, sections, terms, users};
use crate::error::AppResult;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Select,
};
use serde::Serialize;

/// Which grades a statistic covers. Fields combine (a course within one term).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub section: Option<i64>,
    pub course: Option<i64>,
    pub term: Option<i64>,
    pub department: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bin {
    pub label: String,
    pub from: f64,
    pub to: f64,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
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
pub const PASS_MARK_SQL: &str = "COALESCE(section_scale.pass_mark, \
     (SELECT MIN(gd.pass_mark) FROM grading_scales gd WHERE gd.is_default = TRUE), 60.0)";

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

/// The SQL of one histogram bin's count (constants only, no input).
fn bin_sql(i: usize) -> String {
    let lo = i * 10;
    if i == 9 {
        format!("SUM(CASE WHEN grades.score >= {lo} THEN 1 ELSE 0 END)")
    } else {
        format!(
            "SUM(CASE WHEN grades.score >= {lo} AND grades.score < {} THEN 1 ELSE 0 END)",
            lo + 10
        )
    }
}

pub fn bin_label(i: usize) -> String {
    if i == 9 {
        "90–100".into()
    } else {
        format!("{}–{}", i * 10, i * 10 + 9)
    }
}

#[derive(Debug, Default, sea_orm::FromQueryResult)]
struct AggRow {
    n: i64,
    s: Option<f64>,
    ss: Option<f64>,
    mn: Option<f64>,
    mx: Option<f64>,
    p: Option<i64>,
    b0: Option<i64>,
    b1: Option<i64>,
    b2: Option<i64>,
    b3: Option<i64>,
    b4: Option<i64>,
    b5: Option<i64>,
    b6: Option<i64>,
    b7: Option<i64>,
    b8: Option<i64>,
    b9: Option<i64>,
}

/// Statistics of one scope.
pub async fn stats(db: &impl ConnectionTrait, scope: &Scope) -> AppResult<Stats> {
    let mut q = base(scope)
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust("SUM(grades.score)"), "s")
        .column_as(Expr::cust("SUM(grades.score * grades.score)"), "ss")
        .column_as(Expr::cust("MIN(grades.score)"), "mn")
        .column_as(Expr::cust("MAX(grades.score)"), "mx")
        .column_as(
            Expr::cust(format!(
                "SUM(CASE WHEN grades.score >= {PASS_MARK_SQL} THEN 1 ELSE 0 END)"
            )),
            "p",
        );
    for i in 0..10 {
        q = q.column_as(Expr::cust(bin_sql(i)), format!("b{i}"));
    }
    let row = q.into_model::<AggRow>().one(db).await?.unwrap_or_default();
    let bins = [
        row.b0, row.b1, row.b2, row.b3, row.b4, row.b5, row.b6, row.b7, row.b8, row.b9,
    ];
    let count = row.n;
    let histogram = (0..10)
        .map(|i| Bin {
            label: bin_label(i),
            from: (i * 10) as f64,
            to: if i == 9 { 100.0 } else { (i * 10 + 10) as f64 },
            count: bins[i].unwrap_or(0),
        })
        .collect();
    if count == 0 {
        return Ok(Stats {
            count,
            mean: None,
            median: None,
            std_dev: None,
            min: None,
            max: None,
            pass_rate: None,
            histogram,
        });
    }
    let n = count as f64;
    let mean = row.s.unwrap_or(0.0) / n;
    let var = (row.ss.unwrap_or(0.0) / n - mean * mean).max(0.0);
    let (offset, take) = if count % 2 == 1 {
        ((count / 2) as u64, 1)
    } else {
        ((count / 2 - 1) as u64, 2)
    };
    let mid: Vec<f64> = base(scope)
        .select_only()
        .column(grades::Column::Score)
        .order_by_asc(grades::Column::Score)
        .offset(offset)
        .limit(take)
        .into_tuple()
        .all(db)
        .await?;
    let median = if mid.is_empty() {
        None
    } else {
        Some(mid.iter().sum::<f64>() / mid.len() as f64)
    };
    Ok(Stats {
        count,
        mean: Some(r2(mean)),
        median: median.map(r2),
        std_dev: Some(r2(var.sqrt())),
        min: row.mn,
        max: row.mx,
        pass_rate: Some(r4(row.p.unwrap_or(0) as f64 / n)),
        histogram,
    })
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
fn r4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

/// One group of a comparison: a section or a term.
#[derive(Debug, Clone, Serialize)]
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
        .map(|(id, code, _zh, _en, n, m, mn, mx, p)| GroupStat {
            id,
            label: code.clone(),
            term_code: code,
            teacher: None,
            count: n,
            mean: m.map(r2),
            min: mn,
            max: mx,
            pass_rate: p.filter(|_| n > 0).map(|p| r4(p as f64 / n as f64)),
        })
        .collect())
}
