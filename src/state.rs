//! What every request can reach: the database, the configuration and the signing keys.

use crate::auth::password::HashCost;
use crate::auth::token::Keys;
use crate::config::AppConfig;
use sea_orm::DatabaseConnection;

pub struct AppState {
    pub db: DatabaseConnection,
    pub config: AppConfig,
    pub keys: Keys,
    /// At most one argon2 computation per core at a time: each costs ~19 MiB and a core, and
    /// a burst of logins must queue rather than swamp memory and the other requests.
    pub hashing: tokio::sync::Semaphore,
}

impl AppState {
    pub fn hash_cost(&self) -> HashCost {
        HashCost::from_config(&self.config)
    }

    /// Waits for a turn to hash; the turn ends when the returned permit is dropped.
    pub async fn hashing_turn(&self) -> crate::error::AppResult<tokio::sync::SemaphorePermit<'_>> {
        self.hashing
            .acquire()
            .await
            .map_err(crate::error::AppError::internal)
    }
}
