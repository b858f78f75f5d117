//! Login accounts for students who have none (after a bulk import, say). An account is created
//! without a password, named by the student number, in the student group; the student sets the
//! password at first sign-in (`/login/activate`), proving who they are. No hashing happens here,
//! so a whole university's accounts are made in seconds.

use crate::access::permissions::STUDENT_GROUP;
use crate::audit::Entry;
use crate::entity::{groups, students, user_groups, users};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct AccountsReport {
    pub created: usize,
    /// Student numbers already used as the user name of another account: left for a person.
    pub name_taken: Vec<String>,
}

/// The current students (not merged, not withdrawn or graduated) that have no account.
fn without_account() -> sea_orm::Select<students::Entity> {
    students::Entity::find()
        .filter(students::Column::UserId.is_null())
        .filter(students::Column::MergedIntoId.is_null())
        .filter(students::Column::Status.is_in(["active", "suspended"]))
}

/// How many current students have no account yet.
pub async fn missing(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(without_account().count(db).await?)
}

/// Creates the missing accounts in one transaction.
pub async fn create_missing(
    db: &DatabaseConnection,
    actor: Option<i64>,
) -> AppResult<AccountsReport> {
    let txn = crate::db::write_txn(db).await?;
    let group = groups::Entity::find()
        .filter(groups::Column::Code.eq(STUDENT_GROUP))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Internal("the built-in student group is missing".into()))?;
    let todo = without_account().all(&txn).await?;
    let mut name_taken = Vec::new();
    let mut created = 0;
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
                created += 1;
            }
        }
    }
    name_taken.sort();
    Entry::new(actor, "students.accounts_created", "user")
        .detail(serde_json::json!({"created": created, "name_taken": name_taken}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(AccountsReport {
        created,
        name_taken,
    })
}
