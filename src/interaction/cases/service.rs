//! Cases (inquiries, complaints, suggestions): opening, routing to a queue, the handling steps
//! (take, reply, reassign, close), the status history with its timings, and the rating.
//!
//! Routing is data: the setting `cases.routing` holds a JSON list of rules, the first match
//! wins (see [`Rule`] and [`DEFAULT_ROUTING`]). Queue membership is data too: the setting
//! `cases.queues` maps a queue name to the user ids that work it; a holder of `cases.handle`
//! listed in no queue works every queue (a supervisor).

use super::dto::{Action, CaseRow, CaseView, NewCase, ReportRow, Step};
use crate::access::{Permission, service::user_permissions};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::{is_unique_violation, write_txn};
use crate::entity::cases::CaseStatus;
use crate::entity::{case_events, case_ratings, cases, courses, departments};
use crate::error::{AppError, AppResult};
use crate::interaction::util::{hours, json_setting, now, text};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

pub const CATEGORIES: [&str; 3] = ["inquiry", "complaint", "suggestion"];
pub const ABOUTS: [&str; 4] = ["course", "teacher", "service", "other"];
pub const STATUSES: [CaseStatus; 4] = [
    CaseStatus::Open,
    CaseStatus::InProgress,
    CaseStatus::Answered,
    CaseStatus::Closed,
];

/// One routing rule. `category`: a category or `*`. `department`: `*` (anything), `any` (the
/// case has a department), `none` (it has none) or a department id. `queue` may contain
/// `{department}`, replaced by the case's department id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub category: String,
    pub department: String,
    pub queue: String,
}

/// Used when `cases.routing` is not set: complaints go to one central queue, everything about
/// a department to that department's queue, the rest to student services.
pub const DEFAULT_ROUTING: &str = r#"[
  {"category": "complaint", "department": "*", "queue": "complaints"},
  {"category": "*", "department": "any", "queue": "dept-{department}"},
  {"category": "*", "department": "*", "queue": "student-services"}
]"#;

pub const ROUTING_KEY: &str = "cases.routing";
pub const QUEUES_KEY: &str = "cases.queues";
pub const SLA_KEY: &str = "cases.sla_hours";

pub async fn routing(db: &impl ConnectionTrait) -> AppResult<Vec<Rule>> {
    let default: Vec<Rule> = serde_json::from_str(DEFAULT_ROUTING).unwrap_or_default();
    json_setting(db, ROUTING_KEY, default).await
}

/// The queue a case goes to.
pub fn route(rules: &[Rule], category: &str, department: Option<i64>) -> String {
    for r in rules {
        let cat_ok = r.category == "*" || r.category == category;
        let dept_ok = match (r.department.as_str(), department) {
            ("*", _) => true,
            ("any", d) => d.is_some(),
            ("none", d) => d.is_none(),
            (id, Some(d)) => id.parse::<i64>().ok() == Some(d),
            (_, None) => false,
        };
        if cat_ok && dept_ok {
            let dept = department.map(|d| d.to_string()).unwrap_or_default();
            return r.queue.replace("{department}", &dept);
        }
    }
    "student-services".to_string()
}

/// Who works which queue.
pub struct Queues(HashMap<String, Vec<i64>>);

impl Queues {
    pub async fn load(db: &impl ConnectionTrait) -> AppResult<Queues> {
        Ok(Queues(json_setting(db, QUEUES_KEY, HashMap::new()).await?))
    }

    /// Whether a holder of `cases.handle` works `queue`.
    pub fn works(&self, user_id: i64, queue: &str) -> bool {
        match self.0.get(queue) {
            Some(members) if members.contains(&user_id) => true,
            _ => !self.0.values().any(|m| m.contains(&user_id)),
        }
    }

    /// The queues a user is limited to, or `None` for every queue.
    pub fn limited_to(&self, user_id: i64) -> Option<Vec<String>> {
        let mine: Vec<String> = self
            .0
            .iter()
            .filter(|(_, m)| m.contains(&user_id))
            .map(|(q, _)| q.clone())
            .collect();
        if mine.is_empty() { None } else { Some(mine) }
    }
}

