//! The one claims type and the one place tokens are made and checked.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// The user's token version when issued; a bump revokes every older token.
    pub ver: i64,
    /// Token id, put on the deny list at logout.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signing keys and the token rules, built once at start.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    secret: Vec<u8>,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl Keys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_minutes: i64) -> Self {
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            secret: secret.to_vec(),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl: Duration::minutes(ttl_minutes.max(1)),
        }
    }

    pub fn issue(
        &self,
        user_id: i64,
        token_version: i64,
    ) -> AppResult<(String, Claims, DateTime<Utc>)> {
        let now = Utc::now();
        let expires = now + self.ttl;
        let claims = Claims {
            sub: user_id.to_string(),
            ver: token_version,
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, claims, expires))
    }

    /// Verifies signature (HS256 only), expiry, issuer and audience. Revocation is checked
    /// against the database by the request guard.
    pub fn decode(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }

    /// The CSRF token of a session: a MAC of its token id, so it is bound to that session.
    pub fn csrf_for(&self, jti: &str) -> String {
        self.mac("csrf", jti)
    }

    pub fn mac(&self, purpose: &str, value: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return String::new();
        };
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex_encode(&mac.finalize().into_bytes()[..16])
    }
}

pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
