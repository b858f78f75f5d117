//! Care for students at risk: the work list of open risk flags (written by the mining module),
//! the interventions staff record, and the effect report.
//!
//! Open flags: the flags of the latest finished (`done`) mining run at level `medium` or
//! `high`, unless staff marked them `wrong`, of the caller's students by the at-risk list's own
//! rule (`students::query::at_risk_reach`), so both lists name the same students.
//!
//! The effect report compares, among students flagged at `medium` or `high` (each student
//! counted once, at their first flag, on date T of that run), those who received care (an
//! intervention dated within W weeks after T) with those who did not. For each student the
//! outcome is the change in their mean assessment score (score / max × 100) from the W weeks
//! before T to the W weeks after T. Only flags whose window has ended are used, and students
//! without scores on both sides are left out (and counted). The report shows both groups'
//! sizes and means, the difference in mean change (care − no care), and the same per risk
//! level, so comparable students (same level) are compared. It is an observational comparison,
//! not a controlled trial. W is the setting `care.window_weeks` (default 6).

pub use super::dto::{
    Comparison, Effect, Group, NewIntervention, ReferralRow, Referred, WorkRow, WorklistQuery,
};
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{
    assessment_scores, assessments, care_referrals, interventions, mining_runs, risk_flags,
    students,
};
use crate::error::{AppError, AppResult};
use crate::interaction::util::{json_setting, now};
use crate::paging::{Page, PageReq};
use crate::students::query::{at_risk_condition, at_risk_reach};
use crate::students::service::can_view;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// The source of a referral from the value matrix.
pub const VALUE_CELL: &str = "value_cell";
pub const KINDS: [&str; 4] = ["meeting", "tutoring", "referral", "message"];
pub const LEVELS: [&str; 2] = ["high", "medium"];
pub const WINDOW_KEY: &str = "care.window_weeks";

/// The condition on `risk_flags.student_id` for the students a staff member cares for in a run
/// of `term`: the same rule as the at-risk list's ([`at_risk_reach`]), so both name the same
/// students (the care list leaves out flags staff marked wrong and low ones).
fn my_students(user: &CurrentUser, term: Option<i64>) -> Condition {
    at_risk_condition(at_risk_reach(user), risk_flags::Column::StudentId, term)
}

/// Reasons as plain sentences, whatever shape the mining module stored them in.
pub fn reasons_text(raw: &str, zh: bool) -> Vec<String> {
    let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    let list = v.get("factors").cloned().unwrap_or(v);
    match list {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o
                    .get(if zh { "zh" } else { "en" })
                    .or_else(|| o.get("text"))
                    .and_then(|t| t.as_str())
                    .map(str::to_string),
                _ => None,
            })
            .take(3)
            .collect(),
        _ => Vec::new(),
    }
}

/// One page of the work list, with the reading audited (it names students at risk).
pub async fn audited_worklist(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    q: &WorklistQuery,
    zh: bool,
) -> AppResult<Page<WorkRow>> {
    let page = worklist(db, user, q, zh).await?;
    Entry::new(Some(user.id), "care.worklist", "risk_flags")
        .detail(json!({"rows": page.items.len(), "total": page.total, "page": page.page}))
        .write(db)
        .await?;
    Ok(page)
}

