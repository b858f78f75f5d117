//! What every request can reach: the database, the configuration and the signing keys.

use crate::auth::password::HashCost;
use crate::auth::token::Keys;
use crate::config::AppConfig;
use sea_orm::DatabaseConnection;

pub struct AppState {
    pub db: DatabaseConnection,
    pub config: AppConfig,
    pub keys: Keys,
}

impl AppState {
    pub fn hash_cost(&self) -> HashCost {
        HashCost::from_config(&self.config)
    }
}
