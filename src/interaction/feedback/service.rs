//! Course feedback at the end of a term: one short anonymous survey per section.
//!
//! Who answered (`feedback_submissions`) and what was answered (`feedback_answers`) are two
//! tables with no link, written in one transaction; the answers carry no time, no student and a
//! random id, the submissions no time, and no audit row names the student. Results are shown
//! only once the survey has closed and at least `feedback.min_responses` (5, never fewer)
//! students answered, so a teacher cannot watch the results move after each answer; comments
//! are listed sorted, not in the order they came in. The survey is open from
//! `feedback.open_days` (default 21) days before the term's last day to 14 days after it.

pub use super::dto::{Answers, Question, Results};
use crate::access::Permission;
use crate::auth::CurrentUser;
use crate::db::{is_unique_violation, write_txn};
use crate::entity::{enrolments, feedback_answers, feedback_submissions, sections, terms};
use crate::error::{AppError, AppResult};
use crate::interaction::util::{json_setting, now};
use chrono::{Duration, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

pub const QUESTIONS: [&str; 4] = ["teaching", "content", "workload", "overall"];
pub const MIN_KEY: &str = "feedback.min_responses";
pub const OPEN_DAYS_KEY: &str = "feedback.open_days";

/// The fewest answers that may ever be shown; the setting cannot go below it.
pub const MIN_FLOOR: u64 = 5;
/// Days after the term's last day the survey stays open.
const CLOSE_AFTER_DAYS: i64 = 14;

pub async fn threshold(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(json_setting(db, MIN_KEY, MIN_FLOOR).await?.max(MIN_FLOOR))
}

/// Whether the survey of a section in `term` has closed by `today` (its results may show).
pub fn is_closed(term: &terms::Model, today: NaiveDate) -> bool {
    today > term.ends_on + Duration::days(CLOSE_AFTER_DAYS)
}

/// Whether the survey of a section in `term` is open on `today`.
pub async fn is_open(
    db: &impl ConnectionTrait,
    term: &terms::Model,
    today: NaiveDate,
) -> AppResult<bool> {
    let days: i64 = json_setting(db, OPEN_DAYS_KEY, 21i64).await?;
    Ok(today >= term.ends_on - Duration::days(days.clamp(0, 365)) && !is_closed(term, today))
}

/// Records one student's answers for a section they are enrolled in.
pub async fn submit(
    db: &DatabaseConnection,
    user: &CurrentUser,
    section_id: i64,
    a: &Answers,
) -> AppResult<()> {
    let Some(student_id) = user.student_id else {
        return Err(AppError::Forbidden);
    };
    let enrolled = enrolments::Entity::find()
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(enrolments::Column::Status.eq("enrolled"))
        .count(db)
        .await?;
    if enrolled == 0 {
        return Err(AppError::NotFound);
    }
    let section = sections::Entity::find_by_id(section_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let term = terms::Entity::find_by_id(section.term_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !is_open(db, &term, now().date_naive()).await? {
        return Err(AppError::conflict(
            "feedback_closed",
            "course feedback is open only at the end of the term",
        ));
    }
    let score = |v: Option<i64>| {
        v.filter(|v| (1..=5).contains(v)).ok_or_else(|| {
            AppError::unprocessable(
                "invalid_score",
                "every question needs an answer from 1 to 5",
            )
        })
    };
    let (t, c, w, o) = (
        score(a.teaching)?,
        score(a.content)?,
        score(a.workload)?,
        score(a.overall)?,
    );
    let comment = a.comment.trim();
    if comment.chars().count() > 2000 {
        return Err(AppError::unprocessable("invalid", "comment is too long"));
    }
    let txn = write_txn(db).await?;
    let res = feedback_submissions::ActiveModel {
        section_id: Set(section_id),
        student_id: Set(student_id),
    }
    .insert(&txn)
    .await;
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::conflict(
                "already_answered",
                "you have already given feedback for this section",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    feedback_answers::ActiveModel {
        id: Set(rand::random_range(1..i64::MAX)),
        section_id: Set(section_id),
        teaching: Set(t),
        content: Set(c),
        workload: Set(w),
        overall: Set(o),
        comment: Set(comment.to_string()),
    }
    .insert(&txn)
    .await?;
    // NOTE: no audit row: one naming the student and the section at a time would link them
    // to the answer stored in the same second.
    txn.commit().await?;
    Ok(())
}

/// Who may see a section's results: its teacher, or staff who see all grades.
pub async fn may_see(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    section_id: i64,
) -> AppResult<sections::Model> {
    let s = sections::Entity::find_by_id(section_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.teacher_id == Some(user.id) || user.can(Permission::ViewAllGrades) {
        Ok(s)
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn results(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    section_id: i64,
) -> AppResult<Results> {
    let s = may_see(db, user, section_id).await?;
    let closed = match terms::Entity::find_by_id(s.term_id).one(db).await? {
        Some(term) => is_closed(&term, now().date_naive()),
        None => false,
    };
    let answers = feedback_answers::Entity::find()
        .filter(feedback_answers::Column::SectionId.eq(section_id))
        .all(db)
        .await?;
    let min = threshold(db).await?;
    let n = answers.len() as u64;
    let shown = closed && n >= min;
    let mut questions = Vec::new();
    let mut comments = Vec::new();
    if shown {
        for code in QUESTIONS {
            let vals: Vec<i64> = answers
                .iter()
                .map(|a| match code {
                    "teaching" => a.teaching,
                    "content" => a.content,
                    "workload" => a.workload,
                    _ => a.overall,
                })
                .collect();
            let mut counts = [0u64; 5];
            for v in &vals {
                if (1..=5).contains(v) {
                    counts[(*v - 1) as usize] += 1;
                }
            }
            let mean = vals.iter().sum::<i64>() as f64 / vals.len().max(1) as f64;
            questions.push(Question {
                code,
                mean: (mean * 100.0).round() / 100.0,
                counts,
            });
        }
        comments = answers
            .into_iter()
            .map(|a| a.comment)
            .filter(|c| !c.is_empty())
            .collect();
        comments.sort();
    }
    Ok(Results {
        section_id,
        responses: n,
        enrolled: s.enrolled_count,
        threshold: min,
        closed,
        shown,
        questions,
        comments,
    })
}

/// Whether a student has answered for a section.
pub async fn answered(
    db: &impl ConnectionTrait,
    student_id: i64,
    section_id: i64,
) -> AppResult<bool> {
    Ok(
        feedback_submissions::Entity::find_by_id((section_id, student_id))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Course feedback per department, counting only closed surveys at or above the threshold (so
/// no section's answers are shown through the back door): (department id, sections, answers,
/// mean overall satisfaction).
pub async fn by_department(db: &impl ConnectionTrait) -> AppResult<Vec<(i64, u64, u64, f64)>> {
    use crate::entity::courses;
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, ExprTrait};
    let min = threshold(db).await?;
    let per_section: Vec<(i64, i64, i64)> = feedback_answers::Entity::find()
        .select_only()
        .column(feedback_answers::Column::SectionId)
        .expr(Expr::col(feedback_answers::Column::Id).count())
        // NOTE: PostgreSQL sums a bigint column as numeric; cast it back.
        .expr(
            Expr::col(feedback_answers::Column::Overall)
                .sum()
                .cast_as("BIGINT"),
        )
        .group_by(feedback_answers::Column::SectionId)
        .into_tuple()
        .all(db)
        .await?;
    let shown: Vec<(i64, i64, i64)> = per_section
        .into_iter()
        .filter(|(_, n, _)| *n as u64 >= min)
        .collect();
    let today = now().date_naive();
    let closed_terms: std::collections::HashSet<i64> = terms::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter(|t| is_closed(t, today))
        .map(|t| t.id)
        .collect();
    let secs: std::collections::HashMap<i64, i64> = sections::Entity::find()
        .filter(sections::Column::Id.is_in(shown.iter().map(|s| s.0).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .filter(|s| closed_terms.contains(&s.term_id))
        .map(|s| (s.id, s.course_id))
        .collect();
    let depts: std::collections::HashMap<i64, i64> = courses::Entity::find()
        .filter(courses::Column::Id.is_in(secs.values().copied().collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.department_id))
        .collect();
    let mut acc: std::collections::BTreeMap<i64, (u64, u64, i64)> = Default::default();
    for (sid, n, sum) in shown {
        let Some(d) = secs.get(&sid).and_then(|c| depts.get(c)) else {
            continue;
        };
        let e = acc.entry(*d).or_default();
        e.0 += 1;
        e.1 += n as u64;
        e.2 += sum;
    }
    Ok(acc
        .into_iter()
        .map(|(d, (s, n, sum))| {
            (
                d,
                s,
                n,
                ((sum as f64 / std::cmp::max(n, 1) as f64) * 100.0).round() / 100.0,
            )
        })
        .collect())
}

/// "CODE-NO Title" of a section in the reader's language.
pub async fn section_label(
    db: &impl ConnectionTrait,
    s: &sections::Model,
    zh: bool,
) -> AppResult<String> {
    Ok(crate::entity::courses::Entity::find_by_id(s.course_id)
        .one(db)
        .await?
        .map(|c| {
            let title = if zh { c.title_zh } else { c.title_en };
            format!("{}-{} {title}", c.code, s.section_no)
        })
        .unwrap_or_default())
}

/// The student's enrolled sections whose survey is open, as `{id, label, answered}`.
pub async fn surveys_to_answer(
    db: &impl ConnectionTrait,
    student_id: i64,
    zh: bool,
) -> AppResult<Vec<serde_json::Value>> {
    let today = now().date_naive();
    let ids: Vec<i64> = enrolments::Entity::find()
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.eq("enrolled"))
        .select_only()
        .column(enrolments::Column::SectionId)
        .into_tuple()
        .all(db)
        .await?;
    let mut out = Vec::new();
    for s in sections::Entity::find()
        .filter(sections::Column::Id.is_in(ids))
        .all(db)
        .await?
    {
        let Some(term) = terms::Entity::find_by_id(s.term_id).one(db).await? else {
            continue;
        };
        if !is_open(db, &term, today).await? {
            continue;
        }
        out.push(
            serde_json::json!({"id": s.id, "label": section_label(db, &s, zh).await?,
                                    "answered": answered(db, student_id, s.id).await?}),
        );
    }
    Ok(out)
}

/// The teacher's latest 50 sections, as `{id, label}` (links to their results).
pub async fn taught_sections(
    db: &impl ConnectionTrait,
    teacher_id: i64,
    zh: bool,
) -> AppResult<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for s in sections::Entity::find()
        .filter(sections::Column::TeacherId.eq(teacher_id))
        .order_by_desc(sections::Column::Id)
        .limit(50)
        .all(db)
        .await?
    {
        out.push(serde_json::json!({"id": s.id, "label": section_label(db, &s, zh).await?}));
    }
    Ok(out)
}
