//! The SMTP transport and the settings every message needs, built once at start from
//! `SRM_SMTP_URL`, `SRM_MAIL_FROM`, `SRM_PUBLIC_URL` and the retry settings.

use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::time::Duration;

/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: u64 = 6 * 3600;

/// The SMTP transport and what every message needs.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    pub from: String,
    /// `SRM_PUBLIC_URL` without a trailing slash.
    pub public_url: String,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub poll: Duration,
    pub digest_hour_utc: u32,
    /// The key of unsubscribe tokens (the portal's secret).
    pub key: Vec<u8>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("enabled", &self.transport.is_some())
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl Mailer {
    /// From the configuration; an unreadable `SRM_SMTP_URL` or `SRM_MAIL_FROM` stops the start.
    pub fn new(config: &AppConfig, key: &[u8]) -> AppResult<Mailer> {
        let transport = match config.smtp_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| AppError::internal(format!("SRM_SMTP_URL is not usable: {e}")))?
                    .timeout(Some(Duration::from_secs(30)))
                    .build(),
            ),
            _ => None,
        };
        config
            .mail_from
            .parse::<Mailbox>()
            .map_err(|e| AppError::internal(format!("SRM_MAIL_FROM is not an address: {e}")))?;
        Ok(Mailer {
            transport,
            from: config.mail_from.clone(),
            public_url: config
                .public_url
                .as_deref()
                .unwrap_or("http://127.0.0.1:8000")
                .trim()
                .trim_end_matches('/')
                .to_string(),
            max_attempts: config.mail_max_attempts.max(1),
            retry_base: Duration::from_secs(config.mail_retry_base_seconds),
            poll: Duration::from_secs(config.mail_poll_seconds.max(1)),
            digest_hour_utc: config.mail_digest_hour_utc.min(23),
            key: key.to_vec(),
        })
    }

    /// Whether mail leaves the portal (`SRM_SMTP_URL` is set).
    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// The SMTP transport, while delivery is on.
    pub fn transport(&self) -> Option<&AsyncSmtpTransport<Tokio1Executor>> {
        self.transport.as_ref()
    }

    /// The wait before the attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: i64) -> u64 {
        let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
        self.retry_base
            .as_secs()
            .saturating_mul(1u64 << exp)
            .min(MAX_BACKOFF_SECONDS)
    }
}
