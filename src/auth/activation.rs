//! First sign-in for students whose accounts the registrar created in bulk: the account has no
//! password until the student proves who they are (student number plus national id, or date of
//! birth when the record has no national id) and chooses one. Failures count towards the same
//! throttle as logins, so the check cannot be guessed at.

use super::password;
use super::service::state_message;
use crate::audit::Entry;
use crate::entity::{login_attempts, students, users};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

const MISMATCH: &str =
    "these details do not match an account waiting for activation; check them or ask the registrar";

/// What the student types in to activate.
pub struct Claim<'a> {
    pub student_no: &'a str,
    pub national_id: &'a str,
    pub birth_date: &'a str,
    pub new_password: &'a str,
}

/// Whether the typed-in details prove the record (national id first, else date of birth).
fn proves(record: &students::Model, claim: &Claim<'_>) -> bool {
    match (&record.national_id, record.birth_date) {
        (Some(nid), _) => {
            let typed = claim.national_id.trim();
            !typed.is_empty() && nid.eq_ignore_ascii_case(typed)
        }
        (None, Some(born)) => {
            NaiveDate::parse_from_str(claim.birth_date.trim(), "%Y-%m-%d").ok() == Some(born)
        }
        (None, None) => false,
    }
}

/// Sets the first password of a bulk-created student account. Answers the user id.
pub async fn activate(state: &AppState, claim: &Claim<'_>, ip: &str) -> AppResult<i64> {
    let username = claim.student_no.trim();
    if let Err(code) = password::validate_new(claim.new_password) {
        return Err(AppError::unprocessable(code, state_message(code)));
    }
    super::service::throttle(state, username, ip).await?;
    let user = users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .one(&state.db)
        .await?;
    let record = match &user {
        Some(u) => {
            students::Entity::find()
                .filter(students::Column::UserId.eq(u.id))
                .one(&state.db)
                .await?
        }
        None => None,
    };
    let ok = match (&user, &record) {
        (Some(u), Some(r)) => u.is_active && u.password_hash.is_empty() && proves(r, claim),
        _ => false,
    };
    let (Some(user), true) = (user, ok) else {
        login_attempts::ActiveModel {
            username: Set(username.to_string()),
            ip: Set(ip.to_string()),
            at: Set(Utc::now().fixed_offset()),
            success: Set(false),
            ..Default::default()
        }
        .insert(&state.db)
        .await?;
        Entry::new(None, "auth.activation_failed", "user")
            .id(username)
            .failed()
            .ip(Some(ip.to_string()))
            .write(&state.db)
            .await?;
        return Err(AppError::unprocessable("activation_mismatch", MISMATCH));
    };
    let turn = state.hashing_turn().await?;
    let hash = password::hash(claim.new_password.to_string(), state.hash_cost()).await?;
    drop(turn);
    // Only an account that still has no password takes one: two racing activations set it once.
    let res = users::Entity::update_many()
        .col_expr(
            users::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(hash),
        )
        .col_expr(
            users::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now().fixed_offset()),
        )
        .filter(users::Column::Id.eq(user.id))
        .filter(users::Column::PasswordHash.eq(""))
        .exec(&state.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::unprocessable("activation_mismatch", MISMATCH));
    }
    Entry::new(Some(user.id), "auth.activated", "user")
        .id(user.id)
        .ip(Some(ip.to_string()))
        .write(&state.db)
        .await?;
    Ok(user.id)
}
