//! `Idempotency-Key`: a retried or double-clicked API request gets the first answer again
//! instead of a second registration.

use crate::entity::idempotency_keys;
use crate::error::AppResult;
use chrono::Utc;
use rocket::request::{FromRequest, Outcome, Request};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

/// The header's value, when sent (at most 200 characters are kept).
pub struct IdempotencyKey(pub Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IdempotencyKey {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let key = req
            .headers()
            .get_one("Idempotency-Key")
            .map(|k| k.trim().chars().take(200).collect::<String>())
            .filter(|k| !k.is_empty());
        Outcome::Success(IdempotencyKey(key))
    }
}

/// The stored answer for this user's key.
pub async fn replay(
    db: &impl ConnectionTrait,
    user_id: i64,
    key: &str,
) -> AppResult<Option<(u16, String)>> {
    Ok(
        idempotency_keys::Entity::find_by_id((user_id, key.to_string()))
            .one(db)
            .await?
            .map(|r| (r.status as u16, r.body)),
    )
}

pub async fn remember(
    db: &impl ConnectionTrait,
    user_id: i64,
    key: &str,
    status: u16,
    body: &str,
) -> AppResult<()> {
    idempotency_keys::ActiveModel {
        user_id: Set(user_id),
        key: Set(key.to_string()),
        status: Set(i64::from(status)),
        body: Set(body.to_string()),
        created_at: Set(Utc::now().fixed_offset()),
    }
    .insert(db)
    .await?;
    Ok(())
}
