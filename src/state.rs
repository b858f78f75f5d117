//! What every request can reach: the database, the configuration and the signing keys.

use crate::access::Permission;
use crate::auth::password::HashCost;
use crate::auth::token::Keys;
use crate::config::AppConfig;
use sea_orm::DatabaseConnection;
use std::collections::{HashMap, HashSet};

pub struct AppState {
    pub db: DatabaseConnection,
    pub config: AppConfig,
    pub keys: Keys,
    /// At most one argon2 computation per core at a time: each costs ~19 MiB and a core, and
    /// a burst of logins must queue rather than swamp memory and the other requests.
    pub hashing: tokio::sync::Semaphore,
    /// Each user's permissions and groups, by token version.
    pub rights: RightsCache,
}

/// Permissions and groups of a user at a token version. Every change of a user's groups, or of
/// the permissions of a group they are in, bumps their token version in the database, so an
/// entry can never be stale: a changed user simply misses the cache, on every instance.
#[derive(Default)]
pub struct RightsCache {
    entries: std::sync::Mutex<HashMap<(i64, i64), Rights>>,
}

type Rights = (HashSet<Permission>, Vec<String>);

const RIGHTS_CACHE_MAX: usize = 50_000;

impl RightsCache {
    pub fn get(&self, user_id: i64, token_version: i64) -> Option<Rights> {
        self.entries
            .lock()
            .ok()?
            .get(&(user_id, token_version))
            .cloned()
    }

    pub fn put(
        &self,
        user_id: i64,
        token_version: i64,
        permissions: HashSet<Permission>,
        groups: Vec<String>,
    ) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= RIGHTS_CACHE_MAX {
                map.clear();
            }
            map.insert((user_id, token_version), (permissions, groups));
        }
    }
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
