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

/// Verifies on a blocking thread against `stored`, or against `dummy` (a real hash of the same
/// cost) when there is no stored hash, so the time taken does not tell whether an account
/// exists: both paths run exactly one argon2 verification and nothing else.
pub async fn verify(password: String, stored: Option<String>, dummy: &str) -> AppResult<bool> {
    let real = stored.is_some();
    let hash = stored.unwrap_or_else(|| dummy.to_string());
    let ok = tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
        // The hash carries its own parameters; verification uses them.
        Ok::<bool, AppError>(
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
        )
    })
    .await
    .map_err(AppError::internal)??;
    Ok(ok && real)
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
