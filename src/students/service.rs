//! Who may see which student (the scope rules), the record as the API shows it, and every
//! write to a record (each in one transaction, each change kept in the student's history).

use super::forms::{
    FIELDS, FieldError, Lookups, SELF_EDITABLE, StudentInput, field_index, raw_from_map,
    raw_with_changes,
};
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{departments, enrolments, majors, sections, student_history, students};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::prelude::DateTimeWithTimeZone;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Whether `user` may read student `student_id`'s record:
/// - `students.view_any`: every student;
/// - `students.view_scoped`: students they advise, or who are or were in one of their sections;
/// - `record.view_own`: only their own record.
pub async fn can_view(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    student_id: i64,
) -> AppResult<bool> {
    Ok(basis(db, user, student_id).await?.is_some())
}

/// On what grounds a user may read a student's record: the purpose the student is shown in
/// "who has looked at my record".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The student's own record.
    Own,
    /// Their advisor.
    Advisor,
    /// A teacher of one of their sections, now or before.
    Teacher,
    /// Staff who may read every record (the records office, administrators).
    Records,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Own => "own",
            Basis::Advisor => "advisor",
            Basis::Teacher => "teacher",
            Basis::Records => "records",
        }
    }
}

/// The grounds on which `user` may read `student_id`'s record (the closest relation when there
/// are several), or None.
pub async fn basis(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    student_id: i64,
) -> AppResult<Option<Basis>> {
    if user.student_id == Some(student_id) && user.can(Permission::ViewOwnRecord) {
        return Ok(Some(Basis::Own));
    }
    if user.can(Permission::ViewScopedStudents) {
        let advised = students::Entity::find_by_id(student_id)
            .filter(students::Column::AdvisorId.eq(user.id))
            .count(db)
            .await?;
        if advised > 0 {
            return Ok(Some(Basis::Advisor));
        }
        let taught = enrolments::Entity::find()
            .filter(enrolments::Column::StudentId.eq(student_id))
            .inner_join(sections::Entity)
            .filter(sections::Column::TeacherId.eq(user.id))
            .count(db)
            .await?;
        if taught > 0 {
            return Ok(Some(Basis::Teacher));
        }
    }
    Ok(user
        .can(Permission::ViewAnyStudent)
        .then_some(Basis::Records))
}

/// Checks the scope and writes the audit row: a refusal always, a staff read of someone
/// else's record always, with the grounds it was allowed on.
pub async fn authorize_read(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    student_id: i64,
    what: &str,
) -> AppResult<()> {
    let Some(basis) = basis(db, user, student_id).await? else {
        Entry::new(Some(user.id), &format!("{what}.read"), "student")
            .id(student_id)
            .student(student_id)
            .denied()
            .write(db)
            .await?;
        return Err(AppError::Forbidden);
    };
    if basis != Basis::Own {
        Entry::new(Some(user.id), &format!("{what}.read"), "student")
            .id(student_id)
            .student(student_id)
            .detail(json!({ "basis": basis.as_str() }))
            .write(db)
            .await?;
    }
    Ok(())
}

/// One student's record as the API answers it (the national id masked unless the caller may
/// see it in full).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudentView {
    pub id: i64,
    pub student_no: String,
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub gender: String,
    pub department: String,
    pub department_id: i64,
    pub major: String,
    pub major_id: i64,
    pub cohort: i64,
    pub status: crate::entity::students::StudentStatus,
    pub advisor_id: Option<i64>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub national_id: Option<String>,
    pub birth_date: Option<String>,
    pub status_changed_at: String,
    pub lifecycle_stage: super::lifecycle::Stage,
}

