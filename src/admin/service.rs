//! Accounts as an administrator sees them: create, list, disable, reset, put in groups; and
//! the audit log query.

use crate::access::service::{set_user_groups, user_group_codes};
use crate::auth::password::{self, HashCost};
use crate::entity::{audit_log, user_groups, users};
use crate::error::{AppError, AppResult};
use crate::paging::{Page, PageReq};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use serde::Serialize;

pub const USER_KINDS: [&str; 4] = ["student", "teacher", "admin", "staff"];

/// A validated new account.
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub kind: String,
    pub groups: Vec<String>,
}

impl NewUser {
    pub fn parse(
        username: &str,
        display_name: &str,
        email: Option<&str>,
        kind: &str,
        groups: Vec<String>,
    ) -> AppResult<Self> {
        let username = username.trim().to_string();
        if username.is_empty()
            || username.len() > 64
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(AppError::unprocessable(
                "invalid_username",
                "the user name must be 1-64 letters, digits, '.', '_' or '-'",
            ));
        }
        let display_name = display_name.trim().to_string();
        if crate::auth::username::has_invisible(&display_name) {
            return Err(AppError::unprocessable(
                "invisible_characters",
                "the name contains an invisible or control character (such as a zero-width space); type it again without it",
            ));
        }
        if display_name.is_empty() || display_name.chars().count() > 100 {
            return Err(AppError::unprocessable(
                "invalid_display_name",
                "the display name must be 1-100 characters",
            ));
        }
        let email = email
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string);
        if email
            .as_ref()
            .is_some_and(|e| !e.contains('@') || e.len() > 200)
        {
            return Err(AppError::unprocessable(
                "invalid_email",
                "the e-mail address is not valid",
            ));
        }
        if !USER_KINDS.contains(&kind) {
            return Err(AppError::unprocessable(
                "invalid_kind",
                "the kind must be student, teacher, admin or staff",
            ));
        }
        Ok(NewUser {
            username,
            display_name,
            email,
            kind: kind.to_string(),
            groups,
        })
    }
}

/// Creates an account with an already computed password hash (the seed shares one hash).
pub async fn create_user_with_hash<C: crate::db::Writable>(
    db: &C,
    new: &NewUser,
    password_hash: String,
) -> AppResult<i64> {
    let now = Utc::now().fixed_offset();
    let user = users::ActiveModel {
        username: Set(new.username.clone()),
        password_hash: Set(password_hash),
        display_name: Set(new.display_name.clone()),
        email: Set(new.email.clone()),
        kind: Set(new.kind.clone()),
        department_id: Set(None),
        is_active: Set(true),
        token_version: Set(0),
        locale: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::conflict(
                "duplicate_username",
                "this user name is already taken (names differing only in case or width count as the same)",
            )
        } else {
            e.into()
        }
    })?;
    if !new.groups.is_empty() {
        set_user_groups(db, user.id, &new.groups).await?;
    }
    Ok(user.id)
}

/// Creates an account, hashing the password off the request threads.
pub async fn create_user(
    db: &DatabaseConnection,
    cost: HashCost,
    new: &NewUser,
    password_text: &str,
) -> AppResult<i64> {
    if let Err(code) = password::validate_new(password_text) {
        return Err(AppError::unprocessable(
            code,
            crate::auth::service::state_message(code),
        ));
    }
    let hash = password::hash(password_text.to_string(), cost).await?;
    let txn = crate::db::write_txn(db).await?;
    let id = create_user_with_hash(&txn, new, hash).await?;
    txn.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub kind: String,
    pub is_active: bool,
    pub groups: Vec<String>,
    pub last_login_at: Option<DateTime<Utc>>,
}

