//! Logging in (with throttling counted in the database), logging out and changing passwords.

use super::password;
use crate::audit::Entry;
use crate::entity::{login_attempts, revoked_tokens, users};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait},
};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: String,
    pub groups: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LoginOk {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserSummary,
    #[serde(skip)]
    pub jti: String,
}

const BAD_LOGIN: &str = "the user name or password is incorrect";

/// Refuses with 429 once an account or an address has too many recent failures; slows down
/// before that.
pub(super) async fn throttle(state: &AppState, username: &str, ip: &str) -> AppResult<u64> {
    let c = &state.config;
    let since = Utc::now() - Duration::seconds(c.login_window_seconds);
    let by_user = login_attempts::Entity::find()
        .filter(login_attempts::Column::Username.eq(username))
        .filter(login_attempts::Column::Success.eq(false))
        .filter(login_attempts::Column::At.gt(since.fixed_offset()))
        .order_by_asc(login_attempts::Column::At);
    let by_ip = login_attempts::Entity::find()
        .filter(login_attempts::Column::Ip.eq(ip))
        .filter(login_attempts::Column::Success.eq(false))
        .filter(login_attempts::Column::At.gt(since.fixed_offset()))
        .order_by_asc(login_attempts::Column::At);
    let user_failures = by_user.clone().count(&state.db).await?;
    let ip_failures = by_ip.clone().count(&state.db).await?;
    let limited = if user_failures >= u64::from(c.login_max_failures) {
        Some(by_user)
    } else if ip_failures >= u64::from(c.login_max_failures_per_ip) {
        Some(by_ip)
    } else {
        None
    };
    if let Some(query) = limited {
        let oldest = query
            .one(&state.db)
            .await?
            .map(|a| a.at.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
        let wait = (oldest + Duration::seconds(c.login_window_seconds) - Utc::now()).num_seconds();
        let wait = std::cmp::max(wait, 1);
        return Err(AppError::TooManyRequests {
            retry_after: wait as u64,
        });
    }
    Ok(user_failures)
}

pub async fn login(
    state: &AppState,
    username: &str,
    password_text: &str,
    ip: &str,
) -> AppResult<LoginOk> {
    let username = username.trim();
    if username.is_empty()
        || password_text.is_empty()
        || username.len() > 100
        || password_text.len() > 200
    {
        return Err(AppError::BadCredentials(BAD_LOGIN.into()));
    }
    let failures = match throttle(state, username, ip).await {
        Ok(n) => n,
        Err(e) => {
            Entry::new(None, "auth.login_throttled", "user")
                .id(username)
                .denied()
                .ip(Some(ip.to_string()))
                .write(&state.db)
                .await?;
            return Err(e);
        }
    };
    if failures >= 2 {
        // NOTE: each further failure costs the caller more time before the outright refusal.
        let delay = 250 * std::cmp::min(failures - 1, 8);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let user = users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .one(&state.db)
        .await?;
    // An account created in bulk has no password until the student activates it.
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .filter(|h| !h.is_empty());
    let turn = state.hashing_turn().await?;
    let ok = password::verify(password_text.to_string(), stored, state.hash_cost()).await?;
    drop(turn);
    let active = user.as_ref().is_some_and(|u| u.is_active);
    let success = ok && active;
    login_attempts::ActiveModel {
        username: Set(username.to_string()),
        ip: Set(ip.to_string()),
        at: Set(Utc::now().fixed_offset()),
        success: Set(success),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let (Some(user), true) = (user, success) else {
        Entry::new(None, "auth.login_failed", "user")
            .id(username)
            .failed()
            .ip(Some(ip.to_string()))
            .write(&state.db)
            .await?;
        return Err(AppError::BadCredentials(BAD_LOGIN.into()));
    };
    let mut am: users::ActiveModel = user.clone().into();
    am.last_login_at = Set(Some(Utc::now().fixed_offset()));
    am.update(&state.db).await?;
    Entry::new(Some(user.id), "auth.login", "user")
        .id(user.id)
        .ip(Some(ip.to_string()))
        .write(&state.db)
        .await?;
    session_for(state, user).await
}

/// A fresh session for a user who has just proven who they are (after a password change).
pub async fn issue_session(state: &AppState, user_id: i64) -> AppResult<LoginOk> {
    let user = users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    session_for(state, user).await
}

async fn session_for(state: &AppState, user: users::Model) -> AppResult<LoginOk> {
    let (token, claims, expires_at) = state.keys.issue(user.id, user.token_version)?;
    let groups = crate::access::service::user_group_codes(&state.db, user.id).await?;
    Ok(LoginOk {
        token,
        expires_at,
        user: UserSummary {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            kind: user.kind,
            groups,
        },
        jti: claims.jti,
    })
}

/// Puts the token on the deny list until it would have expired anyway.
pub async fn logout(state: &AppState, user: &super::CurrentUser) -> AppResult<()> {
    let expires = DateTime::<Utc>::from_timestamp(user.claims.exp, 0).unwrap_or_else(Utc::now);
    revoked_tokens::ActiveModel {
        jti: Set(user.claims.jti.clone()),
        expires_at: Set(expires.fixed_offset()),
    }
    .insert(&state.db)
    .await?;
    // Old deny-list rows are useless once their token has expired.
    revoked_tokens::Entity::delete_many()
        .filter(revoked_tokens::Column::ExpiresAt.lt(Utc::now().fixed_offset()))
        .exec(&state.db)
        .await?;
    Entry::new(Some(user.id), "auth.logout", "user")
        .id(user.id)
        .write(&state.db)
        .await?;
    Ok(())
}

/// Sets a new password and bumps the token version, which signs out every session.
pub async fn set_password(
    state: &AppState,
    user_id: i64,
    new_password: &str,
    actor: i64,
) -> AppResult<()> {
    if let Err(code) = password::validate_new(new_password) {
        return Err(AppError::unprocessable(code, state_message(code)));
    }
    let turn = state.hashing_turn().await?;
    let hash = password::hash(new_password.to_string(), state.hash_cost()).await?;
    drop(turn);
    let res = users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(
            users::Column::TokenVersion,
            Expr::col(users::Column::TokenVersion).add(1),
        )
        .col_expr(
            users::Column::UpdatedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(users::Column::Id.eq(user_id))
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    let action = if actor == user_id {
        "auth.password_changed"
    } else {
        "users.password_reset"
    };
    Entry::new(Some(actor), action, "user")
        .id(user_id)
        .write(&state.db)
        .await?;
    Ok(())
}

pub fn state_message(code: &str) -> &'static str {
    match code {
        "password_too_short" => "the new password must have at least 8 characters",
        "password_too_long" => "the new password must have at most 200 characters",
        "wrong_password" => "the current password is not correct",
        _ => "the password was not accepted",
    }
}

/// Changes one's own password after checking the current one.
pub async fn change_own_password(
    state: &AppState,
    user_id: i64,
    current: &str,
    new_password: &str,
) -> AppResult<()> {
    let user = users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let turn = state.hashing_turn().await?;
    let matches = password::verify(
        current.to_string(),
        Some(user.password_hash),
        state.hash_cost(),
    )
    .await?;
    drop(turn);
    if !matches {
        return Err(AppError::unprocessable(
            "wrong_password",
            state_message("wrong_password"),
        ));
    }
    set_password(state, user_id, new_password, user_id).await
}
