//! Logging in (with throttling counted in the database), logging out and changing passwords.

use super::password;
use super::throttle::{self, Limit, Slot};
use crate::audit::Entry;
use crate::entity::{login_attempts, revoked_tokens, users};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};
use serde::Serialize;

/// Who is logged in, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: String,
    pub groups: Vec<String>,
}

/// A successful login: the bearer token and when it expires.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginOk {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserSummary,
    #[serde(skip)]
    #[schema(ignore)]
    pub jti: String,
}

const BAD_LOGIN: &str = "the user name or password is incorrect";

/// The throttle keys of one sign-in.
pub fn account_key(username: &str) -> String {
    format!("user:{}", super::username::fold(username))
}

fn address_key(ip: &str) -> String {
    format!("ip:{ip}")
}

fn device_key(nonce: &str) -> String {
    format!("dev:{nonce}")
}

/// A device cookie's value for `user_id`: a random nonce and a MAC binding it to the account.
pub fn new_device_token(state: &AppState, user_id: i64) -> String {
    let body = format!("{user_id}.{}", uuid::Uuid::new_v4().simple());
    let mac = state.keys.mac("device", &body);
    format!("{body}.{mac}")
}

/// The nonce of a device cookie that this portal issued to `user_id`, if it is one.
fn device_nonce<'a>(state: &AppState, token: &'a str, user_id: i64) -> Option<&'a str> {
    let (body, mac) = token.rsplit_once('.')?;
    let (uid, nonce) = body.split_once('.')?;
    (uid.parse::<i64>().ok()? == user_id
        && super::token::constant_time_eq(&state.keys.mac("device", body), mac))
    .then_some(nonce)
}

/// A successful login, and the device cookie to keep for the next one.
pub struct LoginDone {
    pub ok: LoginOk,
    pub device: String,
}

async fn refuse_throttled(
    state: &AppState,
    username: &str,
    ip: &str,
    retry_after: u64,
) -> AppResult<LoginDone> {
    throttle::refused(&state.db, "auth.login_throttled", username, ip, retry_after).await
}

/// Signs in. Throttled per address (a fixed window) and per account (after the limit, a
/// delay that doubles with each failure); a browser holding a device cookie from an earlier
/// success of this account is counted on its own instead of on the account, so failures from
/// elsewhere cannot lock its owner out.
pub async fn login(
    state: &AppState,
    username: &str,
    password_text: &str,
    ip: &str,
    device: Option<&str>,
) -> AppResult<LoginDone> {
    let username = username.trim();
    if username.is_empty()
        || password_text.is_empty()
        || username.len() > 100
        || password_text.len() > 200
    {
        return Err(AppError::BadCredentials(BAD_LOGIN.into()));
    }
    let c = &state.config;
    let user = find_by_name(&state.db, username).await?;
    let ip_key = address_key(ip);
    let by_address = Limit {
        max: i64::from(c.login_max_failures_per_ip),
        window: c.login_window_seconds,
        growing: false,
    };
    if let Slot::Refused { retry_after } = throttle::check(&state.db, &ip_key, by_address).await? {
        return refuse_throttled(state, username, ip, retry_after).await;
    }
    let nonce = match (&user, device) {
        (Some(u), Some(token)) => device_nonce(state, token, u.id),
        _ => None,
    };
    let user_key = match nonce {
        Some(n) => device_key(n),
        None => account_key(username),
    };
    let by_account = Limit {
        max: i64::from(c.login_max_failures),
        window: c.login_window_seconds,
        growing: true,
    };
    let failures = match throttle::reserve(&state.db, &user_key, by_account).await? {
        Slot::Granted { failures } => failures,
        Slot::Refused { retry_after } => {
            return refuse_throttled(state, username, ip, retry_after).await;
        }
    };
    if failures >= 3 {
        // NOTE: each further failure costs the caller more time before the outright refusal.
        let delay = 250 * std::cmp::min(failures - 2, 8);
        tokio::time::sleep(std::time::Duration::from_millis(delay.unsigned_abs())).await;
    }
    // An account created in bulk has no password until the student activates it.
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .filter(|h| !h.is_empty());
    // NOTE: the address is checked again, and a failure counted, within the hashing turn:
    // parallel guesses from one address wait for it, so at most one per core passes the limit.
    let turn = state.hashing_turn().await?;
    if let Slot::Refused { retry_after } = throttle::check(&state.db, &ip_key, by_address).await? {
        drop(turn);
        // The account's slot is given back: nothing was checked.
        throttle::release(&state.db, &user_key).await?;
        return refuse_throttled(state, username, ip, retry_after).await;
    }
    let ok = state.verify_during(&turn, password_text, stored).await?;
    let active = user.as_ref().is_some_and(|u| u.is_active);
    let success = ok && active;
    if !success {
        throttle::count_failure(&state.db, &ip_key, by_address).await?;
    }
    drop(turn);
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
    throttle::clear(&state.db, &user_key).await?;
    if nonce.is_none() {
        throttle::clear(&state.db, &account_key(&user.username)).await?;
    }
    let method = local_password_method(state, user.id, ip).await?;
    let mut am: users::ActiveModel = user.clone().into();
    am.last_login_at = Set(Some(Utc::now().fixed_offset()));
    am.update(&state.db).await?;
    Entry::new(Some(user.id), "auth.login", "user")
        .id(user.id)
        .ip(Some(ip.to_string()))
        .detail(serde_json::json!({"method": method}))
        .write(&state.db)
        .await?;
    let device = new_device_token(state, user.id);
    Ok(LoginDone {
        ok: session_for(state, user).await?,
        device,
    })
}

