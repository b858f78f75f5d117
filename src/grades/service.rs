//! Final grades of a section: who may see and enter them, the roster with scores, saving a
//! whole set in one transaction (every bad row reported at once, nothing half-saved) and
//! publishing. Change requests after publishing live in `changes.rs`.

use super::assess;
use super::scale::{self, Scale};
pub use super::types::{EntryIn, Labels, RowError, Section, fill};
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{courses, enrolments, grade_history, grades, sections, students, terms};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};

pub use crate::entity::grades::GradeStatus;
pub const DRAFT: GradeStatus = GradeStatus::Draft;
pub const PUBLISHED: GradeStatus = GradeStatus::Published;
/// The `source` of grades filled from the computed scores.
pub const FILL_SOURCE: &str = "computed";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The section's teacher, or staff with `grades.view_all`.
    View,
    /// The section's teacher only (with `grades.enter_own`).
    Enter,
}

pub fn is_teacher_of(user: &CurrentUser, section: &sections::Model) -> bool {
    section.teacher_id == Some(user.id) && user.can(Permission::EnterOwnGrades)
}

/// Loads a section and checks the user may see (or enter) its grades; a refusal is audited.
pub async fn section_access(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    id: i64,
    need: Need,
) -> AppResult<Section> {
    let model = sections::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let allowed =
        is_teacher_of(user, &model) || (need == Need::View && user.can(Permission::ViewAllGrades));
    if !allowed {
        Entry::new(Some(user.id), "grades.section.access", "section")
            .id(id)
            .denied()
            .write(db)
            .await?;
        return Err(AppError::Forbidden);
    }
    load_section(db, model).await
}

