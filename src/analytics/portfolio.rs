//! The course portfolio of one term: each course placed by demand against outcomes, for the
//! dean.
//!
//! Definitions (also on the page), over the course's sections in the chosen term:
//! - registrations: enrolments now `enrolled`; waitlisted: now `waitlisted`; drops: `dropped`;
//!   demand = registrations + waitlisted;
//! - pass rate: published grades at or above the section's pass mark (its grading scale's,
//!   else the default scale's, else 60) ÷ published grades;
//! - grade trend: the mean published score minus the course's mean in the term before (by
//!   sequence); none when either is missing;
//! - satisfaction: the mean "overall" answer of the course feedback, counting only sections
//!   whose survey has closed with at least the feedback module's minimum of answers (the
//!   anonymity floor); none when no section qualifies.
//!
//! Every count is a GROUP BY in the database (three queries per term).

use super::sql;
use crate::csv_safe::SafeCsv;
use crate::entity::terms;
use crate::error::{AppError, AppResult};
use crate::interaction::feedback::service as feedback;
use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How the table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PortfolioSort {
    Code,
    Registrations,
    Waitlisted,
    Drops,
    Demand,
    PassRate,
    Trend,
    Satisfaction,
}

impl PortfolioSort {
    pub const ALL: [PortfolioSort; 8] = [
        PortfolioSort::Code,
        PortfolioSort::Registrations,
        PortfolioSort::Waitlisted,
        PortfolioSort::Drops,
        PortfolioSort::Demand,
        PortfolioSort::PassRate,
        PortfolioSort::Trend,
        PortfolioSort::Satisfaction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PortfolioSort::Code => "code",
            PortfolioSort::Registrations => "registrations",
            PortfolioSort::Waitlisted => "waitlisted",
            PortfolioSort::Drops => "drops",
            PortfolioSort::Demand => "demand",
            PortfolioSort::PassRate => "pass_rate",
            PortfolioSort::Trend => "trend",
            PortfolioSort::Satisfaction => "satisfaction",
        }
    }
}

/// Which term and how to sort (the query string).
#[derive(Debug, Clone, Default, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PortfolioQuery {
    /// The term (its id); the current term when absent.
    #[param(minimum = 1, maximum = 1000000000)]
    pub term: Option<i64>,
    /// The column to sort by (`demand` when absent).
    #[param(value_type = Option<PortfolioSort>)]
    pub sort: Option<String>,
    /// `asc` or `desc` (`desc` when absent, `asc` for `code`).
    #[param(value_type = Option<SortDir>)]
    pub dir: Option<String>,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortDir {
    Asc,
    Desc,
}

impl PortfolioQuery {
    /// The parsed sort and direction, or `invalid_sort` (422).
    pub fn sorting(&self) -> AppResult<(PortfolioSort, SortDir)> {
        let sort = match self.sort.as_deref() {
            None | Some("") => PortfolioSort::Demand,
            Some(s) => PortfolioSort::ALL
                .into_iter()
                .find(|k| k.code() == s)
                .ok_or_else(|| AppError::unprocessable("invalid_sort", "unknown sort column"))?,
        };
        let dir = match self.dir.as_deref() {
            None | Some("") if sort == PortfolioSort::Code => SortDir::Asc,
            None | Some("") => SortDir::Desc,
            Some("asc") => SortDir::Asc,
            Some("desc") => SortDir::Desc,
            Some(_) => {
                return Err(AppError::unprocessable(
                    "invalid_sort",
                    "dir is asc or desc",
                ));
            }
        };
        if let Some(t) = self.term
            && !(1..=1_000_000_000).contains(&t)
        {
            return Err(AppError::unprocessable(
                "invalid_filter",
                "term is an id from 1",
            ));
        }
        Ok((sort, dir))
    }
}

/// One course in the term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PortfolioCourse {
    pub course_id: i64,
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub registrations: i64,
    pub waitlisted: i64,
    pub drops: i64,
    pub demand: i64,
    /// Published grades in the term.
    pub graded: i64,
    pub passed: i64,
    /// Per cent, one decimal; none without published grades.
    pub pass_rate: Option<f64>,
    /// Mean published score now minus the term before, one decimal.
    pub trend: Option<f64>,
    /// Mean overall feedback (1–5), two decimals, from sections at or above the floor.
    pub satisfaction: Option<f64>,
    /// Feedback answers counted in `satisfaction`.
    pub satisfaction_answers: i64,
}

