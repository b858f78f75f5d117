//! Failure counters for logins and activations, one row per key (`user:<name>`, `ip:<addr>`,
//! `act:<student no>`, `actip:<addr>`).
//!
//! An attempt first *reserves* a slot: one atomic upsert counts it as a failure and answers the
//! new count, before the password is checked. Forty parallel guesses therefore see 1, 2, … 40
//! and only the first `max` get to be verified; the rest are refused with 429. A success then
//! gives its slot back (or clears the account's counter).
//!
//! An address is throttled by its failures alone (`check` before, `count_failure` after), not
//! by attempts in flight: many students share one campus address. Its check is repeated, and
//! a failure counted, inside the hashing turn, so parallel guesses from one address get at
//! most one verification per core past the limit.

use crate::entity::login_throttles;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

/// How many failures a key may collect within a window of seconds. Past `max`, a key with
/// `growing` set is not shut for the rest of the window but must wait 2, 4, 8 … seconds (at
/// most the window) after its previous attempt, so the right password still gets in after a
/// delay; one without it is refused until the window ends.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i64,
    pub window: i64,
    pub growing: bool,
}

impl Limit {
    /// The wait after the previous attempt that the `failures`-th one needs.
    fn delay(self, failures: i64) -> i64 {
        let over = (failures - self.max).clamp(0, 30);
        (1_i64 << over).min(self.window)
    }
}

/// The count after this attempt, or how many seconds until the key may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Granted { failures: i64 },
    Refused { retry_after: u64 },
}

pub fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// Counts one attempt under `key` in a single statement and says whether it may go ahead.
pub async fn reserve(db: &impl ConnectionTrait, key: &str, limit: Limit) -> AppResult<Slot> {
    let now = now_secs();
    let stale = now - limit.window;
    let backend = db.get_database_backend();
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    // NOTE: parameters only; the text differs between backends in placeholder style alone.
    let sql = format!(
        r#"INSERT INTO login_throttles ("key", failures, window_start, last_failure, prev_failure)
           VALUES ({k}, 1, {now}, {now}, 0)
           ON CONFLICT ("key") DO UPDATE SET
             failures = CASE WHEN login_throttles.window_start <= {stale} THEN 1
                             ELSE login_throttles.failures + 1 END,
             window_start = CASE WHEN login_throttles.window_start <= {stale} THEN {now}
                                 ELSE login_throttles.window_start END,
             prev_failure = login_throttles.last_failure,
             last_failure = {now}
           RETURNING failures, window_start, prev_failure"#,
        k = p(1),
        now = p(2),
        stale = p(3),
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [key.into(), now.into(), stale.into()],
        ))
        .await?
        .ok_or_else(|| AppError::internal("the throttle upsert returned no row"))?;
    let failures: i64 = row.try_get("", "failures")?;
    let window_start: i64 = row.try_get("", "window_start")?;
    let prev: i64 = row.try_get("", "prev_failure")?;
    if failures > limit.max {
        if !limit.growing {
            let wait = (window_start + limit.window - now).max(1);
            return Ok(Slot::Refused {
                retry_after: u64::try_from(wait).unwrap_or(1),
            });
        }
        let delay = limit.delay(failures);
        if now - prev < delay {
            // NOTE: a refused attempt checked nothing, so it does not count; it only restarts
            // the wait, which is therefore the whole delay again.
            release(db, key).await?;
            return Ok(Slot::Refused {
                retry_after: u64::try_from(delay).unwrap_or(1),
            });
        }
    }
    Ok(Slot::Granted { failures })
}

/// Whether `key` may try now, counting nothing: refused while it holds `limit.max` failures in
/// the current window (for keys without `growing`: an address). An address counts failures
/// only, so successful sign-ins in flight from one address (a campus behind one NAT on
/// registration day) never shut it.
pub async fn check(db: &impl ConnectionTrait, key: &str, limit: Limit) -> AppResult<Slot> {
    let now = now_secs();
    let row = login_throttles::Entity::find_by_id(key.to_string())
        .one(db)
        .await?;
    Ok(match row {
        Some(r) if r.window_start > now - limit.window && r.failures >= limit.max => {
            let wait = (r.window_start + limit.window - now).max(1);
            Slot::Refused {
                retry_after: u64::try_from(wait).unwrap_or(1),
            }
        }
        Some(r) => Slot::Granted {
            failures: if r.window_start > now - limit.window {
                r.failures
            } else {
                0
            },
        },
        None => Slot::Granted { failures: 0 },
    })
}

/// Counts one failure under `key` (one that `check` let through).
pub async fn count_failure(db: &impl ConnectionTrait, key: &str, limit: Limit) -> AppResult<()> {
    reserve(db, key, limit).await.map(|_| ())
}

/// Gives back the slot an attempt reserved (it succeeded, so it was no failure).
pub async fn release(db: &impl ConnectionTrait, key: &str) -> AppResult<()> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            r#"UPDATE login_throttles SET failures = failures - 1 WHERE "key" = $1 AND failures > 0"#
        }
        _ => {
            r#"UPDATE login_throttles SET failures = failures - 1 WHERE "key" = ?1 AND failures > 0"#
        }
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [key.into()]))
        .await?;
    Ok(())
}

/// Forgets every failure under `key` (a success on the account, or an administrator's reset).
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> AppResult<()> {
    login_throttles::Entity::delete_many()
        .filter(login_throttles::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// The counters that concern one account, for its administration page.
pub async fn for_keys(
    db: &impl ConnectionTrait,
    keys: &[String],
) -> AppResult<Vec<login_throttles::Model>> {
    Ok(login_throttles::Entity::find()
        .filter(login_throttles::Column::Key.is_in(keys.iter().map(String::as_str)))
        .all(db)
        .await?)
}

/// A 429 for an attempt the limits refused, audited as `action` (denied) for `username`.
pub async fn refused<T>(
    db: &impl ConnectionTrait,
    action: &'static str,
    username: &str,
    ip: &str,
    retry_after: u64,
) -> AppResult<T> {
    crate::audit::Entry::new(None, action, "user")
        .id(username)
        .denied()
        .ip(Some(ip.to_string()))
        .write(db)
        .await?;
    Err(crate::error::AppError::TooManyRequests { retry_after })
}