pub async fn load_section(db: &impl ConnectionTrait, model: sections::Model) -> AppResult<Section> {
    let course = courses::Entity::find_by_id(model.course_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let term = terms::Entity::find_by_id(model.term_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let scale = scale::for_section(db, model.grading_scale_id).await?;
    Ok(Section {
        model,
        course,
        term,
        scale,
    })
}

/// One student of a section with their grade (if any) and the score computed from the
/// assessments (if the section has any).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GradeRow {
    pub student_id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub grade_id: Option<i64>,
    pub score: Option<f64>,
    pub letter: Option<String>,
    pub grade_points: Option<f64>,
    pub status: Option<GradeStatus>,
    pub computed_score: Option<f64>,
    /// The computed score with how much of the assessments it rests on.
    pub computed: Option<assess::Computed>,
    pub passed: Option<bool>,
}

/// The enrolled students of a section (and anyone else holding a grade in it), by number.
pub async fn grade_rows(db: &impl ConnectionTrait, section: &Section) -> AppResult<Vec<GradeRow>> {
    let sid = section.model.id;
    let enrolled: Vec<i64> = enrolments::Entity::find()
        .select_only()
        .column(enrolments::Column::StudentId)
        .filter(enrolments::Column::SectionId.eq(sid))
        .filter(enrolments::Column::Status.eq("enrolled"))
        .into_tuple()
        .all(db)
        .await?;
    let existing: HashMap<i64, grades::Model> = grades::Entity::find()
        .filter(grades::Column::SectionId.eq(sid))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.student_id, g))
        .collect();
    let mut ids: HashSet<i64> = enrolled.into_iter().collect();
    ids.extend(existing.keys().copied());
    let people = students::Entity::find()
        .filter(students::Column::Id.is_in(ids.iter().copied().collect::<Vec<_>>()))
        .order_by_asc(students::Column::StudentNo)
        .all(db)
        .await?;
    let computed = assess::computed(db, sid).await?;
    Ok(people
        .into_iter()
        .map(|s| {
            let g = existing.get(&s.id);
            GradeRow {
                student_id: s.id,
                student_no: s.student_no,
                name_zh: s.name_zh,
                name_en: s.name_en,
                grade_id: g.map(|g| g.id),
                score: g.map(|g| g.score),
                letter: g.map(|g| g.letter.clone()),
                grade_points: g.map(|g| g.points),
                status: g.map(|g| g.status),
                computed_score: computed.get(&s.id).map(|c| c.score),
                computed: computed.get(&s.id).cloned(),
                passed: g.map(|g| section.scale.passes(g.score)),
            }
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SaveReport {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
}

/// Why a score was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreProblem {
    Missing,
    NotANumber(String),
    OutOfRange(f64),
}

impl ScoreProblem {
    pub fn message(&self, labels: &Labels) -> String {
        match self {
            ScoreProblem::Missing => labels.say("grades.err.missing_score", &[]),
            ScoreProblem::NotANumber(v) => {
                labels.say("grades.err.not_a_number", &[("value", v.clone())])
            }
            ScoreProblem::OutOfRange(x) => {
                labels.say("grades.err.out_of_range", &[("value", x.to_string())])
            }
        }
    }
}

/// A score in 0–100 with at most two decimals.
pub fn check_score(v: Option<&serde_json::Value>) -> Result<f64, ScoreProblem> {
    let x = match v {
        None | Some(serde_json::Value::Null) => return Err(ScoreProblem::Missing),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => {
            return Err(ScoreProblem::Missing);
        }
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match x {
        None => Err(ScoreProblem::NotANumber(match v {
            Some(serde_json::Value::String(s)) => s.chars().take(40).collect(),
            Some(other) => other.to_string().chars().take(40).collect(),
            None => String::new(),
        })),
        Some(x) if !x.is_finite() || !(0.0..=100.0).contains(&x) => {
            Err(ScoreProblem::OutOfRange(x))
        }
        Some(x) => Ok((x * 100.0).round() / 100.0),
    }
}

/// A parsed score: a number in 0–100 with at most two decimals (the reason in English).
pub fn parse_score(v: &serde_json::Value) -> Result<f64, String> {
    check_score(Some(v)).map_err(|p| p.message(&Labels::api(Lang::En)))
}

/// The enrolled students of a section: id, number and name in the reader's language.
async fn roster(
    db: &impl ConnectionTrait,
    section_id: i64,
    lang: Lang,
) -> AppResult<Vec<(i64, String, String)>> {
    let rows: Vec<(i64, String, String, String)> = enrolments::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .column(students::Column::StudentNo)
        .column(students::Column::NameZh)
        .column(students::Column::NameEn)
        .inner_join(students::Entity)
        .filter(enrolments::Column::SectionId.eq(section_id))
        .filter(enrolments::Column::Status.eq("enrolled"))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, no, zh, en)| (id, no, if lang == Lang::Zh { zh } else { en }))
        .collect())
}