/// The portfolio of one term.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Portfolio {
    /// The term shown (none when no term has started).
    pub term: Option<super::retention::RetentionTerm>,
    pub term_id: Option<i64>,
    /// The term the trend compares with.
    pub previous_term: Option<super::retention::RetentionTerm>,
    pub sort: PortfolioSort,
    pub dir: SortDir,
    /// The fewest feedback answers a section needs to count.
    pub feedback_floor: u64,
    pub courses: Vec<PortfolioCourse>,
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The mean of `graded` scores adding up to `hundredths` hundredths of a point.
// NOTE: scores are added as whole hundredths, so the mean is the same whatever order the
// database adds them in (a sum of doubles is not, and the trend's rounding could flip).
pub(super) fn mean_score(hundredths: i64, graded: i64) -> f64 {
    if graded > 0 {
        hundredths as f64 / 100.0 / graded as f64
    } else {
        f64::NAN
    }
}

/// (graded, passed, mean score) per course in the term.
async fn outcomes(
    db: &impl ConnectionTrait,
    term_id: i64,
) -> AppResult<HashMap<i64, (i64, i64, f64)>> {
    let sql = concat!(
        "SELECT s.course_id AS course, COUNT(*) AS graded, SUM(CASE WHEN g.score >= ",
        crate::grades::scale::pass_mark_sql!(section "s"),
        " THEN 1 ELSE 0 END) AS passed, \
           CAST(SUM(CAST(ROUND(g.score * 100) AS BIGINT)) AS BIGINT) AS hundredths \
         FROM grades g JOIN sections s ON s.id = g.section_id \
         WHERE g.status = 'published' AND s.term_id = ? \
         GROUP BY s.course_id"
    );
    let mut out = HashMap::new();
    for r in super::sql::rows(db, sql, vec![term_id.into()]).await? {
        let graded: i64 = r.try_get("", "graded")?;
        out.insert(
            r.try_get::<i64>("", "course")?,
            (
                graded,
                r.try_get("", "passed")?,
                mean_score(r.try_get("", "hundredths")?, graded),
            ),
        );
    }
    Ok(out)
}

/// (answers, sum of overall) per course, from sections whose survey has closed with at least
/// `floor` answers.
async fn satisfaction(
    db: &impl ConnectionTrait,
    term_id: i64,
    floor: u64,
) -> AppResult<HashMap<i64, (i64, i64)>> {
    let sql = "SELECT s.course_id AS course, COUNT(*) AS n, CAST(SUM(fa.overall) AS BIGINT) AS total \
         FROM feedback_answers fa JOIN sections s ON s.id = fa.section_id \
         WHERE s.term_id = ? GROUP BY s.course_id, fa.section_id \
         HAVING COUNT(*) >= ?";
    let floor = i64::try_from(floor).unwrap_or(i64::MAX);
    let mut out: HashMap<i64, (i64, i64)> = HashMap::new();
    for r in super::sql::rows(db, sql, vec![term_id.into(), floor.into()]).await? {
        let e = out.entry(r.try_get("", "course")?).or_default();
        e.0 += r.try_get::<i64>("", "n")?;
        e.1 += r.try_get::<i64>("", "total")?;
    }
    Ok(out)
}

fn term_ref(t: &terms::Model) -> super::retention::RetentionTerm {
    super::retention::RetentionTerm::of(t)
}

/// A course's enrolments in the term: (id, code, title zh, title en, registrations,
/// waitlisted, drops).
pub(super) type Demand = (i64, String, String, String, i64, i64, i64);

/// What the table is made of: the courses' enrolments, the outcomes now and the term before
/// (graded, passed, mean score), and the satisfaction (answers, sum) per course.
pub(super) struct Inputs {
    pub demand: Vec<Demand>,
    pub now: HashMap<i64, (i64, i64, f64)>,
    pub before: HashMap<i64, (i64, i64, f64)>,
    pub satisfaction: HashMap<i64, (i64, i64)>,
}

