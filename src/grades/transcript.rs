//! A student's transcript: published grades by term with term GPA, and the cumulative GPA
//! under the retake rule of `gpa.rs`.

use super::gpa::{self, Attempt, round2};
use crate::entity::grades::GradeStatus::Published as PUBLISHED;
use crate::entity::{courses, grades, sections, students, terms};
use crate::error::{AppError, AppResult};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CourseLine {
    pub grade_id: i64,
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub credits: f64,
    pub score: f64,
    pub letter: String,
    pub grade_points: f64,
    /// A later attempt of the same course replaces this one in the cumulative GPA.
    pub superseded: bool,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TermLine {
    pub term_code: String,
    pub term_zh: String,
    pub term_en: String,
    pub seq: i64,
    pub courses: Vec<CourseLine>,
    pub credits: f64,
    pub term_gpa: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudentHead {
    pub id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub cohort_year: i64,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Transcript {
    pub student: StudentHead,
    pub terms: Vec<TermLine>,
    pub cumulative_gpa: Option<f64>,
    pub credits_attempted: f64,
    pub credits_earned: f64,
    pub gpa_rule: &'static str,
}

pub const GPA_RULE: &str = "GPA = Σ(grade points × credits) / Σ credits; zero-credit courses are excluded; \
for a retaken course only the latest attempt counts in the cumulative GPA (earlier attempts are shown and marked).";

#[derive(Debug, sea_orm::FromQueryResult)]
struct Row {
    grade_id: i64,
    course_id: i64,
    seq: i64,
    term_code: String,
    term_zh: String,
    term_en: String,
    course_code: String,
    title_zh: String,
    title_en: String,
    credits: f64,
    score: f64,
    letter: String,
    points: f64,
    pass_mark: f64,
}

/// The transcript of published grades (drafts never appear on it).
pub async fn transcript(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Transcript> {
    let s = students::Entity::find_by_id(student_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows: Vec<Row> = grades::Entity::find()
        .select_only()
        .column_as(grades::Column::Id, "grade_id")
        .column_as(courses::Column::Id, "course_id")
        .column_as(terms::Column::Seq, "seq")
        .column_as(terms::Column::Code, "term_code")
        .column_as(terms::Column::NameZh, "term_zh")
        .column_as(terms::Column::NameEn, "term_en")
        .column_as(courses::Column::Code, "course_code")
        .column_as(courses::Column::TitleZh, "title_zh")
        .column_as(courses::Column::TitleEn, "title_en")
        .column_as(courses::Column::Credits, "credits")
        .column_as(grades::Column::Score, "score")
        .column_as(grades::Column::Letter, "letter")
        .column_as(grades::Column::Points, "points")
        .column_as(
            sea_orm::sea_query::Expr::cust(super::scale::pass_mark_sql!(section "sections")),
            "pass_mark",
        )
        .join(JoinType::InnerJoin, grades::Relation::Sections.def())
        .join(JoinType::InnerJoin, sections::Relation::Courses.def())
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .filter(grades::Column::StudentId.eq(student_id))
        .filter(grades::Column::Status.eq(PUBLISHED))
        .order_by_asc(terms::Column::Seq)
        .order_by_asc(courses::Column::Code)
        .order_by_asc(grades::Column::Id)
        .into_model::<Row>()
        .all(db)
        .await?;
    let attempts: Vec<Attempt> = rows
        .iter()
        .map(|r| Attempt {
            grade_id: r.grade_id,
            course_id: r.course_id,
            term_seq: r.seq,
            credits: r.credits,
            points: r.points,
        })
        .collect();
    let old = gpa::superseded(&attempts);
    let mut terms_out: Vec<TermLine> = Vec::new();
    let mut attempted = 0.0;
    let mut earned = 0.0;
    for r in rows {
        let (gid, seq, credits, score, pass) = (r.grade_id, r.seq, r.credits, r.score, r.pass_mark);
        if terms_out.last().is_none_or(|t| t.seq != seq) {
            terms_out.push(TermLine {
                term_code: r.term_code,
                term_zh: r.term_zh,
                term_en: r.term_en,
                seq,
                courses: Vec::new(),
                credits: 0.0,
                term_gpa: None,
            });
        }
        let superseded = old.contains(&gid);
        let passed = score >= pass;
        attempted += credits;
        if passed && !superseded {
            earned += credits;
        }
        if let Some(t) = terms_out.last_mut() {
            t.credits += credits;
            t.courses.push(CourseLine {
                grade_id: gid,
                course_code: r.course_code,
                title_zh: r.title_zh,
                title_en: r.title_en,
                credits,
                score,
                letter: r.letter,
                grade_points: r.points,
                superseded,
                passed,
            });
        }
    }
    for t in &mut terms_out {
        let of_term: Vec<&Attempt> = attempts.iter().filter(|a| a.term_seq == t.seq).collect();
        t.term_gpa = gpa::gpa_of(of_term).map(round2);
    }
    Ok(Transcript {
        student: StudentHead {
            id: s.id,
            student_no: s.student_no,
            name_zh: s.name_zh,
            name_en: s.name_en,
            cohort_year: s.cohort_year,
            status: s.status.as_str().to_string(),
        },
        terms: terms_out,
        cumulative_gpa: gpa::cumulative(&attempts).map(round2),
        credits_attempted: attempted,
        credits_earned: earned,
        gpa_rule: GPA_RULE,
    })
}
