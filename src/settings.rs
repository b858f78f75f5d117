//! The `settings` table: one text (usually JSON) value per key, chosen by administrators. The
//! modules own their keys and their validation; this is only the storage.

use crate::entity::settings;
use crate::error::AppResult;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

/// A setting's stored text, if any.
pub async fn get(db: &impl ConnectionTrait, key: &str) -> AppResult<Option<String>> {
    Ok(settings::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .map(|s| s.value))
}

/// Stores `value` under `key`, adding the row or replacing it. The caller owns the transaction
/// and the audit entry.
pub async fn put(db: &impl ConnectionTrait, key: &str, value: String) -> AppResult<()> {
    let now = Utc::now().fixed_offset();
    match settings::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
    {
        Some(s) => {
            let mut am: settings::ActiveModel = s.into();
            am.value = Set(value);
            am.updated_at = Set(now);
            am.update(db).await?;
        }
        None => {
            settings::ActiveModel {
                key: Set(key.to_string()),
                value: Set(value),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}
