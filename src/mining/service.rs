//! Reading runs and flags (scoped to who may see them), staff feedback on flags, and a
//! student's own suggestions. No Rocket types here.

use super::reasons::FlagDetail;
use super::rules::{self, Subject, Suggestion};
pub use super::run::latest_run;
use super::settings;
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{
    courses, departments, enrolments, mining_clusters, mining_runs, risk_flags, sections, students,
    suggestion_rules,
};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{Page, PageReq};
use crate::students::query::{at_risk_condition, at_risk_reach};
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Select, Set,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

pub const FEEDBACK: [&str; 3] = ["useful", "not_useful", "wrong"];
pub const LEVELS: [&str; 3] = ["low", "medium", "high"];
/// The flag list's filters on the active formula's verdict: flagged by it, flagged by it but
/// not by the model, flagged by the model but not by it.
pub const FORMULA_FILTERS: [&str; 3] = ["flagged", "only", "model_only"];

/// Who sees which flags: everyone's with `mining.run` or `students.view_any`; otherwise those
/// of students they advise or teach in the run's term. The rule is the students module's
/// [`at_risk_reach`], which the care list uses too.
pub use crate::students::query::Reach as Scope;

pub fn scope_of(user: &CurrentUser) -> Option<Scope> {
    (user.can(Permission::RunMining)
        || user.can(Permission::ViewAnyStudent)
        || user.can(Permission::ViewMining))
    .then(|| at_risk_reach(user))
}

fn scope_condition(scope: Scope, term_id: Option<i64>) -> Condition {
    at_risk_condition(scope, risk_flags::Column::StudentId, term_id)
}

pub async fn run(db: &impl ConnectionTrait, id: i64) -> AppResult<mining_runs::Model> {
    mining_runs::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub status: crate::entity::job_status::JobStatus,
    pub progress: f64,
    pub message: String,
    pub as_of: String,
    pub term_id: Option<i64>,
    pub model: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The instance that held the run (`host:pid:tag`).
    pub holder: Option<String>,
    /// When and why a run whose instance stopped was marked interrupted.
    pub interrupted_at: Option<String>,
    pub interrupted_reason: Option<String>,
    /// Models against baselines, fairness and clusters (null in the run list).
    pub metrics: Value,
}

pub fn run_row(r: mining_runs::Model, with_metrics: bool) -> RunRow {
    RunRow {
        id: r.id,
        kind: r.kind,
        status: r.status,
        progress: r.progress,
        message: r.message,
        as_of: r.as_of.format("%Y-%m-%d %H:%M").to_string(),
        term_id: r.term_id,
        model: r.model,
        started_at: r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        finished_at: r
            .finished_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        holder: r.holder,
        interrupted_at: r
            .interrupted_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        interrupted_reason: r.interrupted_reason,
        metrics: if with_metrics {
            serde_json::from_str(&r.metrics).unwrap_or(Value::Null)
        } else {
            Value::Null
        },
    }
}

