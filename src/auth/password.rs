//! argon2id password hashing, always off the request threads.

use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};

/// The cost parameters in force.
#[derive(Debug, Clone, Copy)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl HashCost {
    pub fn from_config(c: &AppConfig) -> Self {
        HashCost {
            memory_kib: c.argon2_memory_kib,
            iterations: c.argon2_iterations,
        }
    }

    fn hasher(self) -> AppResult<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| AppError::internal(format!("bad argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes on a blocking thread.
pub async fn hash(password: String, cost: HashCost) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password, cost))
        .await
        .map_err(AppError::internal)?
}

pub fn hash_blocking(password: &str, cost: HashCost) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(cost
        .hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(AppError::internal)?
        .to_string())
}

/// Verifies on a blocking thread. A missing hash still costs one verification, so the time
/// taken does not tell whether an account exists.
pub async fn verify(password: String, stored: Option<String>, cost: HashCost) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let dummy;
        let stored = match &stored {
            Some(s) => s.as_str(),
            None => {
                dummy = hash_blocking("not-a-real-password", cost)?;
                dummy.as_str()
            }
        };
        let parsed = PasswordHash::new(stored).map_err(AppError::internal)?;
        // The hash carries its own parameters; verification uses them.
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

/// The rules a new password must satisfy.
pub fn validate_new(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 8 {
        return Err("password_too_short");
    }
    if n > 200 {
        return Err("password_too_long");
    }
    Ok(())
}