/// Checks a whole grade set against the section: every refused row is reported, and the
/// accepted ones are returned as (student id, score, line).
async fn validate(
    db: &impl ConnectionTrait,
    section_id: i64,
    rows: &[EntryIn],
    labels: &Labels,
) -> AppResult<(Vec<(i64, f64, usize)>, Vec<RowError>)> {
    let roster = roster(db, section_id, labels.lang).await?;
    let by_no: HashMap<&str, i64> = roster
        .iter()
        .map(|(id, no, _)| (no.as_str(), *id))
        .collect();
    let by_id: HashMap<i64, (&str, &str)> = roster
        .iter()
        .map(|(id, no, name)| (*id, (no.as_str(), name.as_str())))
        .collect();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    let mut ok = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for r in rows {
        let student = match (r.student_id, r.student_no.as_deref().map(str::trim)) {
            (Some(id), _) => by_id.contains_key(&id).then_some(id),
            (None, Some(no)) if !no.is_empty() => by_no.get(no).copied(),
            _ => {
                errors.push(labels.error(
                    r.line,
                    "student_no",
                    "",
                    "",
                    "missing_student",
                    labels.say("grades.err.missing_student", &[]),
                ));
                continue;
            }
        };
        // NOTE: people are named by number and name; an internal id is shown only when it
        // names no one in the section (a client's own mistake).
        let (no, name) = match student.and_then(|id| by_id.get(&id)) {
            Some(&(no, name)) => (no.to_string(), name.to_string()),
            None => (
                r.student_no
                    .clone()
                    .or(r.student_id.map(|i| format!("#{i}")))
                    .unwrap_or_default(),
                String::new(),
            ),
        };
        let who = if name.is_empty() {
            no.clone()
        } else {
            format!("{no} {name}")
        };
        let score = check_score(r.score.as_ref());
        let mut bad = false;
        if let Err(p) = &score {
            errors.push(labels.error(
                r.line,
                "score",
                &no,
                &name,
                "invalid_score",
                p.message(labels),
            ));
            bad = true;
        }
        let Some(id) = student else {
            errors.push(labels.error(
                r.line,
                "student_no",
                &no,
                "",
                "not_in_section",
                labels.say("grades.err.not_in_section", &[("student", no.clone())]),
            ));
            continue;
        };
        if let Some(first) = seen.get(&id) {
            errors.push(labels.error(
                r.line,
                "student_no",
                &no,
                &name,
                "duplicate",
                labels.say(
                    "grades.err.duplicate",
                    &[("student", who), ("first", first.to_string())],
                ),
            ));
            continue;
        }
        seen.insert(id, r.line);
        if let (false, Ok(s)) = (bad, score) {
            ok.push((id, s, r.line));
        }
    }
    Ok((ok, errors))
}

