//! Accounts as an administrator sees them: create, list, disable, reset, put in groups; and
//! the audit log query.

use crate::access::service::{self as access, GroupInput, set_user_groups, user_group_codes};
use crate::access::{Module, Permission};
use crate::audit::Entry;
use crate::auth::password::{self, HashCost};
use crate::entity::{audit_log, user_groups, users};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::paging::{Page, PageReq};
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use serde::Serialize;
use serde_json::json;

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

/// An account as administrators see it (never its password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// One row of the audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// What the action recorded (free-form JSON).
    #[schema(value_type = Object)]
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

// ---------------------------------------------------------------- audited administrator actions

/// A new account as typed into the form or sent to the API.
pub struct NewUserInput<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub kind: &'a str,
    pub groups: &'a [String],
    pub password: &'a str,
}

/// Validates, creates (hashing off the request threads) and audits a new account.
pub async fn create_user_audited(
    state: &AppState,
    actor: i64,
    new: NewUserInput<'_>,
) -> AppResult<i64> {
    let parsed = NewUser::parse(
        new.username,
        new.display_name,
        new.email,
        new.kind,
        new.groups.to_vec(),
    )?;
    let turn = state.hashing_turn().await?;
    let id = create_user(&state.db, state.hash_cost(), &parsed, new.password).await?;
    drop(turn);
    Entry::new(Some(actor), "users.create", "user")
        .id(id)
        .detail(json!({"username": new.username, "kind": new.kind, "groups": new.groups}))
        .write(&state.db)
        .await?;
    Ok(id)
}

/// A group as typed into the form or sent to the API.
pub struct GroupInputText<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub permissions: &'a [String],
    /// Whether members may sign in with a local password; `None` keeps the group's setting.
    pub local_password: Option<bool>,
}

/// Validates, saves and audits a group (new when `id` is `None`).
pub async fn save_group_audited(
    db: &DatabaseConnection,
    actor: i64,
    id: Option<i64>,
    group: GroupInputText<'_>,
) -> AppResult<i64> {
    let mut input =
        GroupInput::parse(group.code, group.name, group.description, group.permissions)?;
    input.local_password = group.local_password;
    let gid = access::save_group(db, id, input).await?;
    let action = if id.is_some() {
        "groups.update"
    } else {
        "groups.create"
    };
    Entry::new(Some(actor), action, "group")
        .id(gid)
        .detail(json!({"code": group.code, "permissions": group.permissions,
            "local_password": group.local_password}))
        .write(db)
        .await?;
    Ok(gid)
}