/// How a proven password sign-in is recorded (`password`, or `break_glass` for an administrator
/// whose groups all want single sign-on), or its refusal when every group of the account wants
/// single sign-on. The rule holds only while single sign-on is configured, so that nobody is
/// locked out of a portal without it. Checked after the password, so it tells nothing to a
/// guesser.
async fn local_password_method(
    state: &AppState,
    user_id: i64,
    ip: &str,
) -> AppResult<&'static str> {
    use crate::access::service::{LocalPassword, local_password_rule};
    if state.sso.is_none() {
        return Ok("password");
    }
    match local_password_rule(&state.db, user_id).await? {
        LocalPassword::Allowed => Ok("password"),
        LocalPassword::BreakGlass => Ok("break_glass"),
        LocalPassword::Refused => {
            Entry::new(Some(user_id), "auth.login_refused", "user")
                .id(user_id)
                .denied()
                .ip(Some(ip.to_string()))
                .detail(serde_json::json!({"reason": "sso_only"}))
                .write(&state.db)
                .await?;
            Err(AppError::unprocessable(
                "sso_only",
                "this account signs in through the university's single sign-on only",
            ))
        }
    }
}

/// The account a typed-in name means: the exact name, else the one equal after folding case
/// and Unicode width.
pub async fn find_by_name(
    db: &impl sea_orm::ConnectionTrait,
    username: &str,
) -> AppResult<Option<users::Model>> {
    if let Some(exact) = users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .one(db)
        .await?
    {
        return Ok(Some(exact));
    }
    Ok(users::Entity::find()
        .filter(users::Column::UsernameFolded.eq(super::username::fold(username)))
        .one(db)
        .await?)
}

/// The throttle counters of one account (by its name), for its administration page.
pub async fn throttles_of(
    db: &impl sea_orm::ConnectionTrait,
    username: &str,
) -> AppResult<Vec<crate::entity::login_throttles::Model>> {
    throttle::for_keys(
        db,
        &[
            account_key(username),
            format!("act:{}", super::username::fold(username)),
        ],
    )
    .await
}

/// Clears an account's throttles (an administrator's action, audited).
pub async fn clear_throttles(
    db: &impl sea_orm::ConnectionTrait,
    actor: i64,
    user_id: i64,
    username: &str,
) -> AppResult<()> {
    throttle::clear(db, &account_key(username)).await?;
    throttle::clear(db, &format!("act:{}", super::username::fold(username))).await?;
    Entry::new(Some(actor), "users.throttles_cleared", "user")
        .id(user_id)
        .write(db)
        .await
}

/// A fresh session for a user who has just proven who they are (after a password change).
pub async fn issue_session(state: &AppState, user_id: i64) -> AppResult<LoginOk> {
    let user = users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    session_for(state, user).await
}

pub(super) async fn session_for(state: &AppState, user: users::Model) -> AppResult<LoginOk> {
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
    let matches = state
        .verify_password(current, Some(user.password_hash))
        .await?;
    if !matches {
        return Err(AppError::unprocessable(
            "wrong_password",
            state_message("wrong_password"),
        ));
    }
    set_password(state, user_id, new_password, user_id).await
}

/// Changes one's own password from a browser: every session, the current one included, is
/// signed out, so a fresh session is answered for this browser.
pub async fn change_own_password_fresh_session(
    state: &AppState,
    user_id: i64,
    current: &str,
    new_password: &str,
) -> AppResult<LoginOk> {
    change_own_password(state, user_id, current, new_password).await?;
    issue_session(state, user_id).await
}

/// The display names of some users, by id (the one lookup every list of actors uses).
pub async fn display_names(
    db: &impl sea_orm::ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<std::collections::HashMap<i64, String>> {
    use sea_orm::QuerySelect;
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, String)> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::DisplayName)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