pub async fn view(db: &impl ConnectionTrait, student_id: i64) -> AppResult<StudentView> {
    let s = students::Entity::find_by_id(student_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let stage = super::lifecycle::stage_of(db, &s).await?;
    let dept = departments::Entity::find_by_id(s.department_id)
        .select_only()
        .column(departments::Column::NameEn)
        .into_tuple::<String>()
        .one(db)
        .await?;
    let major = majors::Entity::find_by_id(s.major_id)
        .select_only()
        .column(majors::Column::NameEn)
        .into_tuple::<String>()
        .one(db)
        .await?;
    Ok(StudentView {
        id: s.id,
        name: s.name_zh.clone(),
        student_no: s.student_no,
        name_zh: s.name_zh,
        name_en: s.name_en,
        gender: s.gender,
        department: dept.unwrap_or_default(),
        department_id: s.department_id,
        major: major.unwrap_or_default(),
        major_id: s.major_id,
        cohort: s.cohort_year,
        status: s.status,
        advisor_id: s.advisor_id,
        lifecycle_stage: stage,
        email: s.email,
        phone: s.phone,
        address: s.address,
        national_id: s.national_id,
        birth_date: s.birth_date.map(|d| d.to_string()),
        status_changed_at: s.status_changed_at.format("%Y-%m-%d").to_string(),
    })
}

// ---------------------------------------------------------------- writes

/// What one write did to one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Added(i64),
    /// The record and the fields that changed: (field, old, new) in canonical text.
    Updated(i64, Vec<(&'static str, String, String)>),
    Unchanged(i64),
}

impl Outcome {
    pub fn id(&self) -> i64 {
        match self {
            Outcome::Added(id) | Outcome::Updated(id, _) | Outcome::Unchanged(id) => *id,
        }
    }
}

/// Why a write was refused: field errors to show next to the fields.
pub type Refusal = Vec<FieldError>;

/// The history row that records a student's creation (`how`: `created`, `created (import)`).
pub fn created_history(
    student_id: i64,
    at: DateTimeWithTimeZone,
    actor: Option<i64>,
    how: &str,
) -> student_history::ActiveModel {
    student_history::ActiveModel {
        student_id: Set(student_id),
        at: Set(at),
        actor_id: Set(actor),
        field: Set("record".into()),
        old_value: Set(None),
        new_value: Set(Some(how.into())),
        ..Default::default()
    }
}

/// A new student row from validated input.
pub fn new_student_model(input: &StudentInput, now: DateTimeWithTimeZone) -> students::ActiveModel {
    students::ActiveModel {
        user_id: Set(None),
        student_no: Set(input.student_no.clone()),
        national_id: Set(input.national_id.clone()),
        name_zh: Set(input.name_zh.clone()),
        name_en: Set(input.name_en.clone()),
        gender: Set(input.gender.clone()),
        birth_date: Set(input.birth_date),
        phone: Set(input.phone.clone()),
        email: Set(input.email.clone()),
        address: Set(input.address.clone()),
        department_id: Set(input.department_id),
        major_id: Set(input.major_id),
        cohort_year: Set(input.cohort_year),
        status: Set(input.status),
        status_changed_at: Set(now),
        advisor_id: Set(input.advisor_id),
        merged_into_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Writes `input` over `existing` (or adds it), with one history row per changed field.
/// The caller owns the transaction and the audit row.
pub async fn write_record(
    txn: &impl ConnectionTrait,
    actor: Option<i64>,
    existing: Option<&students::Model>,
    input: &StudentInput,
    lookups: &Lookups,
) -> AppResult<Outcome> {
    let now = Utc::now().fixed_offset();
    let Some(old) = existing else {
        let model = new_student_model(input, now).insert(txn).await?;
        created_history(model.id, now, actor, "created")
            .insert(txn)
            .await?;
        return Ok(Outcome::Added(model.id));
    };
    let before = lookups.canonical(old);
    let after = lookups.canonical_input(input);
    let changes: Vec<(&'static str, String, String)> = FIELDS
        .iter()
        .enumerate()
        .filter(|(i, _)| before[*i] != after[*i])
        .map(|(i, (f, _))| (*f, before[i].clone(), after[i].clone()))
        .collect();
    if changes.is_empty() {
        return Ok(Outcome::Unchanged(old.id));
    }
    let mut am: students::ActiveModel = old.clone().into();
    am.student_no = Set(input.student_no.clone());
    am.national_id = Set(input.national_id.clone());
    am.name_zh = Set(input.name_zh.clone());
    am.name_en = Set(input.name_en.clone());
    am.gender = Set(input.gender.clone());
    am.birth_date = Set(input.birth_date);
    am.phone = Set(input.phone.clone());
    am.email = Set(input.email.clone());
    am.address = Set(input.address.clone());
    am.department_id = Set(input.department_id);
    am.major_id = Set(input.major_id);
    am.cohort_year = Set(input.cohort_year);
    am.advisor_id = Set(input.advisor_id);
    if old.status != input.status {
        am.status = Set(input.status);
        am.status_changed_at = Set(now);
    }
    am.updated_at = Set(now);
    am.update(txn).await?;
    student_history::Entity::insert_many(changes.iter().map(|(f, o, n)| {
        student_history::ActiveModel {
            student_id: Set(old.id),
            at: Set(now),
            actor_id: Set(actor),
            field: Set(f.to_string()),
            old_value: Set(Some(o.clone())),
            new_value: Set(Some(n.clone())),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    if old.status != input.status {
        crate::analytics::transitions::record(
            txn,
            &[old.id],
            crate::analytics::transitions::STATUS_CHANGE,
        )
        .await?;
    }
    Ok(Outcome::Updated(old.id, changes))
}

/// A national id or student number that another record already holds.
async fn uniqueness(
    db: &impl ConnectionTrait,
    input: &StudentInput,
    own_id: Option<i64>,
) -> AppResult<Refusal> {
    let mut errors = Vec::new();
    let mut others =
        students::Entity::find().filter(students::Column::StudentNo.eq(&input.student_no));
    if let Some(id) = own_id {
        others = others.filter(students::Column::Id.ne(id));
    }
    if others.count(db).await? > 0 {
        errors.push(FieldError {
            field: "student_no",
            code: "taken",
            message: format!("student number {} already exists", input.student_no),
        });
    }
    if let Some(nid) = &input.national_id {
        let mut q = students::Entity::find().filter(students::Column::NationalId.eq(nid));
        if let Some(id) = own_id {
            q = q.filter(students::Column::Id.ne(id));
        }
        if let Some(other) = q.one(db).await? {
            errors.push(FieldError {
                field: "national_id",
                code: "duplicate_national_id",
                message: format!(
                    "national id belongs to student {}: probably the same person",
                    other.student_no
                ),
            });
        }
    }
    Ok(errors)
}

/// Adds a student (staff). Field errors come back as `Err` inside `Ok`.
pub async fn create(
    db: &DatabaseConnection,
    actor: i64,
    values: &HashMap<String, String>,
) -> AppResult<Result<i64, Refusal>> {
    let lookups = Lookups::load(db).await?;
    let input = match lookups.parse(&raw_from_map(values)) {
        Ok(i) => i,
        Err(e) => return Ok(Err(e)),
    };
    let txn = write_txn(db).await?;
    let errors = uniqueness(&txn, &input, None).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let outcome = write_record(&txn, Some(actor), None, &input, &lookups).await?;
    let id = outcome.id();
    Entry::new(Some(actor), "students.create", "student")
        .id(id)
        .student(id)
        .detail(json!({"student_no": input.student_no}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(Ok(id))
}

/// Changes some fields of a student. `allowed` limits which fields may change (a student
/// editing their own record); other fields in `changes` are refused.
pub async fn update(
    db: &DatabaseConnection,
    actor: i64,
    id: i64,
    changes: &HashMap<String, String>,
    allowed: Option<&[String]>,
) -> AppResult<Result<Outcome, Refusal>> {
    if let Some(allowed) = allowed {
        let refused: Vec<FieldError> = changes
            .keys()
            .filter(|k| !allowed.iter().any(|a| a == *k))
            .filter_map(|k| field_index(k).map(|i| FIELDS[i].0))
            .map(|f| FieldError {
                field: f,
                code: "not_editable",
                message: format!("{f} cannot be changed here"),
            })
            .collect();
        if !refused.is_empty() {
            return Ok(Err(refused));
        }
    }
    let lookups = Lookups::load(db).await?;
    let txn = write_txn(db).await?;
    let current = students::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = match lookups.parse(&raw_with_changes(&lookups.canonical(&current), changes)) {
        Ok(i) => i,
        Err(e) => return Ok(Err(e)),
    };
    let errors = uniqueness(&txn, &input, Some(id)).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let outcome = write_record(&txn, Some(actor), Some(&current), &input, &lookups).await?;
    if let Outcome::Updated(_, fields) = &outcome {
        let old: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(f, o, _)| (f.to_string(), json!(o)))
            .collect();
        let new: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(f, _, n)| (f.to_string(), json!(n)))
            .collect();
        Entry::new(Some(actor), "students.update", "student")
            .id(id)
            .student(id)
            .change(Value::Object(old), Value::Object(new))
            .write(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Ok(outcome))
}

/// Deactivates a student (no hard delete): the status becomes `withdrawn`, kept in history.
pub async fn deactivate(db: &DatabaseConnection, actor: i64, id: i64) -> AppResult<Outcome> {
    let changes = HashMap::from([("status".to_string(), "withdrawn".to_string())]);
    match update(db, actor, id, &changes, None).await? {
        Ok(o) => Ok(o),
        Err(errors) => Err(AppError::unprocessable("invalid_record", describe(&errors))),
    }
}

/// Field errors as one sentence (for the JSON API and the CLI).
pub fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------- history and settings

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryRow {
    pub at: String,
    pub actor: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// A student's change history, newest first.
pub async fn history(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Vec<HistoryRow>> {
    let rows = student_history::Entity::find()
        .filter(student_history::Column::StudentId.eq(student_id))
        .order_by_desc(student_history::Column::At)
        .order_by_desc(student_history::Column::Id)
        .all(db)
        .await?;
    let actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).collect();
    let names = crate::auth::service::display_names(db, actor_ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryRow {
            at: r.at.format("%Y-%m-%d %H:%M").to_string(),
            actor: r
                .actor_id
                .and_then(|a| names.get(&a).cloned())
                .unwrap_or_else(|| "—".into()),
            field: r.field,
            old_value: r.old_value,
            new_value: r.new_value,
        })
        .collect())
}

pub const SELF_EDITABLE_KEY: &str = "students.self_editable_fields";

/// The fields a student may edit on their own record (administrator's choice; default
/// phone, email and address).
pub async fn self_editable_fields(db: &impl ConnectionTrait) -> AppResult<Vec<String>> {
    let stored = crate::settings::get(db, SELF_EDITABLE_KEY).await?;
    let fields = stored
        .and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok())
        .unwrap_or_else(|| vec!["phone".into(), "email".into(), "address".into()]);
    Ok(fields
        .into_iter()
        .filter(|f| SELF_EDITABLE.contains(&f.as_str()))
        .collect())
}

/// Stores the administrator's choice of self-editable fields.
pub async fn set_self_editable_fields(
    db: &DatabaseConnection,
    actor: i64,
    fields: &[String],
) -> AppResult<Vec<String>> {
    let chosen: Vec<String> = SELF_EDITABLE
        .iter()
        .filter(|f| fields.iter().any(|x| x == *f))
        .map(|f| f.to_string())
        .collect();
    let txn = write_txn(db).await?;
    let before = self_editable_fields(&txn).await?;
    crate::settings::put(&txn, SELF_EDITABLE_KEY, json!(chosen).to_string()).await?;
    Entry::new(Some(actor), "settings.update", "setting")
        .id(SELF_EDITABLE_KEY)
        .change(json!(before), json!(chosen))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(chosen)
}

/// One stored record.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> AppResult<students::Model> {
    students::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Checks the caller may list students at all; a refusal is audited.
pub async fn list_scope(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
) -> AppResult<super::query::Scope> {
    match super::query::Scope::of(user) {
        Ok(s) => Ok(s),
        Err(e) => {
            Entry::new(Some(user.id), "students.list", "student")
                .denied()
                .write(db)
                .await?;
            Err(e)
        }
    }
}

/// Writes the audit row of a staff read of a list or export.
pub async fn audit_list(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    action: &str,
    filter: &super::query::StudentFilter,
    rows: usize,
) -> AppResult<()> {
    Entry::new(Some(user.id), action, "student")
        .detail(serde_json::json!({"filter": filter, "rows": rows}))
        .write(db)
        .await
}

/// Whether a user may see a student list at all (menu and dashboards use it too).
pub fn may_list(user: &CurrentUser) -> bool {
    user.can(Permission::ViewAnyStudent) || user.can(Permission::ViewScopedStudents)
}
