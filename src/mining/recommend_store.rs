//! The course recommendations' data: the grades they learn from, what each mining run learned
//! (stored in `course_pair_stats` and `course_pass_stats`, so a student's page reads a few rows
//! instead of every grade), and the answer for one student choosing courses in a term.

use super::features::{self, Snapshot};
use super::recommend::{self, K, Offline, Prereqs, Stats, Taken};
use crate::entity::grades::GradeStatus;
use crate::entity::{
    course_pair_stats, course_pass_stats, course_prerequisites, courses, enrolments, grades,
    grading_scales, section_meetings, sections, terms,
};
use crate::error::{AppError, AppResult};
use crate::registration::rules::sections_clash;
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, RelationTrait};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The pass mark of each grading scale, and the one for sections without a scale.
async fn pass_marks(db: &impl ConnectionTrait) -> AppResult<(HashMap<i64, f64>, f64)> {
    let scales = grading_scales::Entity::find().all(db).await?;
    let default = features::default_pass_mark(&scales);
    Ok((
        scales.into_iter().map(|s| (s.id, s.pass_mark)).collect(),
        default,
    ))
}

/// Published grades, as what each student took when and whether they passed; only one
/// student's when `student` is given.
pub async fn load_taken(db: &impl ConnectionTrait, student: Option<i64>) -> AppResult<Vec<Taken>> {
    let (marks, default) = pass_marks(db).await?;
    let mut q = grades::Entity::find()
        .filter(grades::Column::Status.eq(GradeStatus::Published))
        .inner_join(sections::Entity)
        .join(
            sea_orm::JoinType::InnerJoin,
            sections::Relation::Terms.def(),
        )
        .select_only()
        .column(grades::Column::StudentId)
        .column(sections::Column::CourseId)
        .column(terms::Column::Seq)
        .column(grades::Column::Score)
        .column(sections::Column::GradingScaleId);
    if let Some(s) = student {
        q = q.filter(grades::Column::StudentId.eq(s));
    }
    Ok(q.into_tuple::<(i64, i64, i64, f64, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(student, course, seq, score, scale)| Taken {
            student,
            course,
            seq,
            score,
            passed: score
                >= scale
                    .and_then(|s| marks.get(&s).copied())
                    .unwrap_or(default),
        })
        .collect())
}

/// The published grades a mining run's snapshot holds, as [`load_taken`] reads them: the
/// snapshot holds every term up to the current one, all that [`build`] learns from.
pub fn taken_in(snap: &Snapshot) -> Vec<Taken> {
    let mut rows = Vec::new();
    for (&student, grades) in &snap.grades_by_student {
        for g in grades {
            let Some(section) = snap.sections.get(&g.section) else {
                continue;
            };
            let Some(term) = snap.term(section.term) else {
                continue;
            };
            rows.push(Taken {
                student,
                course: section.course,
                seq: term.seq,
                score: g.score,
                passed: g.score >= snap.pass_mark(section.scale),
            });
        }
    }
    rows
}

/// Every course's prerequisites.
pub async fn prerequisites(db: &impl ConnectionTrait) -> AppResult<Prereqs> {
    Ok(course_prerequisites::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .fold(Prereqs::new(), |mut m, p| {
            m.entry(p.course_id)
                .or_default()
                .push((p.prerequisite_id, p.min_score));
            m
        }))
}

/// The courses with a section in the term.
async fn offered(db: &impl ConnectionTrait, term_id: i64) -> AppResult<Vec<i64>> {
    let mut ids: Vec<i64> = sections::Entity::find()
        .filter(sections::Column::TermId.eq(term_id))
        .select_only()
        .column(sections::Column::CourseId)
        .distinct()
        .into_tuple::<i64>()
        .all(db)
        .await?;
    ids.sort_unstable();
    Ok(ids)
}