/// The inputs counted from the whole history.
async fn live_inputs(
    db: &impl ConnectionTrait,
    term: &terms::Model,
    previous: Option<&terms::Model>,
    floor: u64,
    closed: bool,
) -> AppResult<Inputs> {
    let rows = super::sql::rows(
        db,
        "SELECT c.id AS id, c.code AS code, c.title_zh AS title_zh, c.title_en AS title_en, \
           SUM(CASE WHEN e.status = 'enrolled' THEN 1 ELSE 0 END) AS registrations, \
           SUM(CASE WHEN e.status = 'waitlisted' THEN 1 ELSE 0 END) AS waitlisted, \
           SUM(CASE WHEN e.status = 'dropped' THEN 1 ELSE 0 END) AS drops \
         FROM courses c JOIN sections s ON s.course_id = c.id AND s.term_id = ? \
         LEFT JOIN enrolments e ON e.section_id = s.id \
         GROUP BY c.id, c.code, c.title_zh, c.title_en",
        vec![term.id.into()],
    )
    .await?;
    let mut demand = Vec::with_capacity(rows.len());
    for r in rows {
        // NOTE: SUM over no joined enrolment is NULL.
        let count =
            |col: &str| -> AppResult<i64> { Ok(r.try_get::<Option<i64>>("", col)?.unwrap_or(0)) };
        demand.push((
            r.try_get("", "id")?,
            r.try_get("", "code")?,
            r.try_get("", "title_zh")?,
            r.try_get("", "title_en")?,
            count("registrations")?,
            count("waitlisted")?,
            count("drops")?,
        ));
    }
    let now = outcomes(db, term.id).await?;
    let before = match previous {
        Some(p) => outcomes(db, p.id).await?,
        None => HashMap::new(),
    };
    // NOTE: a survey's answers count only once it has closed, as on the feedback pages.
    let satisfaction = if closed {
        satisfaction(db, term.id, floor).await?
    } else {
        HashMap::new()
    };
    Ok(Inputs {
        demand,
        now,
        before,
        satisfaction,
    })
}

/// The portfolio of the chosen term (the current one by default), sorted, counted from the
/// whole history.
pub async fn report(db: &impl ConnectionTrait, q: &PortfolioQuery) -> AppResult<Portfolio> {
    report_from(db, q, false).await
}

/// The portfolio, from the analysis store's latest snapshot when `stored`.
pub(super) async fn report_from(
    db: &impl ConnectionTrait,
    q: &PortfolioQuery,
    stored: bool,
) -> AppResult<Portfolio> {
    let (sort, dir) = q.sorting()?;
    let today = Utc::now().date_naive();
    let all: Vec<terms::Model> = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .order_by_asc(terms::Column::StartsOn)
        .all(db)
        .await?;
    let floor = feedback::threshold(db).await?;
    let chosen = match q.term {
        Some(id) => Some(
            all.iter()
                .position(|t| t.id == id)
                .ok_or(AppError::NotFound)?,
        ),
        None => all
            .iter()
            .position(|t| t.is_current)
            .or_else(|| all.iter().rposition(|t| t.starts_on <= today)),
    };
    let Some(i) = chosen else {
        return Ok(Portfolio {
            term: None,
            term_id: None,
            previous_term: None,
            sort,
            dir,
            feedback_floor: floor,
            courses: Vec::new(),
        });
    };
    let term = &all[i];
    let previous = i.checked_sub(1).and_then(|p| all.get(p));
    let closed = feedback::is_closed(term, today);
    let inputs = if stored {
        course_inputs(db, term.id, previous.map(|p| p.id), floor, closed).await?
    } else {
        live_inputs(db, term, previous, floor, closed).await?
    };
    let mut courses = Vec::with_capacity(inputs.demand.len());
    for (id, code, title_zh, title_en, registrations, waitlisted, drops) in inputs.demand {
        let (graded, passed, mean) = inputs.now.get(&id).copied().unwrap_or((0, 0, f64::NAN));
        let (answers, total) = inputs.satisfaction.get(&id).copied().unwrap_or((0, 0));
        courses.push(PortfolioCourse {
            course_id: id,
            code,
            title_zh,
            title_en,
            registrations,
            waitlisted,
            drops,
            demand: registrations + waitlisted,
            graded,
            passed,
            pass_rate: (graded > 0).then(|| round(passed as f64 / graded as f64 * 100.0, 1)),
            trend: inputs
                .before
                .get(&id)
                .filter(|_| graded > 0)
                .map(|b| round(mean - b.2, 1)),
            satisfaction: (answers > 0).then(|| round(total as f64 / answers as f64, 2)),
            satisfaction_answers: answers,
        });
    }
    sort_courses(&mut courses, sort, dir);
    Ok(Portfolio {
        term: Some(term_ref(term)),
        term_id: Some(term.id),
        previous_term: previous.map(term_ref),
        sort,
        dir,
        feedback_floor: floor,
        courses,
    })
}