pub fn is_handler(user: &CurrentUser, queues: &Queues, queue: &str) -> bool {
    user.can(Permission::HandleCases) && queues.works(user.id, queue)
}

fn check_category(c: &str) -> AppResult<String> {
    if CATEGORIES.contains(&c) {
        Ok(c.to_string())
    } else {
        Err(AppError::unprocessable(
            "invalid_category",
            "category must be inquiry, complaint or suggestion",
        ))
    }
}

/// Opens a case for the caller's own student record.
pub async fn open(
    db: &DatabaseConnection,
    user: &CurrentUser,
    input: &NewCase,
) -> AppResult<cases::Model> {
    let Some(student_id) = user.student_id else {
        return Err(AppError::Forbidden);
    };
    let category = check_category(input.category.trim())?;
    let subject = text("subject", &input.subject, 200)?;
    let body = text("body", &input.body, 5000)?;
    let about = match input.about.as_deref().map(str::trim) {
        None | Some("") => "other".to_string(),
        Some(a) if ABOUTS.contains(&a) => a.to_string(),
        Some(_) => {
            return Err(AppError::unprocessable(
                "invalid_about",
                "about must be course, teacher, service or other",
            ));
        }
    };
    let mut department = None;
    if let Some(d) = input.department_id {
        if departments::Entity::find_by_id(d).one(db).await?.is_none() {
            return Err(AppError::unprocessable(
                "invalid_department",
                "no such department",
            ));
        }
        department = Some(d);
    }
    if let Some(c) = input.course_id {
        let course = courses::Entity::find_by_id(c)
            .one(db)
            .await?
            .ok_or_else(|| AppError::unprocessable("invalid_course", "no such course"))?;
        department = department.or(Some(course.department_id));
    }
    let queue = route(&routing(db).await?, &category, department);
    let sla: i64 = json_setting(db, SLA_KEY, 72).await?;
    let at = now();
    let txn = write_txn(db).await?;
    let case = cases::ActiveModel {
        student_id: Set(student_id),
        category: Set(category.clone()),
        topic: Set(about),
        subject: Set(subject),
        body: Set(body),
        department_id: Set(department),
        queue: Set(queue.clone()),
        status: Set(CaseStatus::Open),
        assigned_to: Set(None),
        created_at: Set(at),
        due_at: Set(at + chrono::Duration::hours(sla.clamp(1, 24 * 60))),
        first_response_at: Set(None),
        closed_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    event(&txn, case.id, Some(user.id), "opened", "", CaseStatus::Open).await?;
    Entry::new(Some(user.id), "cases.open", "case")
        .id(case.id)
        .student(student_id)
        .detail(json!({"category": category, "queue": queue}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(case)
}

async fn event(
    db: &impl ConnectionTrait,
    case_id: i64,
    author: Option<i64>,
    kind: &str,
    body: &str,
    status: CaseStatus,
) -> AppResult<()> {
    case_events::ActiveModel {
        case_id: Set(case_id),
        author_id: Set(author),
        kind: Set(kind.to_string()),
        body: Set(body.to_string()),
        status: Set(status),
        at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The case if the caller may see it (its student, or someone who works its queue); otherwise
/// `NotFound`, so its existence is not revealed.
pub async fn visible(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    id: i64,
) -> AppResult<(cases::Model, bool)> {
    let case = cases::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let queues = Queues::load(db).await?;
    let handler = is_handler(user, &queues, &case.queue);
    if handler || user.student_id == Some(case.student_id) {
        Ok((case, handler))
    } else {
        Err(AppError::NotFound)
    }
}

pub fn overdue(c: &cases::Model) -> bool {
    c.status != CaseStatus::Closed && now() > c.due_at
}

pub async fn view(db: &impl ConnectionTrait, user: &CurrentUser, id: i64) -> AppResult<CaseView> {
    let (case, handler) = visible(db, user, id).await?;
    let events = case_events::Entity::find()
        .filter(case_events::Column::CaseId.eq(id))
        .order_by_asc(case_events::Column::Id)
        .all(db)
        .await?;
    let rating = case_ratings::Entity::find_by_id(id).one(db).await?;
    if handler && user.student_id != Some(case.student_id) {
        Entry::new(Some(user.id), "cases.read", "case")
            .id(id)
            .student(case.student_id)
            .detail(serde_json::json!({ "basis": "case" }))
            .write(db)
            .await?;
    }
    Ok(CaseView {
        overdue: overdue(&case),
        hours_to_first_answer: case.first_response_at.map(|t| hours(case.created_at, t)),
        hours_to_close: case.closed_at.map(|t| hours(case.created_at, t)),
        can_rate: user.student_id == Some(case.student_id)
            && case.status == CaseStatus::Closed
            && rating.is_none(),
        can_handle: handler,
        events,
        rating,
        case,
    })
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListFilter {
    pub status: Option<String>,
    /// `mine`: the caller's own cases even when they handle queues.
    pub view: Option<String>,
}

/// A page of the caller's cases, newest first, counted and paged in the database.
pub async fn list_page(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    f: &ListFilter,
    req: crate::paging::PageReq,
) -> AppResult<crate::paging::Page<CaseRow>> {
    let empty = |req: crate::paging::PageReq| crate::paging::Page {
        items: Vec::new(),
        total: 0,
        page: req.page,
        per_page: req.per_page,
    };
    let Some(cond) = list_condition(db, user, f).await? else {
        return Ok(empty(req));
    };
    let total = cases::Entity::find().filter(cond.clone()).count(db).await?;
    let rows = cases::Entity::find()
        .filter(cond)
        .order_by_desc(cases::Column::Id)
        .offset((req.page - 1) * req.per_page)
        .limit(req.per_page)
        .all(db)
        .await?;
    Ok(crate::paging::Page {
        items: rows
            .into_iter()
            .map(|c| CaseRow {
                overdue: overdue(&c),
                case: c,
            })
            .collect(),
        total,
        page: req.page,
        per_page: req.per_page,
    })
}

/// Which cases the caller sees: a student's own; a handler's queues (all, or the ones they
/// work); `None` when the filter matches nothing (an unknown status, own cases of a user who
/// is no student).
async fn list_condition(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    f: &ListFilter,
) -> AppResult<Option<Condition>> {
    let mut cond = Condition::all();
    let own = f.view.as_deref() == Some("mine") || !user.can(Permission::HandleCases);
    if own {
        let Some(sid) = user.student_id else {
            return Ok(None);
        };
        cond = cond.add(cases::Column::StudentId.eq(sid));
    } else if let Some(qs) = Queues::load(db).await?.limited_to(user.id) {
        cond = cond.add(cases::Column::Queue.is_in(qs));
    }
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        if s == "active" {
            cond = cond.add(cases::Column::Status.ne(CaseStatus::Closed));
        } else if let Some(status) = CaseStatus::parse(s) {
            cond = cond.add(cases::Column::Status.eq(status));
        } else {
            return Ok(None);
        }
    }
    Ok(Some(cond))
}

async fn locked(db: &impl ConnectionTrait, id: i64) -> AppResult<cases::Model> {
    let mut q = cases::Entity::find_by_id(id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await?.ok_or(AppError::NotFound)
}

fn closed_conflict() -> AppError {
    AppError::conflict("case_closed", "the case is closed")
}

/// Applies one step, then answers the case as the caller now sees it, or (after a
/// reassignment took it out of their sight) its bare new state.
pub async fn act_and_view(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: i64,
    a: &Action,
) -> AppResult<Result<CaseView, cases::Model>> {
    let case = act(db, user, id, a).await?;
    match view(db, user, id).await {
        Ok(v) => Ok(Ok(v)),
        Err(AppError::NotFound) => Ok(Err(case)),
        Err(e) => Err(e),
    }
}

/// Applies one step in one transaction; returns the case's new state.
pub async fn act(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: i64,
    a: &Action,
) -> AppResult<cases::Model> {
    let queues = Queues::load(db).await?;
    let txn = write_txn(db).await?;
    let case = locked(&txn, id).await?;
    let handler = is_handler(user, &queues, &case.queue);
    let owner = user.student_id == Some(case.student_id);
    if !handler && !owner {
        return Err(AppError::NotFound);
    }
    let old_status = case.status;
    let mut m = case.clone().into_active_model();
    let at = now();
    let mut detail = json!({});
    let status = match a.action {
        Step::Take if handler => {
            if case.status == CaseStatus::Closed {
                return Err(closed_conflict());
            }
            m.assigned_to = Set(Some(user.id));
            event(&txn, id, Some(user.id), "taken", "", CaseStatus::InProgress).await?;
            CaseStatus::InProgress
        }
        Step::Reply => {
            if case.status == CaseStatus::Closed {
                return Err(closed_conflict());
            }
            let body = text("body", &a.body, 5000)?;
            let new = if handler && !owner {
                CaseStatus::Answered
            } else {
                CaseStatus::Open
            };
            if new == CaseStatus::Answered && case.first_response_at.is_none() {
                m.first_response_at = Set(Some(at));
            }
            event(&txn, id, Some(user.id), "reply", &body, new).await?;
            if new == CaseStatus::Answered {
                crate::interaction::messages::notify::notify_student(
                    &txn,
                    case.student_id,
                    "case.reply",
                    &format!("#{} {}", case.id, case.subject),
                    &body,
                    &format!("/cases/{}", case.id),
                )
                .await?;
            }
            new
        }
        Step::Reassign if handler => {
            if case.status == CaseStatus::Closed {
                return Err(closed_conflict());
            }
            let queue = a.queue.as_deref().map(str::trim).unwrap_or_default();
            if queue.is_empty()
                || queue.len() > 60
                || !queue
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(AppError::unprocessable(
                    "invalid_queue",
                    "queue must be letters, digits, - or _",
                ));
            }
            if let Some(to) = a.assigned_to {
                let perms = user_permissions(&txn, to).await?;
                if !perms.contains(&Permission::HandleCases) || !queues.works(to, queue) {
                    return Err(AppError::unprocessable(
                        "invalid_assignee",
                        "that person does not work this queue",
                    ));
                }
            }
            m.queue = Set(queue.to_string());
            m.assigned_to = Set(a.assigned_to);
            detail = json!({"from": case.queue, "to": queue, "assigned_to": a.assigned_to});
            event(
                &txn,
                id,
                Some(user.id),
                "reassigned",
                &format!("{} → {queue}", case.queue),
                CaseStatus::Open,
            )
            .await?;
            CaseStatus::Open
        }
        Step::Close if handler => {
            if case.status == CaseStatus::Closed {
                return Err(closed_conflict());
            }
            let note = a.body.trim();
            if note.chars().count() > 5000 {
                return Err(AppError::unprocessable("invalid", "body is too long"));
            }
            m.closed_at = Set(Some(at));
            event(&txn, id, Some(user.id), "closed", note, CaseStatus::Closed).await?;
            crate::interaction::messages::notify::notify_student(
                &txn,
                case.student_id,
                "case.closed",
                &format!("#{} {}", case.id, case.subject),
                note,
                &format!("/cases/{}", case.id),
            )
            .await?;
            CaseStatus::Closed
        }
        Step::Rate if owner => {
            if case.status != CaseStatus::Closed {
                return Err(AppError::conflict(
                    "case_not_closed",
                    "a case can be rated once it is closed",
                ));
            }
            let rating = a.rating.filter(|r| (1..=5).contains(r)).ok_or_else(|| {
                AppError::unprocessable("invalid_rating", "rating must be 1 to 5")
            })?;
            let comment = a.comment.trim();
            if comment.chars().count() > 2000 {
                return Err(AppError::unprocessable("invalid", "comment is too long"));
            }
            let res = case_ratings::ActiveModel {
                case_id: Set(id),
                rating: Set(rating),
                comment: Set(comment.to_string()),
                at: Set(at),
            }
            .insert(&txn)
            .await;
            match res {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(AppError::conflict(
                        "already_rated",
                        "this case has already been rated",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            if case_ratings::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .is_none()
            {
                return Err(AppError::internal("rating not stored"));
            }
            detail = json!({"rating": rating});
            CaseStatus::Closed
        }
        Step::Take | Step::Reassign | Step::Close | Step::Rate => {
            return Err(AppError::Forbidden);
        }
    };
    m.status = Set(status);
    let updated = m.update(&txn).await?;
    Entry::new(
        Some(user.id),
        &format!("cases.{}", a.action.as_str()),
        "case",
    )
    .id(id)
    .student(case.student_id)
    .detail(json!({"old": old_status, "new": status, "detail": detail}))
    .write(&txn)
    .await?;
    txn.commit().await?;
    Ok(updated)
}

fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        None
    } else {
        Some((v.iter().sum::<f64>() / v.len() as f64 * 10.0).round() / 10.0)
    }
}

/// Volumes, response times and the most common topics per department and month (of opening).
pub async fn report(db: &impl ConnectionTrait) -> AppResult<Vec<ReportRow>> {
    let all = cases::Entity::find()
        .order_by_asc(cases::Column::CreatedAt)
        .all(db)
        .await?;
    let ratings: HashMap<i64, i64> = case_ratings::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.case_id, r.rating))
        .collect();
    type Acc = (Vec<cases::Model>,);
    let mut groups: Vec<((Option<i64>, String), Acc)> = Vec::new();
    for c in all {
        let key = (c.department_id, c.created_at.format("%Y-%m").to_string());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, acc)) => acc.0.push(c),
            None => groups.push((key, (vec![c],))),
        }
    }
    let mut out = Vec::new();
    for ((dept, month), (list,)) in groups {
        let first: Vec<f64> = list
            .iter()
            .filter_map(|c| c.first_response_at.map(|t| hours(c.created_at, t)))
            .collect();
        let close: Vec<f64> = list
            .iter()
            .filter_map(|c| c.closed_at.map(|t| hours(c.created_at, t)))
            .collect();
        let rated: Vec<f64> = list
            .iter()
            .filter_map(|c| ratings.get(&c.id).map(|r| *r as f64))
            .collect();
        let mut topics: HashMap<String, u64> = HashMap::new();
        for c in &list {
            *topics
                .entry(format!("{}/{}", c.category, c.topic))
                .or_default() += 1;
        }
        let mut top: Vec<(String, u64)> = topics.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(3);
        out.push(ReportRow {
            department_id: dept,
            month,
            opened: list.len() as u64,
            closed: list
                .iter()
                .filter(|c| c.status == CaseStatus::Closed)
                .count() as u64,
            overdue: list.iter().filter(|c| overdue(c)).count() as u64,
            mean_hours_to_first_answer: mean(&first),
            mean_hours_to_close: mean(&close),
            mean_rating: mean(&rated),
            top_topics: top,
        });
    }
    Ok(out)
}

/// Ratings a student gave, for the 360° view: (count, mean).
pub async fn student_ratings(
    db: &impl ConnectionTrait,
    student_id: i64,
) -> AppResult<(Vec<cases::Model>, Vec<case_ratings::Model>)> {
    let list = cases::Entity::find()
        .filter(cases::Column::StudentId.eq(student_id))
        .order_by_desc(cases::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = list.iter().map(|c| c.id).collect();
    let ratings = case_ratings::Entity::find()
        .filter(case_ratings::Column::CaseId.is_in(ids))
        .all(db)
        .await?;
    Ok((list, ratings))
}

/// The courses a student holds or held (not dropped), as `{id, label}` for the case form.
pub async fn student_courses(
    db: &impl ConnectionTrait,
    student_id: i64,
    zh: bool,
) -> AppResult<Vec<serde_json::Value>> {
    use crate::entity::{enrolments, sections};
    let course_ids: Vec<i64> = sections::Entity::find()
        .inner_join(enrolments::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.ne("dropped"))
        .select_only()
        .column(sections::Column::CourseId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(courses::Entity::find()
        .filter(courses::Column::Id.is_in(course_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| {
            let title = if zh { c.title_zh } else { c.title_en };
            json!({"id": c.id, "label": format!("{} {title}", c.code)})
        })
        .collect())
}
