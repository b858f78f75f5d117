//! Login accounts for students who have none (after a bulk import, say). An account is created
//! without a password, named by the student number, in the student group, with a one-time
//! activation code that the registrar receives once (letters and a CSV) and hands to the
//! student; the student sets the password at first sign-in (`/login/activate`) with it. No slow
//! hashing happens here, so a whole university's accounts are made in seconds.

use crate::access::permissions::STUDENT_GROUP;
use crate::audit::Entry;
use crate::auth::activation::{self, IssuedCode};
use crate::entity::students::StudentStatus;
use crate::entity::{groups, students, user_groups, users};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait, Set,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct AccountsReport {
    pub created: usize,
    /// Student numbers already used as the user name of another account: left for a person.
    pub name_taken: Vec<String>,
    /// The activation code of each new account: shown this once, never stored in clear.
    pub letters: Vec<Letter>,
}

/// One student's activation letter.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Letter {
    pub student_id: i64,
    /// The account the code activates.
    #[serde(skip)]
    pub user_id: i64,
    pub student_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub email: Option<String>,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Pairs issued codes with their students' records.
async fn letters_for(db: &impl ConnectionTrait, issued: Vec<IssuedCode>) -> AppResult<Vec<Letter>> {
    let mut letters = Vec::with_capacity(issued.len());
    for chunk in issued.chunks(500) {
        let records: HashMap<i64, students::Model> = students::Entity::find()
            .filter(students::Column::UserId.is_in(chunk.iter().map(|c| c.user_id)))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|s| s.user_id.map(|u| (u, s)))
            .collect();
        for c in chunk {
            if let Some(s) = records.get(&c.user_id) {
                letters.push(Letter {
                    student_id: s.id,
                    user_id: c.user_id,
                    student_no: s.student_no.clone(),
                    name_zh: s.name_zh.clone(),
                    name_en: s.name_en.clone(),
                    email: s.email.clone(),
                    code: c.code.clone(),
                    expires_at: c.expires_at,
                });
            }
        }
    }
    letters.sort_by(|a, b| a.student_no.cmp(&b.student_no));
    Ok(letters)
}

/// Issues a new activation code to the given students' accounts that are still waiting for
/// activation (all of them when `student_ids` is `None`); each earlier code stops working.
pub async fn reissue(
    db: &DatabaseConnection,
    actor: Option<i64>,
    student_ids: Option<&[i64]>,
    days: i64,
) -> AppResult<Vec<Letter>> {
    let txn = crate::db::write_txn(db).await?;
    let mut linked = students::Entity::find()
        .select_only()
        .column(students::Column::UserId)
        .filter(students::Column::UserId.is_not_null())
        .filter(students::Column::MergedIntoId.is_null());
    if let Some(ids) = student_ids {
        linked = linked.filter(students::Column::Id.is_in(ids.iter().copied()));
    }
    let linked: Vec<i64> = linked
        .into_tuple::<Option<i64>>()
        .all(&txn)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let mut user_ids = Vec::new();
    for chunk in linked.chunks(500) {
        user_ids.extend(
            users::Entity::find()
                .select_only()
                .column(users::Column::Id)
                .filter(users::Column::Id.is_in(chunk.iter().copied()))
                .filter(users::Column::PasswordHash.eq(""))
                .filter(users::Column::IsActive.eq(true))
                .into_tuple::<i64>()
                .all(&txn)
                .await?,
        );
    }
    let issued = activation::issue(&txn, &user_ids, days).await?;
    let letters = letters_for(&txn, issued).await?;
    Entry::new(actor, "students.activation_codes_issued", "user")
        .detail(serde_json::json!({
            "count": letters.len(),
            "students": letters.iter().map(|l| l.student_id).collect::<Vec<_>>(),
        }))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(letters)
}

/// The current students (not merged, not withdrawn or graduated) that have no account.
fn without_account() -> sea_orm::Select<students::Entity> {
    students::Entity::find()
        .filter(students::Column::UserId.is_null())
        .filter(students::Column::MergedIntoId.is_null())
        .filter(students::Column::Status.is_in([StudentStatus::Active, StudentStatus::Suspended]))
}