pub async fn runs(db: &impl ConnectionTrait, req: PageReq) -> AppResult<Page<RunRow>> {
    let q = mining_runs::Entity::find().order_by_desc(mining_runs::Column::Id);
    let total = q.clone().count(db).await?;
    let items = q
        .offset((req.page - 1) * req.per_page)
        .limit(req.per_page)
        .all(db)
        .await?
        .into_iter()
        .map(|r| run_row(r, false))
        .collect();
    Ok(Page {
        items,
        total,
        page: req.page,
        per_page: req.per_page,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlagRow {
    pub id: i64,
    pub run_id: i64,
    pub student_id: i64,
    pub student_no: String,
    pub name: String,
    pub department_id: i64,
    pub score: f64,
    pub level: String,
    pub cluster: Option<i64>,
    pub reasons: Vec<String>,
    pub feedback: Option<String>,
    /// The active scoring formula's score and verdict in this run (null when none applied).
    pub formula_score: Option<f64>,
    pub formula_flagged: Option<bool>,
    /// The leaving model's score (0–100), level and reasons (null / empty when the run had none).
    pub leave_score: Option<f64>,
    pub leave_level: Option<String>,
    pub leave_reasons: Vec<String>,
    /// The viewer's own sections (of the run's term) the student is in, so a teacher knows
    /// where to act; empty for those who see every student.
    pub my_sections: Vec<SectionRef>,
    /// The viewer is this student's advisor.
    pub advisee: bool,
}

/// A section as the at-risk list names it: course code, course title in the user's language
/// and section number.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionRef {
    pub section_id: i64,
    pub course_code: String,
    pub course_title: String,
    pub section_no: String,
}

/// For a teacher's list: each listed student's sections of `term` taught by `teacher` (not
/// dropped), and whom of them `teacher` advises.
async fn teacher_context(
    db: &impl ConnectionTrait,
    teacher: i64,
    term: Option<i64>,
    student_ids: &[i64],
    lang: Lang,
) -> AppResult<(HashMap<i64, Vec<SectionRef>>, HashSet<i64>)> {
    let mut q = enrolments::Entity::find()
        .inner_join(sections::Entity)
        .join(JoinType::InnerJoin, sections::Relation::Courses.def())
        .filter(enrolments::Column::StudentId.is_in(student_ids.iter().copied()))
        .filter(enrolments::Column::Status.ne(enrolments::EnrolmentStatus::Dropped.as_str()))
        .filter(sections::Column::TeacherId.eq(teacher));
    if let Some(t) = term {
        q = q.filter(sections::Column::TermId.eq(t));
    }
    let rows: Vec<(i64, i64, String, String, String, String)> = q
        .select_only()
        .column(enrolments::Column::StudentId)
        .column(sections::Column::Id)
        .column(courses::Column::Code)
        .column(courses::Column::TitleZh)
        .column(courses::Column::TitleEn)
        .column(sections::Column::SectionNo)
        .order_by_asc(courses::Column::Code)
        .order_by_asc(sections::Column::SectionNo)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_student: HashMap<i64, Vec<SectionRef>> = HashMap::new();
    for (student, section_id, code, zh, en, no) in rows {
        by_student.entry(student).or_default().push(SectionRef {
            section_id,
            course_code: code,
            course_title: if lang == Lang::Zh { zh } else { en },
            section_no: no,
        });
    }
    let advised: HashSet<i64> = students::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .filter(students::Column::Id.is_in(student_ids.iter().copied()))
        .filter(students::Column::AdvisorId.eq(teacher))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok((by_student, advised))
}

#[derive(Debug, Default, Clone)]
pub struct FlagFilter {
    pub level: Option<String>,
    pub department: Option<i64>,
    /// Only medium and high (the "at-risk list"), unless a formula filter is given.
    pub at_risk_only: bool,
    /// One of `FORMULA_FILTERS`.
    pub formula: Option<String>,
}

/// The ids of one page of `flags`, riskiest first (ties by id). With filters on the run, the
/// level, the feedback and the student only, the index on (run, level, score, feedback,
/// student) answers it alone (`m20261213_000003_risk_flag_list_index`).
pub fn page_ids(flags: Select<risk_flags::Entity>, req: PageReq) -> Select<risk_flags::Entity> {
    flags
        .select_only()
        .column(risk_flags::Column::Id)
        .order_by_desc(risk_flags::Column::Score)
        .order_by_asc(risk_flags::Column::Id)
        .offset((req.page - 1) * req.per_page)
        .limit(req.per_page)
}

/// The flags of a run that `scope` may see, riskiest first.
pub async fn flags(
    db: &impl ConnectionTrait,
    run: &mining_runs::Model,
    scope: Scope,
    f: &FlagFilter,
    req: PageReq,
    lang: Lang,
) -> AppResult<Page<FlagRow>> {
    // NOTE: the filter reads the index on (run, level, score, feedback, student) alone; the
    // page's ids are sorted from it, and only those rows are read whole.
    let mut q = risk_flags::Entity::find()
        .filter(risk_flags::Column::RunId.eq(run.id))
        .filter(scope_condition(scope, run.term_id));
    if let Some(l) = &f.level {
        if !LEVELS.contains(&l.as_str()) {
            return Err(AppError::bad_request(
                "invalid_level",
                "level is low, medium or high",
            ));
        }
        q = q.filter(risk_flags::Column::Level.eq(l.as_str()));
    } else if f.at_risk_only && f.formula.is_none() {
        q = q.filter(risk_flags::Column::Level.is_in(["medium", "high"]));
    }
    match f.formula.as_deref() {
        None => {}
        Some("flagged") => q = q.filter(risk_flags::Column::FormulaFlagged.eq(true)),
        Some("only") => {
            q = q
                .filter(risk_flags::Column::FormulaFlagged.eq(true))
                .filter(risk_flags::Column::Level.eq("low"))
        }
        Some("model_only") => {
            q = q
                .filter(risk_flags::Column::FormulaFlagged.eq(false))
                .filter(risk_flags::Column::Level.ne("low"))
        }
        Some(_) => {
            return Err(AppError::bad_request(
                "bad_formula_filter",
                "formula is flagged, only or model_only",
            ));
        }
    }
    if let Some(d) = f.department {
        q = q.filter(
            risk_flags::Column::StudentId.in_subquery(
                Query::select()
                    .column(students::Column::Id)
                    .from(students::Entity)
                    .and_where(Expr::col(students::Column::DepartmentId).eq(d))
                    .to_owned(),
            ),
        );
    }
    let total = q.clone().count(db).await?;
    let page_ids: Vec<i64> = page_ids(q, req).into_tuple().all(db).await?;
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        id: i64,
        run_id: i64,
        student_id: i64,
        student_no: String,
        name_zh: String,
        name_en: String,
        department_id: i64,
        score: f64,
        level: String,
        cluster: Option<i64>,
        reasons: String,
        feedback: Option<String>,
        formula_score: Option<f64>,
        formula_flagged: Option<bool>,
    }
    let rows: Vec<Row> = risk_flags::Entity::find()
        .inner_join(students::Entity)
        .filter(risk_flags::Column::Id.is_in(page_ids))
        .select_only()
        .column(risk_flags::Column::Id)
        .column(risk_flags::Column::RunId)
        .column(risk_flags::Column::StudentId)
        .column(students::Column::StudentNo)
        .column(students::Column::NameZh)
        .column(students::Column::NameEn)
        .column(students::Column::DepartmentId)
        .column(risk_flags::Column::Score)
        .column(risk_flags::Column::Level)
        .column(risk_flags::Column::Cluster)
        .column(risk_flags::Column::Reasons)
        .column(risk_flags::Column::Feedback)
        .column(risk_flags::Column::FormulaScore)
        .column(risk_flags::Column::FormulaFlagged)
        .order_by_desc(risk_flags::Column::Score)
        .order_by_asc(risk_flags::Column::Id)
        .into_model::<Row>()
        .all(db)
        .await?;
    let (mut my_sections, advised) = match scope {
        Scope::Teacher(uid) => {
            let ids: Vec<i64> = rows.iter().map(|r| r.student_id).collect();
            teacher_context(db, uid, run.term_id, &ids, lang).await?
        }
        Scope::All => Default::default(),
    };
    let items = rows
        .into_iter()
        .map(
            |Row {
                 id,
                 run_id,
                 student_id,
                 student_no,
                 name_zh: zh,
                 name_en: en,
                 department_id: dep,
                 score,
                 level,
                 cluster,
                 reasons,
                 feedback,
                 formula_score,
                 formula_flagged,
             }| {
                let detail: FlagDetail = serde_json::from_str(&reasons).unwrap_or_default();
                let leave = detail.leave.as_ref();
                let (leave_score, leave_level) =
                    (leave.map(|l| l.score), leave.map(|l| l.level.clone()));
                let leave_reasons: Vec<String> = leave
                    .map(|l| {
                        l.factors
                            .iter()
                            .map(|r| {
                                if lang == Lang::Zh {
                                    r.zh.clone()
                                } else {
                                    r.en.clone()
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                FlagRow {
                    id,
                    run_id,
                    student_id,
                    student_no,
                    name: if lang == Lang::Zh { zh } else { en },
                    department_id: dep,
                    score,
                    level,
                    cluster,
                    reasons: detail
                        .factors
                        .into_iter()
                        .map(|r| if lang == Lang::Zh { r.zh } else { r.en })
                        .collect(),
                    feedback,
                    formula_score,
                    formula_flagged,
                    leave_score,
                    leave_level,
                    leave_reasons,
                    my_sections: my_sections.remove(&student_id).unwrap_or_default(),
                    advisee: advised.contains(&student_id),
                }
            },
        )
        .collect();
    Ok(Page {
        items,
        total,
        page: req.page,
        per_page: req.per_page,
    })
}

/// Staff's verdict on a flag (useful / not_useful / wrong), for those who may see the flag;
/// audited, one transaction.
pub async fn feedback(
    db: &DatabaseConnection,
    user: &CurrentUser,
    flag_id: i64,
    value: &str,
) -> AppResult<()> {
    if !FEEDBACK.contains(&value) {
        return Err(AppError::unprocessable(
            "invalid_feedback",
            "feedback is useful, not_useful or wrong",
        ));
    }
    let scope = scope_of(user).ok_or(AppError::Forbidden)?;
    let txn = write_txn(db).await?;
    let flag = risk_flags::Entity::find_by_id(flag_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let run = run(&txn, flag.run_id).await?;
    let visible = risk_flags::Entity::find_by_id(flag_id)
        .inner_join(students::Entity)
        .filter(scope_condition(scope, run.term_id))
        .count(&txn)
        .await?;
    if visible == 0 {
        // NOTE: a flag outside one's scope does not exist for them.
        return Err(AppError::NotFound);
    }
    let before = flag.feedback.clone();
    let student = flag.student_id;
    let mut am: risk_flags::ActiveModel = flag.into();
    am.feedback = Set(Some(value.to_string()));
    am.feedback_by = Set(Some(user.id));
    am.feedback_at = Set(Some(Utc::now().fixed_offset()));
    am.update(&txn).await?;
    Entry::new(Some(user.id), "mining.flag_feedback", "risk_flag")
        .id(flag_id)
        .student(student)
        .change(json!(before), json!(value))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Feedback counts of a run: {useful, not_useful, wrong, none}.
/// How a run's flags were judged by staff.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedbackCounts {
    pub useful: i64,
    pub not_useful: i64,
    pub wrong: i64,
    /// Flags nobody judged yet.
    pub none: i64,
}

pub async fn feedback_counts(db: &impl ConnectionTrait, run_id: i64) -> AppResult<FeedbackCounts> {
    let rows: Vec<(Option<String>, i64)> = risk_flags::Entity::find()
        .select_only()
        .column(risk_flags::Column::Feedback)
        .column_as(risk_flags::Column::Id.count(), "n")
        .filter(risk_flags::Column::RunId.eq(run_id))
        .group_by(risk_flags::Column::Feedback)
        .into_tuple()
        .all(db)
        .await?;
    let mut out = FeedbackCounts::default();
    for (k, n) in rows {
        match k.as_deref() {
            Some("useful") => out.useful = n,
            Some("not_useful") => out.not_useful = n,
            Some("wrong") => out.wrong = n,
            _ => out.none += n,
        }
    }
    Ok(out)
}

pub async fn clusters(db: &impl ConnectionTrait, run_id: i64, lang: Lang) -> AppResult<Vec<Value>> {
    Ok(mining_clusters::Entity::find()
        .filter(mining_clusters::Column::RunId.eq(run_id))
        .order_by_asc(mining_clusters::Column::Label)
        .all(db)
        .await?
        .into_iter()
        .map(|c| {
            let d: Value = serde_json::from_str(&c.description).unwrap_or(Value::Null);
            json!({"label": c.label, "size": c.size, "x": c.x, "y": c.y,
                "centre": serde_json::from_str::<Value>(&c.centre).unwrap_or(Value::Null),
                "description": d[lang.code()].as_str().unwrap_or("")})
        })
        .collect())
}

/// A student's flag in the latest finished run, if they were scored.
pub async fn student_flag(
    db: &impl ConnectionTrait,
    student_id: i64,
) -> AppResult<Option<risk_flags::Model>> {
    let Some(run) = latest_run(db).await? else {
        return Ok(None);
    };
    Ok(risk_flags::Entity::find()
        .filter(risk_flags::Column::RunId.eq(run.id))
        .filter(risk_flags::Column::StudentId.eq(student_id))
        .one(db)
        .await?)
}

pub fn subject(flag: &risk_flags::Model) -> Subject {
    rules::subject_of(&flag.level, &flag.reasons)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MySuggestions {
    pub suggestions: Vec<Suggestion>,
    /// Only when the setting lets students see their level.
    pub level: Option<String>,
    pub score: Option<f64>,
    pub as_of: Option<String>,
}

/// A student's own suggestions (and their level only when the setting allows).
pub async fn my_suggestions(
    db: &impl ConnectionTrait,
    student_id: i64,
    lang: Lang,
) -> AppResult<MySuggestions> {
    let set = settings::get(db).await?;
    let Some(flag) = student_flag(db, student_id).await? else {
        return Ok(MySuggestions {
            suggestions: Vec::new(),
            level: None,
            score: None,
            as_of: None,
        });
    };
    let rules = rules::all(db).await?;
    let run = run(db, flag.run_id).await?;
    Ok(MySuggestions {
        suggestions: rules::suggest(&rules, &subject(&flag), lang == Lang::Zh, 4),
        level: set.students_see_level.then(|| flag.level.clone()),
        score: set.students_see_level.then_some(flag.score),
        as_of: Some(run.as_of.format("%Y-%m-%d").to_string()),
    })
}

pub async fn department_options(db: &impl ConnectionTrait, lang: Lang) -> AppResult<Vec<Value>> {
    Ok(departments::Entity::find()
        .order_by_asc(departments::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|d| json!({"id": d.id, "label": if lang == Lang::Zh { d.name_zh } else { d.name_en }}))
        .collect())
}

/// The rows a formula trial runs on: (department, features, model flagged) of each student
/// scored by a run.
pub async fn trial_rows(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> AppResult<Vec<(i64, Vec<f64>, bool)>> {
    let rows: Vec<(i64, String, String)> = risk_flags::Entity::find()
        .inner_join(students::Entity)
        .select_only()
        .column(students::Column::DepartmentId)
        .column(risk_flags::Column::Reasons)
        .column(risk_flags::Column::Level)
        .filter(risk_flags::Column::RunId.eq(run_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(d, reasons, level)| {
            let detail: FlagDetail = serde_json::from_str(&reasons).unwrap_or_default();
            (d, detail.features, level != "low")
        })
        .collect())
}

/// The latest runs, newest first, for the overview.
pub async fn recent_runs(db: &impl ConnectionTrait, n: u64) -> AppResult<Vec<mining_runs::Model>> {
    Ok(mining_runs::Entity::find()
        .order_by_desc(mining_runs::Column::Id)
        .limit(n)
        .all(db)
        .await?)
}

/// One run with its metrics and its flags' feedback counts (the API's run page).
pub async fn run_detail(db: &impl ConnectionTrait, id: i64) -> AppResult<(RunRow, FeedbackCounts)> {
    let r = run(db, id).await?;
    let feedback = feedback_counts(db, id).await?;
    Ok((run_row(r, true), feedback))
}

/// What a flag list asks for: a run (default: the latest finished one), the filters, the page
/// and the language of the reasons.
#[derive(Debug, Clone)]
pub struct FlagRequest {
    pub run: Option<i64>,
    pub filter: FlagFilter,
    pub page: PageReq,
    pub lang: Lang,
}

/// The flags `user` may see in the run asked for, audited as read; `None` when no run
/// finished yet (and none was named). Refused when the user may not see flags at all.
pub async fn read_flags(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    req: &FlagRequest,
) -> AppResult<Option<(mining_runs::Model, Page<FlagRow>)>> {
    let scope = scope_of(user).ok_or(AppError::Forbidden)?;
    let run = match req.run {
        Some(id) => run(db, id).await?,
        None => match latest_run(db).await? {
            Some(r) => r,
            None => return Ok(None),
        },
    };
    let f = &req.filter;
    let page = flags(db, &run, scope, f, req.page, req.lang).await?;
    Entry::new(Some(user.id), "mining.flags.read", "risk_flag")
        .detail(
            json!({"run": run.id, "level": f.level, "department": f.department,
            "formula": f.formula, "rows": page.items.len()}),
        )
        .write(db)
        .await?;
    Ok(Some((run, page)))
}

/// Every suggestion rule (seeding the built-in ones on first use), most important first, and
/// their matches on the latest finished run (`None` before the first run).
pub async fn rules_with_matches(
    db: &DatabaseConnection,
) -> AppResult<(Vec<suggestion_rules::Model>, Option<rules::Matched>)> {
    rules::ensure_seeded(db).await?;
    let all = rules::all(db).await?;
    let matched = rules::matches_on_latest(db, &all).await?;
    Ok((all, matched))
}

/// Adds a suggestion rule (audited); the stored rule.
pub async fn create_rule(
    db: &DatabaseConnection,
    actor: i64,
    input: &rules::NewRule,
) -> AppResult<suggestion_rules::Model> {
    let id = rules::create(db, actor, input).await?;
    suggestion_rules::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// What a student's 360° page shows of mining: their level (for staff, or for the student when
/// the setting allows), score and reasons for staff only, their suggestions and the run's date.
#[derive(Debug, Clone, Serialize)]
pub struct ProfilePanel {
    pub level: Option<String>,
    pub score: Option<f64>,
    pub reasons: Vec<String>,
    pub suggestions: Vec<Suggestion>,
    pub as_of: String,
}

/// The panel of `student_id` in the latest finished run; `None` when they were not scored.
/// `own`: the viewer is that student (no score or reasons; the level only when allowed).
pub async fn profile_panel(
    db: &impl ConnectionTrait,
    student_id: i64,
    own: bool,
    lang: Lang,
) -> AppResult<Option<ProfilePanel>> {
    let Some(flag) = student_flag(db, student_id).await? else {
        return Ok(None);
    };
    let run = run(db, flag.run_id).await?;
    let zh = lang == Lang::Zh;
    let rules = rules::all(db).await?;
    let suggestions = rules::suggest(&rules, &subject(&flag), zh, 4);
    let show_level = !own || settings::get(db).await?.students_see_level;
    let detail: FlagDetail = serde_json::from_str(&flag.reasons).unwrap_or_default();
    let reasons: Vec<String> = if own {
        Vec::new()
    } else {
        detail
            .factors
            .into_iter()
            .map(|r| if zh { r.zh } else { r.en })
            .collect()
    };
    Ok(Some(ProfilePanel {
        level: show_level.then(|| flag.level.clone()),
        score: (!own).then_some(flag.score),
        reasons,
        suggestions,
        as_of: run.as_of.format("%Y-%m-%d").to_string(),
    }))
}

/// The courses recommended to a student in a term (`spec`: a code or id; the current term when
/// absent).
pub async fn my_recommendations(
    db: &impl ConnectionTrait,
    student_id: i64,
    spec: Option<&str>,
) -> AppResult<(
    crate::entity::terms::Model,
    Vec<super::recommend_store::Recommendation>,
)> {
    let term = crate::courses::service::resolve_term(db, spec)
        .await?
        .ok_or(AppError::NotFound)?;
    let items = super::recommend_store::for_student(db, student_id, &term).await?;
    Ok((term, items))
}