/// One page of the open flags of the caller's students, highest score first; scoping, counting
/// and paging happen in the database.
pub async fn worklist(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    q: &WorklistQuery,
    zh: bool,
) -> AppResult<Page<WorkRow>> {
    let req = PageReq::new(q.page, q.per_page);
    // NOTE: the at-risk list's run (the latest finished one), so both lists show the same flags.
    let Some(run) = crate::mining::service::latest_run(db).await? else {
        return Ok(Page {
            items: Vec::new(),
            total: 0,
            page: req.page,
            per_page: req.per_page,
        });
    };
    let levels: Vec<&str> = match q.level.as_deref() {
        Some(l) if LEVELS.contains(&l) => vec![l],
        _ => LEVELS.to_vec(),
    };
    let select = risk_flags::Entity::find()
        .filter(risk_flags::Column::RunId.eq(run.id))
        .filter(risk_flags::Column::Level.is_in(levels))
        .filter(
            Condition::any()
                .add(risk_flags::Column::Feedback.is_null())
                .add(risk_flags::Column::Feedback.ne("wrong")),
        )
        .filter(my_students(user, run.term_id));
    let total = select.clone().count(db).await?;
    // NOTE: only the page's flags are read whole.
    let page_ids: Vec<i64> = crate::mining::service::page_ids(select, req)
        .into_tuple()
        .all(db)
        .await?;
    let flags: Vec<risk_flags::Model> = risk_flags::Entity::find()
        .filter(risk_flags::Column::Id.is_in(page_ids))
        .order_by_desc(risk_flags::Column::Score)
        .order_by_asc(risk_flags::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = flags.iter().map(|f| f.student_id).collect();
    let studs: HashMap<i64, students::Model> = students::Entity::find()
        .filter(students::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut care: HashMap<i64, Vec<interventions::Model>> = HashMap::new();
    for i in interventions::Entity::find()
        .filter(interventions::Column::StudentId.is_in(ids))
        .order_by_asc(interventions::Column::HappenedOn)
        .all(db)
        .await?
    {
        care.entry(i.student_id).or_default().push(i);
    }
    let today = now().date_naive();
    let items = flags
        .into_iter()
        .filter_map(|f| {
            let s = studs.get(&f.student_id)?;
            let list = care.get(&f.student_id);
            let last = list.and_then(|l| l.last());
            let follow = list.and_then(|l| l.iter().filter_map(|i| i.follow_up_on).max());
            Some(WorkRow {
                flag_id: f.id,
                student_id: f.student_id,
                student_no: s.student_no.clone(),
                name_zh: s.name_zh.clone(),
                name_en: s.name_en.clone(),
                score: f.score,
                level: f.level.clone(),
                reasons: reasons_text(&f.reasons, zh),
                interventions: list.map_or(0, |l| l.len()),
                last_care: last.map(|i| i.happened_on),
                follow_up_on: follow,
                follow_up_due: follow.is_some_and(|d| d <= today),
            })
        })
        .collect();
    Ok(Page {
        items,
        total,
        page: req.page,
        per_page: req.per_page,
    })
}

fn date(field: &'static str, s: Option<&str>) -> AppResult<Option<NaiveDate>> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                AppError::unprocessable("invalid_date", format!("{field} must be YYYY-MM-DD"))
            }),
    }
}

/// Records what a staff member did for a student in their scope.
pub async fn record(
    db: &DatabaseConnection,
    user: &CurrentUser,
    n: &NewIntervention,
) -> AppResult<interventions::Model> {
    if !user.can(Permission::RecordInterventions) {
        return Err(AppError::Forbidden);
    }
    if students::Entity::find_by_id(n.student_id)
        .one(db)
        .await?
        .is_none()
        || !can_view(db, user, n.student_id).await?
    {
        return Err(AppError::NotFound);
    }
    let kind = n.kind.trim();
    if !KINDS.contains(&kind) {
        return Err(AppError::unprocessable(
            "invalid_kind",
            "kind must be meeting, tutoring, referral or message",
        ));
    }
    let notes = n.notes.trim();
    if notes.chars().count() > 5000 {
        return Err(AppError::unprocessable("invalid", "notes are too long"));
    }
    let happened =
        date("happened_on", n.happened_on.as_deref())?.unwrap_or_else(|| now().date_naive());
    let follow = date("follow_up_on", n.follow_up_on.as_deref())?;
    if follow.is_some_and(|f| f < happened) {
        return Err(AppError::unprocessable(
            "invalid_date",
            "the follow-up cannot be before the intervention",
        ));
    }
    if let Some(fid) = n.flag_id {
        let ok = risk_flags::Entity::find_by_id(fid)
            .one(db)
            .await?
            .is_some_and(|f| f.student_id == n.student_id);
        if !ok {
            return Err(AppError::unprocessable(
                "invalid_flag",
                "no such flag for this student",
            ));
        }
    }
    let outcome = n
        .outcome
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| o.chars().take(500).collect::<String>());
    let txn = write_txn(db).await?;
    let m = interventions::ActiveModel {
        student_id: Set(n.student_id),
        flag_id: Set(n.flag_id),
        staff_id: Set(user.id),
        kind: Set(kind.to_string()),
        notes: Set(notes.to_string()),
        happened_on: Set(happened),
        follow_up_on: Set(follow),
        outcome: Set(outcome),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // Care recorded for a student closes their open referrals.
    let closed = care_referrals::Entity::update_many()
        .col_expr(
            care_referrals::Column::ClosedAt,
            sea_orm::sea_query::Expr::value(now()),
        )
        .filter(care_referrals::Column::StudentId.eq(n.student_id))
        .filter(care_referrals::Column::ClosedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    Entry::new(Some(user.id), "interventions.record", "intervention")
        .id(m.id)
        .student(n.student_id)
        .detail(
            json!({"kind": kind, "happened_on": happened, "follow_up_on": follow,
                       "referrals_closed": closed}),
        )
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(m)
}

/// A group of students handed to care: where it comes from and the strategy it carries.
pub struct Referral<'a> {
    /// `value_cell`.
    pub source: &'a str,
    /// The group's code (the cell).
    pub code: &'a str,
    pub group_zh: &'a str,
    pub group_en: &'a str,
    pub reason_zh: &'a str,
    pub reason_en: &'a str,
}

