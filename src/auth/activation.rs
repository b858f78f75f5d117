//! First sign-in for students whose accounts the registrar created in bulk. The account has no
//! password until the student shows the one-time activation code printed in their letter (100
//! random bits, kept only as a SHA-256 digest, single use, expiring) and, when the record holds
//! one, their national id or date of birth as a second factor. Staff can read the second factor,
//! so it never suffices alone. Attempts are throttled per student number and per address.

use super::password;
use super::service::state_message;
use super::throttle::{self, Limit, Slot};
use crate::audit::Entry;
use crate::entity::{activation_codes, students, users};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

const MISMATCH: &str = "these details do not match an account waiting for activation; check the code in your letter or ask the registrar for a new one";

/// Crockford's base 32: no I, L, O or U, so a printed code cannot be misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 20 symbols of 5 bits: 100 bits of randomness.
const CODE_LEN: usize = 20;

/// A fresh code, grouped in fives for reading aloud (`7KQ2M-…`).
pub fn new_code() -> String {
    let mut rng = rand::rng();
    let mut out = String::with_capacity(CODE_LEN + 3);
    for i in 0..CODE_LEN {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    }
    out
}

/// The code as typed, reduced to its symbols: case, dashes and spaces do not matter, and the
/// letters people confuse with digits are read as those digits.
fn normalise(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// What is stored: the SHA-256 of the normalised code, in hex. The code has 100 random bits,
/// so a fast hash is enough; a slow one would only make bulk issuing slow.
pub fn digest(code: &str) -> String {
    let sum = Sha256::digest(normalise(code).as_bytes());
    sum.iter().map(|b| format!("{b:02x}")).collect()
}

/// One issued code, shown to the registrar once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedCode {
    pub user_id: i64,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues a fresh code to each account, replacing (and so invalidating) any earlier one. Runs
/// inside the caller's transaction.
pub async fn issue(
    db: &impl ConnectionTrait,
    user_ids: &[i64],
    days: i64,
) -> AppResult<Vec<IssuedCode>> {
    let now = Utc::now();
    let expires_at = now + Duration::days(days.clamp(1, 365));
    let mut issued = Vec::with_capacity(user_ids.len());
    for chunk in user_ids.chunks(500) {
        activation_codes::Entity::delete_many()
            .filter(activation_codes::Column::UserId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
        let fresh: Vec<IssuedCode> = chunk
            .iter()
            .map(|&user_id| IssuedCode {
                user_id,
                code: new_code(),
                expires_at,
            })
            .collect();
        if fresh.is_empty() {
            continue;
        }
        activation_codes::Entity::insert_many(fresh.iter().map(|c| {
            activation_codes::ActiveModel {
                user_id: Set(c.user_id),
                code_hash: Set(digest(&c.code)),
                expires_at: Set(c.expires_at.fixed_offset()),
                created_at: Set(now.fixed_offset()),
                ..Default::default()
            }
        }))
        .exec_without_returning(db)
        .await?;
        issued.extend(fresh);
    }
    Ok(issued)
}

/// What the student types in to activate.
pub struct Claim<'a> {
    pub student_no: &'a str,
    pub code: &'a str,
    pub national_id: &'a str,
    pub birth_date: &'a str,
    pub new_password: &'a str,
}

/// Whether the second factor matches the record (national id first, else date of birth; a
/// record with neither needs the code alone).
fn second_factor(record: &students::Model, claim: &Claim<'_>) -> bool {
    match (&record.national_id, record.birth_date) {
        (Some(nid), _) => {
            let typed = claim.national_id.trim();
            !typed.is_empty() && nid.eq_ignore_ascii_case(typed)
        }
        (None, Some(born)) => {
            NaiveDate::parse_from_str(claim.birth_date.trim(), "%Y-%m-%d").ok() == Some(born)
        }
        (None, None) => true,
    }
}

fn limits(state: &AppState) -> (Limit, Limit) {
    let c = &state.config;
    let window = c.login_window_seconds;
    (
        Limit {
            max: i64::from(c.activation_max_failures),
            window,
            growing: false,
        },
        Limit {
            max: i64::from(c.activation_max_failures_per_ip),
            window,
            growing: false,
        },
    )
}

/// Sets the first password of a bulk-created student account. Answers the user id.
pub async fn activate(state: &AppState, claim: &Claim<'_>, ip: &str) -> AppResult<i64> {
    let username = claim.student_no.trim();
    if let Err(code) = password::validate_new(claim.new_password) {
        return Err(AppError::unprocessable(code, state_message(code)));
    }
    let (by_account, by_address) = limits(state);
    let account_key = format!("act:{}", super::username::fold(username));
    let address_key = format!("actip:{ip}");
    // NOTE: as the login, an address is limited by its failures only, so a whole orientation
    // class activating at once behind one campus address is never shut out. It is checked
    // again, and a failure counted, within the hashing turn: parallel guesses from one address
    // wait for it, so at most one per core passes the limit.
    if let Slot::Refused { retry_after } =
        throttle::check(&state.db, &address_key, by_address).await?
    {
        return refuse_throttled(state, username, ip, retry_after).await;
    }
    if let Slot::Refused { retry_after } =
        throttle::reserve(&state.db, &account_key, by_account).await?
    {
        return refuse_throttled(state, username, ip, retry_after).await;
    }
    let turn = state.hashing_turn().await?;
    if let Slot::Refused { retry_after } =
        throttle::check(&state.db, &address_key, by_address).await?
    {
        drop(turn);
        // The account's slot is given back: nothing was checked.
        throttle::release(&state.db, &account_key).await?;
        return refuse_throttled(state, username, ip, retry_after).await;
    }
    let user = super::service::find_by_name(&state.db, username).await?;
    let (record, code) = match &user {
        Some(u) => (
            students::Entity::find()
                .filter(students::Column::UserId.eq(u.id))
                .one(&state.db)
                .await?,
            activation_codes::Entity::find()
                .filter(activation_codes::Column::UserId.eq(u.id))
                .one(&state.db)
                .await?,
        ),
        None => (None, None),
    };
    let typed = digest(claim.code);
    let ok = match (&user, &record, &code) {
        (Some(u), Some(r), Some(c)) => {
            u.is_active
                && u.password_hash.is_empty()
                && c.expires_at.with_timezone(&Utc) > Utc::now()
                && super::token::constant_time_eq(&c.code_hash, &typed)
                && second_factor(r, claim)
        }
        _ => false,
    };
    let (Some(user), Some(code), true) = (user, code, ok) else {
        throttle::count_failure(&state.db, &address_key, by_address).await?;
        drop(turn);
        Entry::new(None, "auth.activation_failed", "user")
            .id(username)
            .failed()
            .ip(Some(ip.to_string()))
            .write(&state.db)
            .await?;
        return Err(AppError::unprocessable("activation_mismatch", MISMATCH));
    };
    // NOTE: an account whose groups all sign in through the university sets no password.
    if state.sso.is_some()
        && crate::access::service::local_password_rule(&state.db, user.id).await?
            == crate::access::service::LocalPassword::Refused
    {
        Entry::new(Some(user.id), "auth.activation_refused", "user")
            .id(user.id)
            .denied()
            .ip(Some(ip.to_string()))
            .detail(serde_json::json!({"reason": "sso_only"}))
            .write(&state.db)
            .await?;
        return Err(AppError::unprocessable(
            "sso_only",
            "this account signs in through the university's single sign-on only",
        ));
    }
    let hash = password::hash(claim.new_password.to_string(), state.hash_cost()).await?;
    drop(turn);
    let txn = crate::db::write_txn(&state.db).await?;
    // The code is spent by deleting it: of two racing activations only one deletes the row.
    let spent = activation_codes::Entity::delete_many()
        .filter(activation_codes::Column::Id.eq(code.id))
        .filter(activation_codes::Column::CodeHash.eq(typed))
        .exec(&txn)
        .await?;
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
        .exec(&txn)
        .await?;
    if spent.rows_affected == 0 || res.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::unprocessable("activation_mismatch", MISMATCH));
    }
    Entry::new(Some(user.id), "auth.activated", "user")
        .id(user.id)
        .ip(Some(ip.to_string()))
        .write(&txn)
        .await?;
    txn.commit().await?;
    throttle::clear(&state.db, &account_key).await?;
    Ok(user.id)
}

/// A 429 for an activation the limits refused, audited.
async fn refuse_throttled<T>(
    state: &AppState,
    username: &str,
    ip: &str,
    retry_after: u64,
) -> AppResult<T> {
    throttle::refused(
        &state.db,
        "auth.activation_throttled",
        username,
        ip,
        retry_after,
    )
    .await
}

/// First sign-in over the API: activates the account and answers a session for it.
pub async fn activate_and_sign_in(
    state: &AppState,
    claim: &Claim<'_>,
    ip: &str,
) -> AppResult<super::service::LoginOk> {
    let user = activate(state, claim, ip).await?;
    super::service::issue_session(state, user).await
}