/// For a mining run: the offline measurement on the test term (learning from the terms before
/// it) and the statistics learned from every term before the current one, to store, from
/// `rows`: every published grade of the terms before the current one (see [`taken_in`]).
pub async fn build(
    db: &impl ConnectionTrait,
    rows: Vec<Taken>,
    test: &terms::Model,
    current: &terms::Model,
) -> AppResult<(Option<Offline>, Stats)> {
    let prereqs = prerequisites(db).await?;
    let offered = offered(db, test.id).await?;
    let (test_seq, code, current_seq) = (test.seq, test.code.clone(), current.seq);
    tokio::task::spawn_blocking(move || {
        // NOTE: the measurement and the statistics to store learn from different terms, each
        // on its own core.
        std::thread::scope(|scope| {
            let offline =
                scope.spawn(|| recommend::evaluate(&rows, test_seq, &code, &offered, &prereqs, K));
            let stats = recommend::learn(&rows, current_seq);
            let offline = offline
                .join()
                .map_err(|_| AppError::internal("the recommendations' measurement stopped"))?;
            Ok((offline, stats))
        })
    })
    .await
    .map_err(AppError::internal)?
}

/// Replaces the stored statistics with `stats` (inside the run's write transaction).
pub async fn store(db: &impl ConnectionTrait, stats: &Stats) -> AppResult<()> {
    let at = Utc::now().fixed_offset();
    course_pair_stats::Entity::delete_many().exec(db).await?;
    course_pass_stats::Entity::delete_many().exec(db).await?;
    let courses: Vec<course_pass_stats::ActiveModel> = stats
        .course
        .iter()
        .map(|(&c, &(graded, passed))| course_pass_stats::ActiveModel {
            course_id: sea_orm::Set(c),
            graded: sea_orm::Set(graded),
            passed: sea_orm::Set(passed),
            computed_at: sea_orm::Set(at),
        })
        .collect();
    for chunk in courses.chunks(500) {
        course_pass_stats::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    let pairs: Vec<course_pair_stats::ActiveModel> = stats
        .pairs
        .iter()
        .map(
            |(&(a, b, c), &(took, passed))| course_pair_stats::ActiveModel {
                course_a: sea_orm::Set(a),
                band: sea_orm::Set(i64::from(b)),
                course_c: sea_orm::Set(c),
                cohort: sea_orm::Set(stats.cohort.get(&(a, b)).copied().unwrap_or(took)),
                took: sea_orm::Set(took),
                passed: sea_orm::Set(passed),
                ..Default::default()
            },
        )
        .collect();
    for chunk in pairs.chunks(500) {
        course_pair_stats::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The stored statistics a student's recommendations need: the pairs starting from `from`.
async fn stored(db: &impl ConnectionTrait, from: &[i64]) -> AppResult<Stats> {
    let mut stats = Stats::default();
    for c in course_pass_stats::Entity::find().all(db).await? {
        stats.course.insert(c.course_id, (c.graded, c.passed));
    }
    for p in course_pair_stats::Entity::find()
        .filter(course_pair_stats::Column::CourseA.is_in(from.to_vec()))
        .all(db)
        .await?
    {
        let band = u8::try_from(p.band).unwrap_or(0);
        stats.cohort.insert((p.course_a, band), p.cohort);
        stats
            .pairs
            .insert((p.course_a, band, p.course_c), (p.took, p.passed));
    }
    Ok(stats)
}

/// One recommended course, as the student sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recommendation {
    pub course_id: i64,
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    /// The estimated pass rate for a student with this record (percent).
    pub pass_rate: f64,
    pub reason: Option<RecommendationReason>,
}

/// "Students with B-range grades in CS201 passed this at 92% (41 students)."
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecommendationReason {
    /// The student's own course the comparison is made on.
    pub course_code: String,
    /// The student's grade band in it: `high` (85 and above), `mid` (70 to 85), `low`.
    pub band: String,
    /// How many earlier students had that grade and took this course.
    pub students: i64,
    /// How many of them passed it (percent).
    pub pass_rate: f64,
}

fn percent(x: f64) -> f64 {
    (x * 1000.0).round() / 10.0
}

/// Up to [`K`] courses of `term` for the student: open to them (not passed, prerequisites
/// passed, not already registered), with a section that has a seat or waitlist place and fits
/// their timetable, ranked by the chance that students with their record took and passed it.
/// Empty before their first published grade or the first mining run.
pub async fn for_student(
    db: &impl ConnectionTrait,
    student_id: i64,
    term: &terms::Model,
) -> AppResult<Vec<Recommendation>> {
    let history = load_taken(db, Some(student_id)).await?;
    if history.is_empty() {
        return Ok(Vec::new());
    }
    let mine: Vec<sections::Model> = sections::Entity::find()
        .inner_join(enrolments::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.is_in([
            enrolments::EnrolmentStatus::Enrolled,
            enrolments::EnrolmentStatus::Waitlisted,
        ]))
        .filter(sections::Column::TermId.eq(term.id))
        .all(db)
        .await?;
    let holding: HashSet<i64> = mine.iter().map(|s| s.course_id).collect();
    let offered = offered(db, term.id).await?;
    let candidates: Vec<i64> = recommend::eligible(&offered, &history, &prerequisites(db).await?)
        .into_iter()
        .filter(|c| !holding.contains(c))
        .collect();
    let open = sections::Entity::find()
        .filter(sections::Column::TermId.eq(term.id))
        .filter(sections::Column::CourseId.is_in(candidates.clone()))
        .all(db)
        .await?;
    let mut ids: Vec<i64> = open.iter().map(|s| s.id).collect();
    ids.extend(mine.iter().map(|s| s.id));
    let meetings: HashMap<i64, Vec<section_meetings::Model>> = section_meetings::Entity::find()
        .filter(section_meetings::Column::SectionId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .fold(HashMap::new(), |mut m, x| {
            m.entry(x.section_id).or_default().push(x);
            m
        });
    let none = Vec::new();
    let fits: HashSet<i64> = open
        .iter()
        .filter(|s| s.enrolled_count < s.capacity || s.waitlist_count < s.waitlist_capacity)
        .filter(|s| {
            let these = meetings.get(&s.id).unwrap_or(&none);
            mine.iter()
                .all(|m| !sections_clash(these, meetings.get(&m.id).unwrap_or(&none)))
        })
        .map(|s| s.course_id)
        .collect();
    let candidates: Vec<i64> = candidates
        .into_iter()
        .filter(|c| fits.contains(c))
        .collect();
    let from: Vec<i64> = history.iter().map(|t| t.course).collect();
    let stats = stored(db, &from).await?;
    if stats.course.is_empty() {
        return Ok(Vec::new());
    }
    let recs = recommend::rank(&stats, &history, &candidates, K);
    let mut wanted: Vec<i64> = recs.iter().map(|r| r.course).collect();
    wanted.extend(
        recs.iter()
            .filter_map(|r| r.reason.as_ref().map(|x| x.from_course)),
    );
    let names: HashMap<i64, (String, String, String)> = courses::Entity::find()
        .filter(courses::Column::Id.is_in(wanted))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, (c.code, c.title_zh, c.title_en)))
        .collect();
    Ok(recs
        .into_iter()
        .filter_map(|r| {
            let (code, zh, en) = names.get(&r.course)?.clone();
            let reason = r.reason.and_then(|x| {
                Some(RecommendationReason {
                    course_code: names.get(&x.from_course)?.0.clone(),
                    band: recommend::band_name(x.band).to_string(),
                    students: x.students,
                    pass_rate: percent(x.pass_rate),
                })
            });
            Some(Recommendation {
                course_id: r.course,
                code,
                title_zh: zh,
                title_en: en,
                pass_rate: percent(r.pass_rate),
                reason,
            })
        })
        .collect())
}