async fn row(db: &impl ConnectionTrait, u: users::Model) -> AppResult<UserRow> {
    Ok(UserRow {
        groups: user_group_codes(db, u.id).await?,
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        email: u.email,
        kind: u.kind,
        is_active: u.is_active,
        last_login_at: u.last_login_at.map(|t| t.with_timezone(&Utc)),
    })
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub q: Option<String>,
    pub kind: Option<String>,
    pub group_id: Option<i64>,
}

pub async fn list_users(
    db: &impl ConnectionTrait,
    f: &UserFilter,
    p: PageReq,
) -> AppResult<Page<UserRow>> {
    let mut query = users::Entity::find();
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(
            Condition::any()
                .add(users::Column::Username.contains(q))
                .add(users::Column::DisplayName.contains(q)),
        );
    }
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        query = query.filter(users::Column::Kind.eq(k));
    }
    if let Some(g) = f.group_id {
        let ids: Vec<i64> = user_groups::Entity::find()
            .filter(user_groups::Column::GroupId.eq(g))
            .select_only()
            .column(user_groups::Column::UserId)
            .into_tuple()
            .all(db)
            .await?;
        query = query.filter(users::Column::Id.is_in(ids));
    }
    let total = query.clone().count(db).await?;
    let models = query
        .order_by_asc(users::Column::Id)
        .offset((p.page - 1) * p.per_page)
        .limit(p.per_page)
        .all(db)
        .await?;
    let mut items = Vec::with_capacity(models.len());
    for m in models {
        items.push(row(db, m).await?);
    }
    Ok(Page {
        items,
        total,
        page: p.page,
        per_page: p.per_page,
    })
}

pub async fn get_user(db: &impl ConnectionTrait, id: i64) -> AppResult<UserRow> {
    let u = users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    row(db, u).await
}

/// Enables or disables an account; disabling signs out every session at once.
pub async fn set_active(db: &impl ConnectionTrait, id: i64, active: bool) -> AppResult<bool> {
    let u = users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = u.is_active;
    users::Entity::update_many()
        .col_expr(users::Column::IsActive, Expr::value(active))
        .col_expr(
            users::Column::TokenVersion,
            Expr::col(users::Column::TokenVersion).add(if active { 0 } else { 1 }),
        )
        .col_expr(
            users::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(before)
}

pub async fn set_locale(db: &impl ConnectionTrait, id: i64, locale: &str) -> AppResult<()> {
    users::Entity::update_many()
        .col_expr(users::Column::Locale, Expr::value(locale))
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn count_users(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(users::Entity::find().count(db).await?)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub student_id: Option<i64>,
    pub action: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub student_id: Option<i64>,
    pub outcome: String,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}

pub async fn query_audit(
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    p: PageReq,
) -> AppResult<Page<AuditRow>> {
    let mut q = audit_log::Entity::find();
    if let Some(a) = f.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(a));
    }
    if let Some(s) = f.student_id {
        q = q.filter(audit_log::Column::StudentId.eq(s));
    }
    if let Some(a) = f.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        q = q.filter(audit_log::Column::Action.starts_with(a));
    }
    if let Some(d) = f.from.and_then(|d| d.and_hms_opt(0, 0, 0)) {
        q = q.filter(audit_log::Column::At.gte(d.and_utc().fixed_offset()));
    }
    if let Some(d) =
        f.to.and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        q = q.filter(audit_log::Column::At.lt(d.and_utc().fixed_offset()));
    }
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(audit_log::Column::Id)
        .offset((p.page - 1) * p.per_page)
        .limit(p.per_page)
        .all(db)
        .await?;
    let actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).collect();
    let names: std::collections::HashMap<i64, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(actor_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let items = rows
        .into_iter()
        .map(|r| AuditRow {
            id: r.id,
            at: r.at.with_timezone(&Utc),
            actor: r.actor_id.and_then(|a| names.get(&a).cloned()),
            actor_id: r.actor_id,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            student_id: r.student_id,
            outcome: r.outcome,
            ip: r.ip,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Page {
        items,
        total,
        page: p.page,
        per_page: p.per_page,
    })
}
