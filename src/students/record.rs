//! The 360° view's course parts: current sections with their meetings, and the published
//! grades per term with the term GPA (computed by `grades::gpa`, the one GPA function).

use crate::entity::{courses, enrolments, grades, section_meetings, sections, terms};
use crate::error::AppResult;
use crate::grades::gpa::{gpa, round2};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct Meeting {
    pub weekday: i64,
    pub periods: String,
    pub weeks: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CurrentSection {
    pub section_id: i64,
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub section_no: String,
    pub credits: f64,
    pub room: String,
    pub teacher: String,
    pub status: String,
    pub meetings: Vec<Meeting>,
}

/// The sections the student is enrolled or waitlisted in this term, with their meetings.
pub async fn current_sections(
    db: &impl ConnectionTrait,
    student_id: i64,
) -> AppResult<Vec<CurrentSection>> {
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        f64,
        String,
        Option<i64>,
        String,
    );
    let rows: Vec<Row> = enrolments::Entity::find()
        .select_only()
        .column(sections::Column::Id)
        .column(courses::Column::Code)
        .column(courses::Column::TitleZh)
        .column(courses::Column::TitleEn)
        .column(sections::Column::SectionNo)
        .column(courses::Column::Credits)
        .column(sections::Column::Room)
        .column(sections::Column::TeacherId)
        .column(enrolments::Column::Status)
        .join(JoinType::InnerJoin, enrolments::Relation::Sections.def())
        .join(JoinType::InnerJoin, sections::Relation::Courses.def())
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.is_in(["enrolled", "waitlisted"]))
        .filter(terms::Column::IsCurrent.eq(true))
        .order_by_asc(courses::Column::Code)
        .into_tuple()
        .all(db)
        .await?;
    let section_ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut meetings: HashMap<i64, Vec<Meeting>> = HashMap::new();
    for m in section_meetings::Entity::find()
        .filter(section_meetings::Column::SectionId.is_in(section_ids))
        .order_by_asc(section_meetings::Column::Weekday)
        .order_by_asc(section_meetings::Column::StartPeriod)
        .all(db)
        .await?
    {
        meetings.entry(m.section_id).or_default().push(Meeting {
            weekday: m.weekday,
            periods: format!("{}–{}", m.start_period, m.end_period),
            weeks: format!("{}–{}", m.start_week, m.end_week),
        });
    }
    let teacher_ids: Vec<i64> = rows.iter().filter_map(|r| r.7).collect();
    let teachers = crate::auth::service::display_names(db, teacher_ids).await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, code, tz, te, no, credits, room, teacher, status)| CurrentSection {
                section_id: id,
                course_code: code,
                title_zh: tz,
                title_en: te,
                section_no: no,
                credits,
                room,
                teacher: teacher
                    .and_then(|t| teachers.get(&t).cloned())
                    .unwrap_or_default(),
                status,
                meetings: meetings.remove(&id).unwrap_or_default(),
            },
        )
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct GradeLine {
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub credits: f64,
    pub score: f64,
    pub letter: String,
    pub points: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TermGrades {
    pub term_code: String,
    pub term_zh: String,
    pub term_en: String,
    pub seq: i64,
    pub gpa: Option<f64>,
    pub credits: f64,
    pub grades: Vec<GradeLine>,
}

/// Published grades grouped by term, oldest first, each term with its GPA.
pub async fn grade_history(
    db: &impl ConnectionTrait,
    student_id: i64,
) -> AppResult<Vec<TermGrades>> {
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        f64,
        f64,
        String,
        f64,
    );
    let rows: Vec<Row> = grades::Entity::find()
        .select_only()
        .column(terms::Column::Seq)
        .column(terms::Column::Code)
        .column(terms::Column::NameZh)
        .column(terms::Column::NameEn)
        .column(courses::Column::Code)
        .column(courses::Column::TitleZh)
        .column(courses::Column::TitleEn)
        .column(courses::Column::Credits)
        .column(grades::Column::Score)
        .column(grades::Column::Letter)
        .column(grades::Column::Points)
        .join(JoinType::InnerJoin, grades::Relation::Sections.def())
        .join(JoinType::InnerJoin, sections::Relation::Courses.def())
        .join(JoinType::InnerJoin, sections::Relation::Terms.def())
        .filter(grades::Column::StudentId.eq(student_id))
        .filter(grades::Column::Status.eq("published"))
        .order_by_asc(terms::Column::Seq)
        .order_by_asc(courses::Column::Code)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: Vec<TermGrades> = Vec::new();
    for (seq, tcode, tzh, ten, ccode, czh, cen, credits, score, letter, points) in rows {
        if out.last().is_none_or(|t| t.seq != seq) {
            out.push(TermGrades {
                term_code: tcode,
                term_zh: tzh,
                term_en: ten,
                seq,
                gpa: None,
                credits: 0.0,
                grades: Vec::new(),
            });
        }
        if let Some(term) = out.last_mut() {
            term.grades.push(GradeLine {
                course_code: ccode,
                title_zh: czh,
                title_en: cen,
                credits,
                score,
                letter,
                points,
            });
        }
    }
    for term in &mut out {
        let (qp, cr) = term.grades.iter().fold((0.0, 0.0), |(q, c), g| {
            (q + g.points * g.credits, c + g.credits)
        });
        term.credits = cr;
        term.gpa = gpa(qp, cr).map(round2);
    }
    Ok(out)
}

/// The term-GPA trend as an SVG bar chart (one bar per term, oldest first).
pub fn gpa_chart(terms: &[TermGrades], zh: bool) -> Option<String> {
    let bars: Vec<(String, f64)> = terms
        .iter()
        .filter_map(|t| {
            let label = if zh { &t.term_zh } else { &t.term_en };
            t.gpa.map(|g| (label.clone(), g))
        })
        .collect();
    if bars.is_empty() {
        None
    } else {
        Some(crate::charts::bar_chart(&bars, ""))
    }
}