/// Sorts by the column, courses without a value last either way, then by code.
fn sort_courses(courses: &mut [PortfolioCourse], sort: PortfolioSort, dir: SortDir) {
    let key = |c: &PortfolioCourse| -> Option<f64> {
        match sort {
            PortfolioSort::Code => Some(0.0),
            PortfolioSort::Registrations => Some(c.registrations as f64),
            PortfolioSort::Waitlisted => Some(c.waitlisted as f64),
            PortfolioSort::Drops => Some(c.drops as f64),
            PortfolioSort::Demand => Some(c.demand as f64),
            PortfolioSort::PassRate => c.pass_rate,
            PortfolioSort::Trend => c.trend,
            PortfolioSort::Satisfaction => c.satisfaction,
        }
    };
    courses.sort_by(|a, b| {
        let by_value = match (key(a), key(b)) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if dir == SortDir::Desc { o.reverse() } else { o }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        let by_code = if sort == PortfolioSort::Code && dir == SortDir::Desc {
            b.code.cmp(&a.code)
        } else {
            a.code.cmp(&b.code)
        };
        by_value.then(by_code)
    });
}

/// The table as CSV (every cell neutralised: course titles are typed by people).
pub fn csv(p: &Portfolio) -> AppResult<Vec<u8>> {
    let mut w = SafeCsv::new();
    w.row([
        "term",
        "course_code",
        "title_zh",
        "title_en",
        "registrations",
        "waitlisted",
        "drops",
        "demand",
        "graded",
        "passed",
        "pass_rate",
        "grade_trend",
        "satisfaction",
        "satisfaction_answers",
    ])?;
    let term = p.term.as_ref().map_or("", |t| t.code.as_str());
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for c in &p.courses {
        w.row([
            term.to_string(),
            c.code.clone(),
            c.title_zh.clone(),
            c.title_en.clone(),
            c.registrations.to_string(),
            c.waitlisted.to_string(),
            c.drops.to_string(),
            c.demand.to_string(),
            c.graded.to_string(),
            c.passed.to_string(),
            opt(c.pass_rate),
            opt(c.trend),
            opt(c.satisfaction),
            c.satisfaction_answers.to_string(),
        ])?;
    }
    w.finish()
}

/// The portfolio's inputs for `term` (and the term before) from the store.
async fn course_inputs(
    db: &impl ConnectionTrait,
    term: i64,
    previous: Option<i64>,
    floor: u64,
    closed: bool,
) -> AppResult<Inputs> {
    let rows = sql::rows(
        db,
        "SELECT c.id, c.code, c.title_zh, c.title_en, f.registrations, f.waitlisted, f.drops, \
           f.graded, f.passed, f.score_hundredths \
         FROM analysis_course_facts f JOIN courses c ON c.id = f.course_id WHERE f.term_id = ?",
        vec![term.into()],
    )
    .await?;
    let mut demand: Vec<Demand> = Vec::with_capacity(rows.len());
    let mut now = HashMap::new();
    for r in rows {
        let id: i64 = r.try_get_by_index(0)?;
        demand.push((
            id,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
            r.try_get_by_index(3)?,
            r.try_get_by_index(4)?,
            r.try_get_by_index(5)?,
            r.try_get_by_index(6)?,
        ));
        let graded: i64 = r.try_get_by_index(7)?;
        if graded > 0 {
            let mean = mean_score(r.try_get_by_index(9)?, graded);
            now.insert(id, (graded, r.try_get_by_index(8)?, mean));
        }
    }
    let mut before = HashMap::new();
    if let Some(p) = previous {
        let rows = sql::rows(
            db,
            "SELECT course_id, graded, passed, score_hundredths FROM analysis_course_facts \
             WHERE term_id = ? AND graded > 0",
            vec![p.into()],
        )
        .await?;
        for r in rows {
            let graded: i64 = r.try_get_by_index(1)?;
            let mean = mean_score(r.try_get_by_index(3)?, graded);
            before.insert(
                r.try_get_by_index(0)?,
                (graded, r.try_get_by_index(2)?, mean),
            );
        }
    }
    let mut satisfaction = HashMap::new();
    if closed {
        // NOTE: a section counts only with at least the floor of answers (and one at least).
        let min = i64::try_from(floor).unwrap_or(i64::MAX).max(1);
        let rows = sql::rows(
            db,
            "SELECT course_id, CAST(SUM(answers * sections) AS BIGINT), CAST(SUM(overall) AS BIGINT) \
             FROM analysis_survey_facts WHERE term_id = ? AND answers >= ? GROUP BY course_id",
            vec![term.into(), min.into()],
        )
        .await?;
        for r in rows {
            satisfaction.insert(
                r.try_get_by_index(0)?,
                (
                    r.try_get_by_index::<Option<i64>>(1)?.unwrap_or(0),
                    r.try_get_by_index::<Option<i64>>(2)?.unwrap_or(0),
                ),
            );
        }
    }
    Ok(Inputs {
        demand,
        now,
        before,
        satisfaction,
    })
}