/// Replaces an account's groups, audited, in one transaction.
pub async fn change_groups<C: crate::db::Writable>(
    db: &C,
    actor: i64,
    id: i64,
    groups: &[String],
) -> AppResult<()> {
    let txn = crate::db::write_txn(db).await?;
    let before = get_user(&txn, id).await?;
    set_user_groups(&txn, id, groups).await?;
    Entry::new(Some(actor), "users.groups", "user")
        .id(id)
        .change(json!(before.groups), json!(groups))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Enables or disables an account, audited, in one transaction; nobody disables their own
/// account, nor the last one that can manage accounts.
pub async fn change_active<C: crate::db::Writable>(
    db: &C,
    actor: i64,
    id: i64,
    active: bool,
) -> AppResult<()> {
    if actor == id && !active {
        return Err(AppError::unprocessable(
            "cannot_disable_self",
            "you cannot disable your own account",
        ));
    }
    let txn = crate::db::write_txn(db).await?;
    let before = set_active(&txn, id, active).await?;
    if !active {
        crate::access::service::ensure_an_administrator_remains(&txn).await?;
    }
    Entry::new(
        Some(actor),
        if active {
            "users.enable"
        } else {
            "users.disable"
        },
        "user",
    )
    .id(id)
    .change(json!({"is_active": before}), json!({"is_active": active}))
    .write(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The API's partial update of an account: its active flag and/or its groups, all or nothing.
pub async fn patch_user(
    db: &DatabaseConnection,
    actor: i64,
    id: i64,
    active: Option<bool>,
    groups: Option<&[String]>,
) -> AppResult<UserRow> {
    let txn = crate::db::write_txn(db).await?;
    get_user(&txn, id).await?;
    if let Some(active) = active {
        change_active(&txn, actor, id, active).await?;
    }
    if let Some(groups) = groups {
        change_groups(&txn, actor, id, groups).await?;
    }
    txn.commit().await?;
    get_user(db, id).await
}

/// Switches a module on or off in one transaction with its audit row.
pub async fn switch_module(
    state: &AppState,
    actor: i64,
    code: &str,
    enabled: bool,
) -> AppResult<()> {
    let module = Module::from_code(code).ok_or(AppError::NotFound)?;
    let txn = crate::db::write_txn(&state.db).await?;
    let before = access::set_module(&txn, module, enabled, actor).await?;
    Entry::new(Some(actor), "modules.switch", "module")
        .id(code)
        .change(json!({"enabled": before}), json!({"enabled": enabled}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    state.modules.forget();
    Ok(())
}

/// One permission of the catalogue, with its label in a language.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermissionLabel {
    pub code: String,
    pub label: String,
}

/// Every permission, labelled in `lang`.
pub fn permission_catalogue(lang: Lang) -> Vec<PermissionLabel> {
    Permission::ALL
        .iter()
        .map(|p| PermissionLabel {
            code: p.code().to_string(),
            label: lang.t(&format!("perm.{}", p.code())),
        })
        .collect()
}

/// One module and whether it is on.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleState {
    pub code: String,
    pub label: String,
    pub enabled: bool,
}

/// Every module, labelled in `lang`, with its switch.
pub async fn module_states(db: &impl ConnectionTrait, lang: Lang) -> AppResult<Vec<ModuleState>> {
    let on = access::enabled_modules(db).await?;
    Ok(Module::ALL
        .iter()
        .map(|m| ModuleState {
            code: m.code().to_string(),
            label: lang.t(&format!("module.{}", m.code())),
            enabled: on.contains(m),
        })
        .collect())
}

/// One sign-in or activation throttle of an account, as its page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i64,
    pub last: String,
}

/// An account with its throttles, for its page.
pub struct UserDetail {
    pub user: UserRow,
    pub throttles: Vec<ThrottleRow>,
}

pub async fn user_detail(db: &impl ConnectionTrait, id: i64) -> AppResult<UserDetail> {
    let user = get_user(db, id).await?;
    let throttles = crate::auth::service::throttles_of(db, &user.username)
        .await?
        .into_iter()
        .map(|t| ThrottleRow {
            last: DateTime::from_timestamp(t.last_failure, 0)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            key: t.key,
            failures: t.failures,
        })
        .collect();
    Ok(UserDetail { user, throttles })
}

/// Clears the sign-in and activation throttles of an account (audited by `auth`).
pub async fn clear_user_throttles(db: &impl ConnectionTrait, actor: i64, id: i64) -> AppResult<()> {
    let user = get_user(db, id).await?;
    crate::auth::service::clear_throttles(db, actor, id, &user.username).await
}

/// Creates an account (see `create_user_audited`) and answers it as the API shows it.
pub async fn create_user_answered(
    state: &AppState,
    actor: i64,
    new: NewUserInput<'_>,
) -> AppResult<UserRow> {
    let id = create_user_audited(state, actor, new).await?;
    get_user(&state.db, id).await
}

/// Saves a group (see `save_group_audited`) and answers it as the API shows it.
pub async fn save_group_answered(
    db: &DatabaseConnection,
    actor: i64,
    id: Option<i64>,
    group: GroupInputText<'_>,
) -> AppResult<access::GroupView> {
    let gid = save_group_audited(db, actor, id, group).await?;
    access::find_group(db, gid).await
}