/// Saves a section's grade set as drafts: all or nothing. A grade already published cannot
/// be changed here (a change request is needed); sending its current score again is fine.
pub async fn save_grades(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    section: &Section,
    rows: &[EntryIn],
    unreadable: Vec<RowError>,
    source: &str,
    labels: &Labels,
) -> AppResult<SaveReport> {
    let sid = section.model.id;
    let txn = write_txn(db).await?;
    let (ok, mut errors) = validate(&txn, sid, rows, labels).await?;
    let names: HashMap<i64, (String, String)> = roster(&txn, sid, labels.lang)
        .await?
        .into_iter()
        .map(|(id, no, name)| (id, (no, name)))
        .collect();
    errors.extend(unreadable);
    let existing: HashMap<i64, grades::Model> = grades::Entity::find()
        .filter(grades::Column::SectionId.eq(sid))
        .all(&txn)
        .await?
        .into_iter()
        .map(|g| (g.student_id, g))
        .collect();
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut unchanged = 0;
    for (student, score, line) in ok {
        match existing.get(&student) {
            None => inserts.push((student, score)),
            // NOTE: filling from computed scores never touches a grade someone entered, even
            // one saved after the fill checked who had none (this check is in the transaction).
            Some(_) if source == FILL_SOURCE => unchanged += 1,
            Some(g) if (g.score - score).abs() < 1e-9 => unchanged += 1,
            Some(g) if g.status == PUBLISHED => {
                let (no, name) = names.get(&student).cloned().unwrap_or_default();
                errors.push(labels.error(
                    line,
                    "score",
                    &no,
                    &name,
                    "published",
                    labels.say("grades.err.published", &[]),
                ))
            }
            Some(g) => updates.push((g.clone(), score)),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        txn.rollback().await?;
        return Ok(SaveReport {
            inserted: 0,
            updated: 0,
            unchanged: 0,
            errors,
        });
    }
    let now = Utc::now().fixed_offset();
    let per = 400;
    for chunk in inserts.chunks(per) {
        grades::Entity::insert_many(chunk.iter().map(|&(student, score)| {
            let (letter, points) = section.scale.band(score);
            grades::ActiveModel {
                section_id: Set(sid),
                student_id: Set(student),
                score: Set(score),
                letter: Set(letter),
                points: Set(points),
                status: Set(DRAFT),
                entered_by: Set(Some(user.id)),
                updated_at: Set(now),
                published_at: Set(None),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    let mut history: Vec<(i64, Option<f64>, f64)> = Vec::new();
    if !inserts.is_empty() {
        let new_ids: HashMap<i64, i64> = grades::Entity::find()
            .select_only()
            .column(grades::Column::StudentId)
            .column(grades::Column::Id)
            .filter(grades::Column::SectionId.eq(sid))
            .into_tuple::<(i64, i64)>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        for (student, score) in &inserts {
            if let Some(id) = new_ids.get(student) {
                history.push((*id, None, *score));
            }
        }
    }
    for (g, score) in &updates {
        let (letter, points) = section.scale.band(*score);
        grades::ActiveModel {
            id: Set(g.id),
            score: Set(*score),
            letter: Set(letter),
            points: Set(points),
            entered_by: Set(Some(user.id)),
            updated_at: Set(now),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        history.push((g.id, Some(g.score), *score));
    }
    let reason = format!("entered ({source})");
    for chunk in history.chunks(per) {
        grade_history::Entity::insert_many(chunk.iter().map(|&(id, old, new)| {
            grade_history::ActiveModel {
                grade_id: Set(id),
                at: Set(now),
                actor_id: Set(Some(user.id)),
                old_score: Set(old),
                new_score: Set(new),
                reason: Set(reason.clone()),
                approved_by: Set(None),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    Entry::new(Some(user.id), "grades.enter", "section")
        .id(sid)
        .detail(json!({"source": source, "inserted": inserts.len(), "updated": updates.len(), "unchanged": unchanged}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(SaveReport {
        inserted: inserts.len(),
        updated: updates.len(),
        unchanged,
        errors: Vec::new(),
    })
}

/// A student named for people: number and name.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Named {
    pub student_no: String,
    pub name: String,
}

/// What publishing would do, shown (and confirmed) before it happens.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublishSummary {
    /// Students in the section (enrolled, or holding a grade in it).
    pub students: usize,
    /// Students with a grade (draft or published).
    pub entered: usize,
    /// Draft grades that publishing would make visible.
    pub drafts: usize,
    /// Students without a grade, by number.
    pub missing: Vec<Named>,
    /// Students whose grade does not pass the section's scale.
    pub failing: Vec<Named>,
    /// How many grades each letter of the scale has, best first.
    pub distribution: Vec<super::stats::Bin>,
}

impl PublishSummary {
    pub fn can_publish(&self) -> bool {
        self.missing.is_empty() && self.drafts > 0
    }
}

/// The summary of a section's grades as publishing would see them.
pub async fn publish_summary(
    db: &impl ConnectionTrait,
    section: &Section,
    lang: Lang,
) -> AppResult<PublishSummary> {
    let rows = grade_rows(db, section).await?;
    Ok(summarise_rows(&rows, section, lang))
}

fn summarise_rows(rows: &[GradeRow], section: &Section, lang: Lang) -> PublishSummary {
    let named = |r: &GradeRow| Named {
        student_no: r.student_no.clone(),
        name: if lang == Lang::Zh {
            r.name_zh.clone()
        } else {
            r.name_en.clone()
        },
    };
    let mut distribution: Vec<super::stats::Bin> = section
        .scale
        .bands
        .iter()
        .map(|b| super::stats::Bin {
            label: b.letter.clone(),
            from: b.min_score,
            to: b.min_score,
            count: 0,
        })
        .collect();
    distribution.sort_by(|x, y| y.from.total_cmp(&x.from));
    for r in rows {
        if let Some(l) = &r.letter
            && let Some(bin) = distribution.iter_mut().find(|b| &b.label == l)
        {
            bin.count += 1;
        }
    }
    PublishSummary {
        students: rows.len(),
        entered: rows.iter().filter(|r| r.grade_id.is_some()).count(),
        drafts: rows.iter().filter(|r| r.status == Some(DRAFT)).count(),
        missing: rows
            .iter()
            .filter(|r| r.grade_id.is_none())
            .map(named)
            .collect(),
        failing: rows
            .iter()
            .filter(|r| r.passed == Some(false))
            .map(named)
            .collect(),
        distribution,
    }
}

/// Publishes a section's draft grades (one transaction). Every student of the section needs
/// a grade; the refusal names those without one.
pub async fn publish(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    section: &Section,
    lang: Lang,
) -> AppResult<(u64, PublishSummary)> {
    let sid = section.model.id;
    let txn = write_txn(db).await?;
    let rows = grade_rows(&txn, section).await?;
    let summary = summarise_rows(&rows, section, lang);
    if !summary.missing.is_empty() {
        txn.rollback().await?;
        let mut list: Vec<String> = summary
            .missing
            .iter()
            .take(10)
            .map(|n| format!("{} {}", n.student_no, n.name))
            .collect();
        if summary.missing.len() > 10 {
            list.push("…".into());
        }
        return Err(AppError::unprocessable(
            "missing_grades",
            fill(
                &lang.t("grades.err.missing_grades"),
                &[
                    ("n", summary.missing.len().to_string()),
                    ("students", list.join(", ")),
                ],
            ),
        ));
    }
    let now = Utc::now().fixed_offset();
    let res = grades::Entity::update_many()
        .col_expr(grades::Column::Status, Expr::value(PUBLISHED))
        .col_expr(grades::Column::PublishedAt, Expr::value(now))
        .filter(grades::Column::SectionId.eq(sid))
        .filter(grades::Column::Status.eq(DRAFT))
        .exec(&txn)
        .await?;
    sections::ActiveModel {
        id: Set(sid),
        grades_published_at: Set(Some(now)),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let published: Vec<i64> = rows.iter().map(|r| r.student_id).collect();
    crate::analytics::transitions::record(
        &txn,
        &published,
        crate::analytics::transitions::GRADE_PUBLISH,
    )
    .await?;
    super::notify::published(&txn, section, &published).await?;
    Entry::new(Some(user.id), "grades.publish", "section")
        .id(sid)
        .detail(json!({"published": res.rows_affected, "failing": summary.failing.len()}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok((res.rows_affected, summary))
}

/// "Fill from computed scores": every student of the section without a grade gets the score
/// the assessments give, as a draft. Refused while the weights do not add up to 100 or any
/// such student lacks an assessment, since a partial score would read as a failing grade.
pub async fn fill_from_computed(
    db: &sea_orm::DatabaseConnection,
    user: &CurrentUser,
    section: &Section,
    labels: &Labels,
) -> AppResult<SaveReport> {
    let items = assess::list(db, section.model.id).await?;
    if items.is_empty() {
        return Err(AppError::unprocessable(
            "no_assessments",
            labels.say("grades.err.fill_no_assessments", &[]),
        ));
    }
    let total: f64 = items.iter().map(|a| a.weight).sum();
    if !assess::weights_complete(total) {
        return Err(AppError::unprocessable(
            "weights_incomplete",
            labels.say(
                "grades.err.fill_weights",
                &[("total", format!("{}", (total * 100.0).round() / 100.0))],
            ),
        ));
    }
    let rows = grade_rows(db, section).await?;
    let name = |r: &GradeRow| {
        let n = if labels.lang == Lang::Zh {
            &r.name_zh
        } else {
            &r.name_en
        };
        format!("{} {n}", r.student_no)
    };
    let open: Vec<&GradeRow> = rows.iter().filter(|r| r.grade_id.is_none()).collect();
    let lacking: Vec<String> = open
        .iter()
        .filter(|r| !r.computed.as_ref().is_some_and(assess::Computed::complete))
        .map(|r| name(r))
        .collect();
    if !lacking.is_empty() {
        let mut list: Vec<String> = lacking.iter().take(10).cloned().collect();
        if lacking.len() > 10 {
            list.push("…".into());
        }
        return Err(AppError::unprocessable(
            "assessments_incomplete",
            labels.say(
                "grades.err.fill_lacking",
                &[
                    ("n", lacking.len().to_string()),
                    ("students", list.join(", ")),
                ],
            ),
        ));
    }
    let entries: Vec<EntryIn> = open
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.computed.as_ref().map(|c| EntryIn {
                student_id: Some(r.student_id),
                student_no: None,
                score: Some(json!(c.score)),
                line: i + 1,
            })
        })
        .collect();
    save_grades(db, user, section, &entries, Vec::new(), FILL_SOURCE, labels).await
}

/// A teacher's sections with how far grading has got, newest term first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionStatus {
    pub section_id: i64,
    pub course_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub section_no: String,
    pub term_code: String,
    pub term_seq: i64,
    pub enrolled: i64,
    pub graded: i64,
    pub published: i64,
}

pub async fn teacher_sections(
    db: &impl ConnectionTrait,
    teacher_id: i64,
) -> AppResult<Vec<SectionStatus>> {
    type Row = (i64, String, String, String, String, String, i64, i64);
    let rows: Vec<Row> = sections::Entity::find()
        .select_only()
        .column(sections::Column::Id)
        .column(courses::Column::Code)
        .column(courses::Column::TitleZh)
        .column(courses::Column::TitleEn)
        .column(sections::Column::SectionNo)
        .column(terms::Column::Code)
        .column(terms::Column::Seq)
        .column(sections::Column::EnrolledCount)
        .inner_join(courses::Entity)
        .inner_join(terms::Entity)
        .filter(sections::Column::TeacherId.eq(teacher_id))
        .order_by_desc(terms::Column::Seq)
        .order_by_asc(courses::Column::Code)
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let counts: HashMap<i64, (i64, i64)> = grades::Entity::find()
        .select_only()
        .column(grades::Column::SectionId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(
            Expr::cust("SUM(CASE WHEN grades.status = 'published' THEN 1 ELSE 0 END)"),
            "p",
        )
        .filter(grades::Column::SectionId.is_in(ids))
        .group_by(grades::Column::SectionId)
        .into_tuple::<(i64, i64, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(s, n, p)| (s, (n, p.unwrap_or(0))))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, code, tz, te, no, tcode, seq, enrolled)| {
            let (graded, published) = counts.get(&id).copied().unwrap_or((0, 0));
            SectionStatus {
                section_id: id,
                course_code: code,
                title_zh: tz,
                title_en: te,
                section_no: no,
                term_code: tcode,
                term_seq: seq,
                enrolled,
                graded,
                published,
            }
        })
        .collect())
}

/// A section's grade sheet as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionGrades {
    pub section_id: i64,
    pub course_code: String,
    pub section_no: String,
    pub term_code: String,
    pub published_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub scale: Scale,
    pub items: Vec<GradeRow>,
}

/// A section's students with their grades, for its teacher or staff who see every grade; the
/// read is audited.
pub async fn section_grades(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    id: i64,
) -> AppResult<SectionGrades> {
    let s = section_access(db, user, id, Need::View).await?;
    let items = grade_rows(db, &s).await?;
    Entry::new(Some(user.id), "grades.section.read", "section")
        .id(id)
        .detail(json!({"students": items.len()}))
        .write(db)
        .await?;
    Ok(SectionGrades {
        section_id: id,
        course_code: s.course.code,
        section_no: s.model.section_no,
        term_code: s.term.code,
        published_at: s.model.grades_published_at,
        scale: s.scale,
        items,
    })
}

/// An assessment with its section, once the user may see (or enter) the section's grades.
pub async fn assessment_section(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    id: i64,
    need: Need,
) -> AppResult<(crate::entity::assessments::Model, Section)> {
    let a = crate::entity::assessments::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let s = section_access(db, user, a.section_id, need).await?;
    Ok((a, s))
}

/// The statistics of one section's grades (drafts included), for its teacher or staff.
pub async fn section_statistics(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    id: i64,
) -> AppResult<(Section, super::stats::Stats)> {
    let s = section_access(db, user, id, Need::View).await?;
    let scope = super::stats::Scope {
        section: Some(id),
        ..Default::default()
    };
    let st = super::stats::stats(db, &scope).await?;
    Ok((s, st))
}