/// How many current students have no account yet.
pub async fn missing(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(without_account().count(db).await?)
}

/// How many student accounts are still waiting for activation (no password yet).
pub async fn pending(db: &impl ConnectionTrait) -> AppResult<u64> {
    let linked = students::Entity::find()
        .select_only()
        .column(students::Column::UserId)
        .filter(students::Column::UserId.is_not_null())
        .filter(students::Column::MergedIntoId.is_null())
        .into_query();
    Ok(users::Entity::find()
        .filter(users::Column::PasswordHash.eq(""))
        .filter(users::Column::IsActive.eq(true))
        .filter(users::Column::Id.in_subquery(linked))
        .count(db)
        .await?)
}

/// Creates the missing accounts, with their activation codes, in one transaction.
pub async fn create_missing(
    db: &DatabaseConnection,
    actor: Option<i64>,
    code_days: i64,
) -> AppResult<AccountsReport> {
    let txn = crate::db::write_txn(db).await?;
    let group = groups::Entity::find()
        .filter(groups::Column::Code.eq(STUDENT_GROUP))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("the built-in student group is missing"))?;
    let todo = without_account().all(&txn).await?;
    let mut name_taken = Vec::new();
    let mut created = 0;
    let mut new_users = Vec::new();
    let now = Utc::now().fixed_offset();
    for chunk in todo.chunks(500) {
        let names: Vec<&str> = chunk.iter().map(|s| s.student_no.as_str()).collect();
        let taken: HashSet<String> = users::Entity::find()
            .select_only()
            .column(users::Column::Username)
            .filter(users::Column::Username.is_in(names.clone()))
            .into_tuple::<String>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let fresh: Vec<&students::Model> = chunk
            .iter()
            .filter(|s| !taken.contains(&s.student_no))
            .collect();
        name_taken.extend(taken);
        if fresh.is_empty() {
            continue;
        }
        users::Entity::insert_many(fresh.iter().map(|s| users::ActiveModel {
            username: Set(s.student_no.clone()),
            username_folded: Set(Some(users::fold(&s.student_no))),
            password_hash: Set(String::new()),
            display_name: Set(s.name_zh.clone()),
            email: Set(s.email.clone()),
            kind: Set("student".into()),
            department_id: Set(Some(s.department_id)),
            is_active: Set(true),
            token_version: Set(0),
            locale: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            last_login_at: Set(None),
            ..Default::default()
        }))
        .exec_without_returning(&txn)
        .await?;
        let ids: HashMap<String, i64> = users::Entity::find()
            .select_only()
            .column(users::Column::Username)
            .column(users::Column::Id)
            .filter(users::Column::Username.is_in(fresh.iter().map(|s| s.student_no.as_str())))
            .into_tuple::<(String, i64)>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        user_groups::Entity::insert_many(ids.values().map(|&u| user_groups::ActiveModel {
            user_id: Set(u),
            group_id: Set(group.id),
        }))
        .exec_without_returning(&txn)
        .await?;
        for s in &fresh {
            if let Some(&u) = ids.get(&s.student_no) {
                students::Entity::update_many()
                    .col_expr(students::Column::UserId, sea_orm::sea_query::Expr::value(u))
                    .filter(students::Column::Id.eq(s.id))
                    .exec(&txn)
                    .await?;
                new_users.push(u);
                created += 1;
            }
        }
    }
    name_taken.sort();
    let issued = activation::issue(&txn, &new_users, code_days).await?;
    let letters = letters_for(&txn, issued).await?;
    Entry::new(actor, "students.accounts_created", "user")
        .detail(serde_json::json!({"created": created, "name_taken": name_taken}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(AccountsReport {
        created,
        name_taken,
        letters,
    })
}

/// The letters as a CSV for a mail merge (UTF-8 with a BOM for spreadsheet programs), every
/// cell neutralised against formula injection.
pub fn letters_csv(letters: &[Letter]) -> AppResult<Vec<u8>> {
    use crate::csv_safe::neutralise;
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record([
        "student_no",
        "name_zh",
        "name_en",
        "email",
        "activation_code",
        "expires_at",
    ])
    .map_err(AppError::internal)?;
    for l in letters {
        let expires = l.expires_at.format("%Y-%m-%d").to_string();
        out.write_record([
            neutralise(&l.student_no).as_ref(),
            neutralise(&l.name_zh).as_ref(),
            neutralise(&l.name_en).as_ref(),
            neutralise(l.email.as_deref().unwrap_or("")).as_ref(),
            neutralise(&l.code).as_ref(),
            expires.as_str(),
        ])
        .map_err(AppError::internal)?;
    }
    out.into_inner().map_err(AppError::internal)
}

/// Puts a letter for each student with an e-mail address in the portal's outbox (one
/// transaction). The code is in the e-mail's text only, and only until it is sent (or dies):
/// the sender blanks it then; the audit row names the recipient alone. Answers how many were
/// queued.
pub async fn queue_letters(
    db: &crate::db::Db,
    actor: Option<i64>,
    letters: &[Letter],
) -> AppResult<usize> {
    let txn = crate::db::write_txn(db).await?;
    let mut queued = 0;
    for l in letters {
        let Some(to) = l.email.as_deref().filter(|e| !e.trim().is_empty()) else {
            continue;
        };
        let letter = crate::mail::ActivationLetter {
            user_id: l.user_id,
            to,
            student_no: &l.student_no,
            name_zh: &l.name_zh,
            name_en: &l.name_en,
            code: &l.code,
            expires_at: l.expires_at,
        };
        let id = crate::mail::service::enqueue_activation(&txn, &letter).await?;
        tracing::info!(
            student = l.student_id,
            outbox = id,
            "activation letter queued in the outbox"
        );
        Entry::new(actor, "notifications.email", "student")
            .id(l.student_id)
            .detail(serde_json::json!({"to": to, "outbox": id, "kind": "account.activation"}))
            .write(&txn)
            .await?;
        queued += 1;
    }
    txn.commit().await?;
    Ok(queued)
}

/// The account of a student who signs in through the university for the first time
/// (`SRM_OIDC_CREATE_STUDENTS`): when `student_no` is a current student of the roster without an
/// account, and no account bears that name, one is made as `create_missing` makes them (no
/// password, in the student group), linked to the record and audited, in one transaction.
/// `None` when the roster has no such student.
pub async fn create_at_single_sign_on<C: crate::db::Writable>(
    db: &C,
    student_no: &str,
    ip: &str,
) -> AppResult<Option<i64>> {
    let txn = crate::db::write_txn(db).await?;
    let Some(student) = without_account()
        .filter(students::Column::StudentNo.eq(student_no))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let taken = users::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(users::Column::Username.eq(student_no))
                .add(users::Column::UsernameFolded.eq(users::fold(student_no))),
        )
        .count(&txn)
        .await?;
    if taken > 0 {
        return Ok(None);
    }
    let group = groups::Entity::find()
        .select_only()
        .column(groups::Column::Id)
        .filter(groups::Column::Code.eq(STUDENT_GROUP))
        .into_tuple::<i64>()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("the built-in student group is missing"))?;
    let now = Utc::now().fixed_offset();
    let user_id = users::Entity::insert(users::ActiveModel {
        username: Set(student.student_no.clone()),
        username_folded: Set(Some(users::fold(&student.student_no))),
        password_hash: Set(String::new()),
        display_name: Set(student.name_zh.clone()),
        email: Set(student.email.clone()),
        kind: Set("student".into()),
        department_id: Set(Some(student.department_id)),
        is_active: Set(true),
        token_version: Set(0),
        locale: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
        ..Default::default()
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    user_groups::Entity::insert(user_groups::ActiveModel {
        user_id: Set(user_id),
        group_id: Set(group),
    })
    .exec_without_returning(&txn)
    .await?;
    students::Entity::update_many()
        .col_expr(
            students::Column::UserId,
            sea_orm::sea_query::Expr::value(user_id),
        )
        .filter(students::Column::Id.eq(student.id))
        .filter(students::Column::UserId.is_null())
        .exec(&txn)
        .await?;
    Entry::new(None, "students.account_created", "user")
        .id(user_id)
        .student(student.id)
        .ip(Some(ip.to_string()))
        .detail(serde_json::json!({"via": "sso", "student_no": student.student_no}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(Some(user_id))
}
