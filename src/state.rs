//! What every request can reach: the database, the configuration and the signing keys.

use crate::access::{Module, Permission};
use crate::auth::password::HashCost;
use crate::auth::token::Keys;
use crate::config::AppConfig;
use std::collections::{HashMap, HashSet};

pub struct AppState {
    pub db: crate::db::Db,
    pub config: AppConfig,
    pub keys: Keys,
    /// At most one argon2 computation per core at a time: each costs ~19 MiB and a core, and
    /// a burst of logins must queue rather than swamp memory and the other requests.
    pub hashing: tokio::sync::Semaphore,
    /// Each user's permissions, groups and student record, by token version.
    pub rights: RightsCache,
    /// The module switches, read at most once a second.
    pub modules: Fresh<HashSet<Module>>,
    /// Every term, read at most once a second (each catalogue request asks which term is
    /// current).
    pub terms: Fresh<std::sync::Arc<Vec<crate::entity::terms::Model>>>,
    /// This instance's name in job leases, and their length.
    pub jobs: crate::jobs::Jobs,
    /// The SMTP transport and e-mail settings.
    pub mail: crate::mail::Mailer,
    /// A hash of a random password at the configured cost: what a login for an unknown name is
    /// verified against, so it costs what a known one does.
    pub dummy_hash: String,
    /// Password verifications run by logins since the start (the test of equal work reads it).
    pub verifications: std::sync::atomic::AtomicU64,
    /// `SRM_TRUSTED_PROXIES`, parsed once.
    pub trusted_proxies: crate::access::client_addr::TrustedProxies,
    /// Single sign-on, when `SRM_OIDC_ISSUER` is set.
    pub sso: Option<crate::auth::sso::Sso>,
}

/// How long this instance trusts its copies of rarely changed rows (the module switches, the
/// terms). A change made on this instance takes effect at once (the copy is forgotten); one
/// made on another instance sharing the database, within this time.
pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// A copy of something read from the database, with the time it was read.
pub struct Fresh<T> {
    entry: std::sync::Mutex<Option<(std::time::Instant, T)>>,
}

impl<T> Default for Fresh<T> {
    fn default() -> Self {
        Fresh {
            entry: std::sync::Mutex::new(None),
        }
    }
}

impl<T: Clone> Fresh<T> {
    /// The copy, when read less than [`FRESH_FOR`] ago.
    pub fn get(&self) -> Option<T> {
        let entry = self.entry.lock().ok()?;
        entry
            .as_ref()
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, value)| value.clone())
    }

    pub fn put(&self, value: T) {
        if let Ok(mut entry) = self.entry.lock() {
            *entry = Some((std::time::Instant::now(), value));
        }
    }

    /// Forgets the copy, after this instance changed what it holds.
    pub fn forget(&self) {
        if let Ok(mut entry) = self.entry.lock() {
            *entry = None;
        }
    }
}

/// Permissions, groups and student record of a user at a token version. Every change of a
/// user's groups, of the permissions of a group they are in, or of the student record their
/// account opens (a merge) bumps their token version in the database, so an entry can never be
/// stale: a changed user simply misses the cache, on every instance.
#[derive(Default)]
pub struct RightsCache {
    entries: std::sync::Mutex<HashMap<(i64, i64), Rights>>,
}

#[derive(Debug, Clone)]
pub struct Rights {
    pub permissions: HashSet<Permission>,
    pub groups: Vec<String>,
    pub student_id: Option<i64>,
}

const RIGHTS_CACHE_MAX: usize = 50_000;

impl RightsCache {
    pub fn get(&self, user_id: i64, token_version: i64) -> Option<Rights> {
        self.entries
            .lock()
            .ok()?
            .get(&(user_id, token_version))
            .cloned()
    }

    pub fn put(&self, user_id: i64, token_version: i64, rights: Rights) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= RIGHTS_CACHE_MAX {
                map.clear();
            }
            map.insert((user_id, token_version), rights);
        }
    }
}

impl AppState {
    pub fn hash_cost(&self) -> HashCost {
        HashCost::from_config(&self.config)
    }

    /// Checks a login's password against the stored hash, or the dummy one when there is none.
    pub async fn verify_password(
        &self,
        password: &str,
        stored: Option<String>,
    ) -> crate::error::AppResult<bool> {
        let turn = self.hashing_turn().await?;
        self.verify_during(&turn, password, stored).await
    }

    /// The same within a hashing turn the caller holds, so that it can check and count around
    /// the verification (the login's per-address limit).
    pub async fn verify_during(
        &self,
        _turn: &tokio::sync::SemaphorePermit<'_>,
        password: &str,
        stored: Option<String>,
    ) -> crate::error::AppResult<bool> {
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::auth::password::verify(password.to_string(), stored, &self.dummy_hash).await
    }

    /// Waits for a turn to hash; the turn ends when the returned permit is dropped.
    pub async fn hashing_turn(&self) -> crate::error::AppResult<tokio::sync::SemaphorePermit<'_>> {
        self.hashing
            .acquire()
            .await
            .map_err(crate::error::AppError::internal)
    }
}
