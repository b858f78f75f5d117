//! Groups, their permissions, group membership and module switches.

use super::permissions::{BUILTIN_GROUPS, Module, Permission};
use crate::entity::{group_permissions, groups, modules, user_groups, users};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Creates the built-in groups and module rows if missing; safe to run on every start.
pub async fn ensure_builtins(db: &impl ConnectionTrait) -> AppResult<()> {
    let now = Utc::now().fixed_offset();
    for builtin in BUILTIN_GROUPS.iter() {
        // NOTE: only the columns of the first schema are named here (later ones keep their
        // defaults), so this also runs on a database that is not yet migrated to the end.
        let found: Option<i64> = groups::Entity::find()
            .select_only()
            .column(groups::Column::Id)
            .filter(groups::Column::Code.eq(builtin.code))
            .into_tuple()
            .one(db)
            .await?;
        let group_id = match found {
            Some(id) => id,
            None => {
                groups::Entity::insert(groups::ActiveModel {
                    code: Set(builtin.code.to_string()),
                    name: Set(builtin.name.to_string()),
                    description: Set(String::new()),
                    builtin: Set(true),
                    created_at: Set(now),
                    ..Default::default()
                })
                .exec(db)
                .await?
                .last_insert_id
            }
        };
        let have: HashSet<String> = group_permissions::Entity::find()
            .filter(group_permissions::Column::GroupId.eq(group_id))
            .all(db)
            .await?
            .into_iter()
            .map(|p| p.permission)
            .collect();
        for p in builtin.permissions {
            if !have.contains(p.code()) {
                group_permissions::ActiveModel {
                    group_id: Set(group_id),
                    permission: Set(p.code().to_string()),
                }
                .insert(db)
                .await?;
            }
        }
    }
    for m in Module::ALL {
        if modules::Entity::find_by_id(m.code().to_string())
            .one(db)
            .await?
            .is_none()
        {
            modules::ActiveModel {
                code: Set(m.code().to_string()),
                enabled: Set(true),
                updated_at: Set(now),
                updated_by: Set(None),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

async fn user_group_ids(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<i64>> {
    Ok(user_groups::Entity::find()
        .filter(user_groups::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|ug| ug.group_id)
        .collect())
}

/// The union of the permissions of every group the user is in.
pub async fn user_permissions(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> AppResult<HashSet<Permission>> {
    let group_ids = user_group_ids(db, user_id).await?;
    if group_ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(group_permissions::Entity::find()
        .filter(group_permissions::Column::GroupId.is_in(group_ids))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|gp| Permission::from_code(&gp.permission))
        .collect())
}

pub async fn user_group_codes(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<String>> {
    let ids = user_group_ids(db, user_id).await?;
    Ok(groups::Entity::find()
        .filter(groups::Column::Id.is_in(ids))
        .order_by_asc(groups::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|g| g.code)
        .collect())
}

/// How an account may use a local password, by its groups (see `local_password_rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalPassword {
    Allowed,
    /// Every group of the account forbids it, but the account manages accounts: the
    /// administrators' break-glass sign-in, audited as such.
    BreakGlass,
    Refused,
}

/// Whether an account may sign in with a local password: yes unless every one of its groups
/// forbids it; an administrator (who may manage accounts) then still may, as break-glass.
pub async fn local_password_rule(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> AppResult<LocalPassword> {
    let ids = user_group_ids(db, user_id).await?;
    if ids.is_empty() {
        return Ok(LocalPassword::Allowed);
    }
    let any_allows = groups::Entity::find()
        .filter(groups::Column::Id.is_in(ids))
        .filter(groups::Column::LocalPassword.eq(true))
        .one(db)
        .await?
        .is_some();
    if any_allows {
        Ok(LocalPassword::Allowed)
    } else if user_permissions(db, user_id)
        .await?
        .contains(&Permission::ManageUsers)
    {
        Ok(LocalPassword::BreakGlass)
    } else {
        Ok(LocalPassword::Refused)
    }
}

/// Which modules are switched on.
pub async fn enabled_modules(db: &impl ConnectionTrait) -> AppResult<HashSet<Module>> {
    Ok(modules::Entity::find()
        .filter(modules::Column::Enabled.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| Module::from_code(&m.code))
        .collect())
}

pub async fn set_module(
    db: &impl ConnectionTrait,
    module: Module,
    enabled: bool,
    by: i64,
) -> AppResult<bool> {
    let row = modules::Entity::find_by_id(module.code().to_string())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = row.enabled;
    let mut am: modules::ActiveModel = row.into();
    am.enabled = Set(enabled);
    am.updated_at = Set(Utc::now().fixed_offset());
    am.updated_by = Set(Some(by));
    am.update(db).await?;
    Ok(before)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    /// Whether members may sign in with a local password (else only by single sign-on).
    pub local_password: bool,
    pub permissions: Vec<String>,
    pub members: u64,
}

pub async fn list_groups(db: &impl ConnectionTrait) -> AppResult<Vec<GroupView>> {
    let all = groups::Entity::find()
        .order_by_asc(groups::Column::Id)
        .all(db)
        .await?;
    let mut perms: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for gp in group_permissions::Entity::find().all(db).await? {
        perms.entry(gp.group_id).or_default().push(gp.permission);
    }
    let mut out = Vec::with_capacity(all.len());
    for g in all {
        let members = sea_orm::PaginatorTrait::count(
            user_groups::Entity::find().filter(user_groups::Column::GroupId.eq(g.id)),
            db,
        )
        .await?;
        let mut permissions = perms.remove(&g.id).unwrap_or_default();
        permissions.sort();
        out.push(GroupView {
            id: g.id,
            code: g.code,
            name: g.name,
            description: g.description,
            builtin: g.builtin,
            local_password: g.local_password,
            permissions,
            members,
        });
    }
    Ok(out)
}

pub async fn find_group(db: &impl ConnectionTrait, id: i64) -> AppResult<GroupView> {
    list_groups(db)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or(AppError::NotFound)
}

/// A validated group definition from a form or the API.
pub struct GroupInput {
    pub code: String,
    pub name: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    /// Whether members may sign in with a local password; `None` keeps a group's setting (a
    /// new group allows it).
    pub local_password: Option<bool>,
}

impl GroupInput {
    pub fn parse(
        code: &str,
        name: &str,
        description: &str,
        permissions: &[String],
    ) -> AppResult<GroupInput> {
        let code = code.trim().to_lowercase();
        if code.is_empty()
            || code.len() > 40
            || !code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(AppError::unprocessable(
                "invalid_code",
                "the group code must be 1-40 lowercase letters, digits, '-' or '_'",
            ));
        }
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::unprocessable(
                "invalid_name",
                "the group name must be 1-100 characters",
            ));
        }
        let mut parsed = Vec::new();
        for p in permissions {
            let perm = Permission::from_code(p).ok_or_else(|| {
                AppError::unprocessable("unknown_permission", format!("unknown permission '{p}'"))
            })?;
            if !parsed.contains(&perm) {
                parsed.push(perm);
            }
        }
        Ok(GroupInput {
            code,
            name,
            description: description.trim().to_string(),
            permissions: parsed,
            local_password: None,
        })
    }
}

/// Creates a group or replaces an existing one's name and permissions; members of a changed
/// group get a new token version so their rights change on the next request.
pub async fn save_group<C: crate::db::Writable>(
    db: &C,
    id: Option<i64>,
    input: GroupInput,
) -> AppResult<i64> {
    let txn = crate::db::write_txn(db).await?;
    let group_id = match id {
        Some(id) => {
            let g = groups::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            if g.builtin && g.code != input.code {
                return Err(AppError::unprocessable(
                    "builtin_group",
                    "a built-in group keeps its code",
                ));
            }
            let mut am: groups::ActiveModel = g.into();
            am.code = Set(input.code.clone());
            am.name = Set(input.name.clone());
            am.description = Set(input.description.clone());
            if let Some(allowed) = input.local_password {
                am.local_password = Set(allowed);
            }
            am.update(&txn).await.map_err(map_dup_code)?;
            group_permissions::Entity::delete_many()
                .filter(group_permissions::Column::GroupId.eq(id))
                .exec(&txn)
                .await?;
            bump_members(&txn, id).await?;
            id
        }
        None => {
            groups::ActiveModel {
                code: Set(input.code.clone()),
                name: Set(input.name.clone()),
                description: Set(input.description.clone()),
                builtin: Set(false),
                local_password: Set(input.local_password.unwrap_or(true)),
                created_at: Set(Utc::now().fixed_offset()),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(map_dup_code)?
            .id
        }
    };
    for p in &input.permissions {
        group_permissions::ActiveModel {
            group_id: Set(group_id),
            permission: Set(p.code().to_string()),
        }
        .insert(&txn)
        .await?;
    }
    ensure_an_administrator_remains(&txn).await?;
    txn.commit().await?;
    Ok(group_id)
}

/// Refuses a change that would leave no active account able to manage accounts (and so no way
/// to give the right back): the only administrator removing their own groups, taking the
/// permission from the last group that holds it, or disabling the last such account.
pub async fn ensure_an_administrator_remains(db: &impl ConnectionTrait) -> AppResult<()> {
    let groups: Vec<i64> = group_permissions::Entity::find()
        .filter(group_permissions::Column::Permission.eq(Permission::ManageUsers.code()))
        .all(db)
        .await?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    let members: Vec<i64> = user_groups::Entity::find()
        .filter(user_groups::Column::GroupId.is_in(groups))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let active = users::Entity::find()
        .filter(users::Column::Id.is_in(members))
        .filter(users::Column::IsActive.eq(true))
        .count(db)
        .await?;
    if active == 0 {
        return Err(AppError::conflict(
            "last_administrator",
            "this would leave no active account that can manage accounts; give another account that right first",
        ));
    }
    Ok(())
}

fn map_dup_code(e: sea_orm::DbErr) -> AppError {
    if crate::db::is_unique_violation(&e) {
        AppError::conflict("duplicate_code", "another group already has this code")
    } else {
        e.into()
    }
}

async fn bump_members(db: &impl ConnectionTrait, group_id: i64) -> AppResult<()> {
    let ids: Vec<i64> = user_groups::Entity::find()
        .filter(user_groups::Column::GroupId.eq(group_id))
        .all(db)
        .await?
        .into_iter()
        .map(|ug| ug.user_id)
        .collect();
    if !ids.is_empty() {
        users::Entity::update_many()
            .col_expr(
                users::Column::TokenVersion,
                Expr::col(users::Column::TokenVersion).add(1),
            )
            .filter(users::Column::Id.is_in(ids))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Replaces a user's groups (by code) and revokes their current tokens.
pub async fn set_user_groups<C: crate::db::Writable>(
    db: &C,
    user_id: i64,
    codes: &[String],
) -> AppResult<()> {
    let txn = crate::db::write_txn(db).await?;
    let found = groups::Entity::find()
        .filter(groups::Column::Code.is_in(codes.to_vec()))
        .all(&txn)
        .await?;
    if let Some(missing) = codes.iter().find(|c| !found.iter().any(|g| &g.code == *c)) {
        return Err(AppError::unprocessable(
            "unknown_group",
            format!("unknown group '{missing}'"),
        ));
    }
    user_groups::Entity::delete_many()
        .filter(user_groups::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    for g in found {
        user_groups::ActiveModel {
            user_id: Set(user_id),
            group_id: Set(g.id),
        }
        .insert(&txn)
        .await?;
    }
    users::Entity::update_many()
        .col_expr(
            users::Column::TokenVersion,
            Expr::col(users::Column::TokenVersion).add(1),
        )
        .filter(users::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    ensure_an_administrator_remains(&txn).await?;
    txn.commit().await?;
    Ok(())
}