/// Hands `students` (already scoped by the caller) to care as one group, in one transaction:
/// a referral for each who has no open one for the same group, and one audit entry.
pub async fn refer(
    db: &DatabaseConnection,
    user: &CurrentUser,
    group: &Referral<'_>,
    students: &[i64],
) -> AppResult<Referred> {
    if !user.can(Permission::RecordInterventions) {
        return Err(AppError::Forbidden);
    }
    let txn = write_txn(db).await?;
    let at = now();
    let (mut referred, mut already_open) = (0u64, 0u64);
    for chunk in students.chunks(1000) {
        let open: std::collections::HashSet<i64> = care_referrals::Entity::find()
            .select_only()
            .column(care_referrals::Column::StudentId)
            .filter(care_referrals::Column::StudentId.is_in(chunk.to_vec()))
            .filter(care_referrals::Column::Source.eq(group.source))
            .filter(care_referrals::Column::Code.eq(group.code))
            .filter(care_referrals::Column::ClosedAt.is_null())
            .into_tuple::<i64>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        already_open += open.len() as u64;
        let rows: Vec<care_referrals::ActiveModel> = chunk
            .iter()
            .filter(|id| !open.contains(id))
            .map(|id| care_referrals::ActiveModel {
                student_id: Set(*id),
                source: Set(group.source.to_string()),
                code: Set(group.code.to_string()),
                group_zh: Set(group.group_zh.to_string()),
                group_en: Set(group.group_en.to_string()),
                reason_zh: Set(group.reason_zh.to_string()),
                reason_en: Set(group.reason_en.to_string()),
                referred_by: Set(user.id),
                referred_at: Set(at),
                closed_at: Set(None),
                ..Default::default()
            })
            .collect();
        referred += rows.len() as u64;
        if !rows.is_empty() {
            care_referrals::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await?;
        }
    }
    Entry::new(Some(user.id), "care.refer", "care_referrals")
        .detail(json!({"source": group.source, "code": group.code,
                       "referred": referred, "already_open": already_open}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(Referred {
        referred,
        already_open,
    })
}

/// One page of the open referrals of the caller's students (the work list's scope), oldest
/// first; scoping, counting and paging happen in the database. The read is audited.
pub async fn referrals(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    req: PageReq,
) -> AppResult<Page<ReferralRow>> {
    if !user.can(Permission::RecordInterventions) {
        return Err(AppError::Forbidden);
    }
    let select = care_referrals::Entity::find()
        .filter(care_referrals::Column::ClosedAt.is_null())
        .filter(at_risk_condition(
            at_risk_reach(user),
            care_referrals::Column::StudentId,
            None,
        ));
    let total = select.clone().count(db).await?;
    let rows: Vec<care_referrals::Model> = select
        .order_by_asc(care_referrals::Column::ReferredAt)
        .order_by_asc(care_referrals::Column::Id)
        .offset((req.page - 1) * req.per_page)
        .limit(req.per_page)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.student_id).collect();
    let studs: HashMap<i64, (String, String, String)> = students::Entity::find()
        .select_only()
        .column(students::Column::Id)
        .column(students::Column::StudentNo)
        .column(students::Column::NameZh)
        .column(students::Column::NameEn)
        .filter(students::Column::Id.is_in(ids))
        .into_tuple::<(i64, String, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, no, zh, en)| (id, (no, zh, en)))
        .collect();
    let items: Vec<ReferralRow> = rows
        .into_iter()
        .filter_map(|r| {
            let (no, zh, en) = studs.get(&r.student_id)?.clone();
            Some(ReferralRow {
                id: r.id,
                student_id: r.student_id,
                student_no: no,
                name_zh: zh,
                name_en: en,
                source: r.source,
                code: r.code,
                group_zh: r.group_zh,
                group_en: r.group_en,
                reason_zh: r.reason_zh,
                reason_en: r.reason_en,
                referred_at: r.referred_at,
            })
        })
        .collect();
    Entry::new(Some(user.id), "care.referrals", "care_referrals")
        .detail(json!({"rows": items.len(), "total": total, "page": req.page}))
        .write(db)
        .await?;
    Ok(Page {
        items,
        total,
        page: req.page,
        per_page: req.per_page,
    })
}

