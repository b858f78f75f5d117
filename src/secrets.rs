//! Secrets never live in the source: they come from the environment or are generated once
//! into the data dir, readable by the owner only.

use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use rand::RngCore;
use std::fs;
use std::io::Write;
use std::path::Path;

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    crate::auth::token::hex_encode(&buf)
}

/// Reads `path`, or writes a fresh value made by `make` with mode 0600.
fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> AppResult<String> {
    if let Ok(existing) = fs::read_to_string(path) {
        let existing = existing.trim().to_string();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let value = make();
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(value.as_bytes())
        .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(value)
}

/// `SRM_JWT_SECRET`, or the generated `jwt_secret` file in the data dir.
pub fn jwt_secret(config: &AppConfig) -> AppResult<Vec<u8>> {
    if let Some(s) = config
        .jwt_secret
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        if s.len() < 32 {
            return Err(AppError::internal(
                "SRM_JWT_SECRET must be at least 32 characters",
            ));
        }
        return Ok(s.as_bytes().to_vec());
    }
    Ok(read_or_create(&config.data_path("jwt_secret"), || random_hex(32))?.into_bytes())
}

/// `SRM_DEMO_PASSWORD`, or a generated one kept in the data dir so every start prints the same.
pub fn demo_password(config: &AppConfig) -> AppResult<String> {
    if let Some(p) = config.demo_password.as_deref().filter(|p| !p.is_empty()) {
        return Ok(p.to_string());
    }
    read_or_create(&config.data_path("demo_password"), || random_hex(6))
}