pub async fn for_student(
    db: &impl ConnectionTrait,
    student_id: i64,
) -> AppResult<Vec<interventions::Model>> {
    Ok(interventions::Entity::find()
        .filter(interventions::Column::StudentId.eq(student_id))
        .order_by_desc(interventions::Column::HappenedOn)
        .all(db)
        .await?)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn group(rows: &[(f64, f64)]) -> Group {
    if rows.is_empty() {
        return Group::default();
    }
    let n = rows.len() as f64;
    let b = rows.iter().map(|r| r.0).sum::<f64>() / n;
    let a = rows.iter().map(|r| r.1).sum::<f64>() / n;
    Group {
        n: rows.len(),
        mean_before: Some(round2(b)),
        mean_after: Some(round2(a)),
        mean_change: Some(round2(a - b)),
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

pub async fn effect(db: &impl ConnectionTrait) -> AppResult<Effect> {
    let weeks: i64 = json_setting(db, WINDOW_KEY, 6i64).await?.clamp(1, 52);
    let w = Duration::weeks(weeks);
    let runs: HashMap<i64, DateTime<FixedOffset>> = mining_runs::Entity::find()
        .filter(mining_runs::Column::Status.eq("done"))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.as_of))
        .collect();
    // Each student once, at their first flag.
    let mut first: BTreeMap<i64, (DateTime<FixedOffset>, String)> = BTreeMap::new();
    let flags: Vec<(i64, i64, String)> = risk_flags::Entity::find()
        .select_only()
        .columns([
            risk_flags::Column::StudentId,
            risk_flags::Column::RunId,
            risk_flags::Column::Level,
        ])
        .filter(risk_flags::Column::Level.is_in(LEVELS))
        .filter(risk_flags::Column::RunId.is_in(runs.keys().copied().collect::<Vec<_>>()))
        .filter(
            Condition::any()
                .add(risk_flags::Column::Feedback.is_null())
                .add(risk_flags::Column::Feedback.ne("wrong")),
        )
        .into_tuple()
        .all(db)
        .await?;
    for (student, run, level) in flags {
        let Some(t) = runs.get(&run).copied() else {
            continue;
        };
        let e = first.entry(student).or_insert((t, level.clone()));
        if t < e.0 {
            *e = (t, level);
        }
    }
    let flagged = first.len();
    let today = now();
    let mut pending = 0;
    first.retain(|_, (t, _)| {
        let done = *t + w <= today;
        if !done {
            pending += 1;
        }
        done
    });
    let ids: Vec<i64> = first.keys().copied().collect();
    let mut cared: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
    let mut scores: HashMap<i64, Vec<(DateTime<FixedOffset>, f64)>> = HashMap::new();
    // NOTE: only scores due within some student's window are read: from the earliest first
    // flag's window start to the latest one's end, a day wider on each side whatever the
    // offset a time was stored with.
    let day = Duration::days(1);
    let (Some(from), Some(until)) = (
        first.values().map(|f| f.0).min().map(|t| t - w - day),
        first.values().map(|f| f.0).max().map(|t| t + w + day),
    ) else {
        return Ok(Effect {
            window_weeks: weeks,
            flagged,
            excluded_no_scores: 0,
            pending,
            comparisons: compare(&[]),
        });
    };
    for chunk in ids.chunks(2000) {
        let visits: Vec<(i64, NaiveDate)> = interventions::Entity::find()
            .select_only()
            .columns([
                interventions::Column::StudentId,
                interventions::Column::HappenedOn,
            ])
            .filter(interventions::Column::StudentId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        for (student, on) in visits {
            cared.entry(student).or_default().push(on);
        }
        let marks: Vec<(i64, DateTime<FixedOffset>, f64, f64)> = assessment_scores::Entity::find()
            .select_only()
            .column(assessment_scores::Column::StudentId)
            .column(assessments::Column::DueAt)
            .column(assessment_scores::Column::Score)
            .column(assessments::Column::MaxScore)
            .join(
                JoinType::InnerJoin,
                assessment_scores::Relation::Assessments.def(),
            )
            .filter(assessment_scores::Column::StudentId.is_in(chunk.to_vec()))
            .filter(assessment_scores::Column::Score.is_not_null())
            .filter(assessments::Column::MaxScore.gt(0.0))
            .filter(assessments::Column::DueAt.gte(from))
            .filter(assessments::Column::DueAt.lt(until))
            .into_tuple()
            .all(db)
            .await?;
        for (student, due, score, max) in marks {
            scores
                .entry(student)
                .or_default()
                .push((due, score / max * 100.0));
        }
    }
    let mut excluded = 0;
    // (level, cared, before, after)
    let mut rows: Vec<(String, bool, f64, f64)> = Vec::new();
    for (sid, (t, level)) in &first {
        let list = scores.get(sid).map(Vec::as_slice).unwrap_or_default();
        let before: Vec<f64> = list
            .iter()
            .filter(|(d, _)| *d >= *t - w && *d < *t)
            .map(|x| x.1)
            .collect();
        let after: Vec<f64> = list
            .iter()
            .filter(|(d, _)| *d >= *t && *d < *t + w)
            .map(|x| x.1)
            .collect();
        let (Some(b), Some(a)) = (mean(&before), mean(&after)) else {
            excluded += 1;
            continue;
        };
        let start = t.date_naive();
        let end = (*t + w).date_naive();
        let got = cared
            .get(sid)
            .is_some_and(|ds| ds.iter().any(|d| *d >= start && *d < end));
        rows.push((level.clone(), got, b, a));
    }
    Ok(Effect {
        window_weeks: weeks,
        flagged,
        excluded_no_scores: excluded,
        pending,
        comparisons: compare(&rows),
    })
}

/// The comparisons of every level and of each level that has students, from (level, cared,
/// mean before, mean after) rows.
fn compare(rows: &[(String, bool, f64, f64)]) -> Vec<Comparison> {
    let mut comparisons = Vec::new();
    for level in ["all", "high", "medium"] {
        let pick = |care: bool| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| (level == "all" || r.0 == level) && r.1 == care)
                .map(|r| (r.2, r.3))
                .collect()
        };
        let (c, nc) = (group(&pick(true)), group(&pick(false)));
        if c.n + nc.n == 0 && level != "all" {
            continue;
        }
        let difference = match (c.mean_change, nc.mean_change) {
            (Some(a), Some(b)) => Some(round2(a - b)),
            _ => None,
        };
        comparisons.push(Comparison {
            level: level.to_string(),
            care: c,
            no_care: nc,
            difference,
        });
    }
    comparisons
}
