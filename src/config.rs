//! The portal's configuration: one struct read from `SRM_*` environment variables (and
//! overridable per test by merging into the figment).

use rocket::figment::{
    Figment,
    providers::{Env, Serialized},
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AppConfig {
    /// Where the SQLite file and generated secrets live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; the SQLite file in the data dir when unset.
    pub database_url: Option<String>,
    /// Signing key for tokens; generated into the data dir when unset.
    pub jwt_secret: Option<String>,
    /// Seed the demo university when the database is empty (`1`/`0`, `true`/`false`).
    #[serde(deserialize_with = "flag")]
    pub demo: Option<bool>,
    /// Password of every demo account; generated and printed when unset.
    pub demo_password: Option<String>,
    /// Students in the generated demo university.
    pub demo_students: usize,
    /// Mark the session cookie `Secure` (set behind HTTPS).
    #[serde(deserialize_with = "flag_or_false")]
    pub cookie_secure: bool,
    /// Lifetime of a session token.
    pub token_ttl_minutes: i64,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// argon2id cost; the defaults follow OWASP's recommendation.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Failed logins for one account within the window before 429.
    pub login_max_failures: u32,
    /// Failed logins from one address within the window before 429.
    pub login_max_failures_per_ip: u32,
    pub login_window_seconds: i64,
    /// Days an activation code stays valid (`SRM_ACTIVATION_CODE_DAYS`).
    pub activation_code_days: i64,
    /// Failed activations per student number, and per address, within the login window.
    pub activation_max_failures: u32,
    pub activation_max_failures_per_ip: u32,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Real-IP` are believed: comma-separated
    /// addresses or CIDR blocks (`SRM_TRUSTED_PROXIES`, empty by default).
    pub trusted_proxies: String,
    pub db_max_connections: u32,
    /// How much of the SQLite file each connection reads through a memory map, in MiB
    /// (`SRM_SQLITE_MMAP_MB`, 1024; 0: none). Mapped pages are the kernel's file cache, but
    /// they count in the process's resident memory once per connection that touched them.
    pub sqlite_mmap_mb: u64,
    /// The size in MiB past which the SQLite file's write-ahead log is checkpointed and
    /// truncated before the next write (`SRM_SQLITE_WAL_MAX_MB`, 64; 0: never; see
    /// `db::WalBound`).
    pub sqlite_wal_max_mb: u64,
    /// Where scheduled backups are written (and `srm backup` writes without `--out`); the
    /// server takes scheduled backups only when this is set.
    pub backup_dir: Option<PathBuf>,
    /// Hours between scheduled backups (0 = none).
    pub backup_interval_hours: u32,
    /// Scheduled backups kept in the backup dir; older ones are deleted.
    pub backup_keep: usize,
    /// A running job whose instance stopped renewing its lease for this long is interrupted.
    pub job_lease_seconds: u64,
    /// How often each instance checks whether the repeating schedule wants a run.
    pub scheduler_tick_seconds: u64,
    /// The schedule's period in seconds, overriding `schedule_hours` × 3600 (for tests and
    /// drills; unset in production).
    pub schedule_period_seconds: Option<u64>,
    /// `json` for one JSON object per log line; anything else for text.
    pub log_format: String,
    /// The bearer token a Prometheus scraper sends to `GET /metrics` (404 while unset).
    pub metrics_token: Option<String>,
    /// The portal's own address as browsers reach it (`SRM_PUBLIC_URL`, e.g.
    /// `https://portal.example.edu`): single sign-on's redirect and post-logout addresses.
    pub public_url: Option<String>,
    /// Single sign-on: the OpenID provider's issuer (`SRM_OIDC_ISSUER`); off while unset.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
    /// The ID-token claim matched to `users.username` (`SRM_OIDC_USERNAME_CLAIM`).
    pub oidc_username_claim: String,
    /// An unknown identity whose claim is the number of a roster student without an account
    /// gets a student account at first sign-in (`SRM_OIDC_CREATE_STUDENTS`).
    #[serde(deserialize_with = "flag_or_false")]
    pub oidc_create_students: bool,
    /// Where e-mail is sent: `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465`,
    /// `smtp://localhost:25` (plain, for a local relay), with `user:password@` when the server
    /// wants a login. While unset nothing leaves: mail waits in the outbox.
    pub smtp_url: Option<String>,
    /// The sender address of every e-mail (`SRM_MAIL_FROM`), e.g. `Portal <portal@uni.edu>`.
    pub mail_from: String,
    /// Failed sending attempts before a message is dead (shown to administrators).
    pub mail_max_attempts: u32,
    /// The first retry waits this long; each further one twice as long (at most six hours).
    pub mail_retry_base_seconds: u64,
    /// How often each instance looks for mail that is due.
    pub mail_poll_seconds: u64,
    /// The hour of the day (UTC) the daily digests and deadline reminders go out.
    pub mail_digest_hour_utc: u32,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            jwt_secret: None,
            demo: None,
            demo_password: None,
            demo_students: 2000,
            cookie_secure: false,
            token_ttl_minutes: 8 * 60,
            jwt_issuer: "srm".into(),
            jwt_audience: "srm-portal".into(),
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            login_max_failures: 5,
            login_max_failures_per_ip: 50,
            login_window_seconds: 15 * 60,
            activation_code_days: 14,
            activation_max_failures: 5,
            activation_max_failures_per_ip: 30,
            trusted_proxies: String::new(),
            db_max_connections: 16,
            sqlite_mmap_mb: 1024,
            sqlite_wal_max_mb: 64,
            backup_dir: None,
            backup_interval_hours: 24,
            backup_keep: 7,
            job_lease_seconds: 60,
            scheduler_tick_seconds: 60,
            schedule_period_seconds: None,
            log_format: "text".into(),
            metrics_token: None,
            public_url: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_username_claim: "preferred_username".into(),
            oidc_create_students: false,
            smtp_url: None,
            mail_from: "SRM portal <no-reply@localhost>".into(),
            mail_max_attempts: 8,
            mail_retry_base_seconds: 60,
            mail_poll_seconds: 10,
            mail_digest_hour_utc: 7,
        }
    }
}

impl AppConfig {
    /// The database URL in force: the configured one, or the SQLite file in the data dir.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => format!("sqlite://{}?mode=rwc", self.sqlite_path().display()),
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("srm.sqlite")
    }

    /// True when the database is the embedded SQLite file of the data dir.
    pub fn uses_embedded_sqlite(&self) -> bool {
        self.database_url
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
    }

    /// `SRM_DEMO` if set, else on for the embedded SQLite file (under `serve`).
    pub fn demo_enabled(&self) -> bool {
        self.demo.unwrap_or_else(|| self.uses_embedded_sqlite())
    }

    pub fn data_path(&self, name: &str) -> PathBuf {
        Path::new(&self.data_dir).join(name)
    }
}

/// Environment flags arrive as `1`, `0`, `true`, `yes`…; figment gives numbers or strings.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    let raw: Option<Raw> = Option::deserialize(d)?;
    Ok(match raw {
        None => None,
        Some(Raw::Bool(b)) => Some(b),
        Some(Raw::Int(i)) => Some(i != 0),
        Some(Raw::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "" => None,
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected 1 or 0, found '{other}'"
                )));
            }
        },
    })
}

fn flag_or_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(flag(d)?.unwrap_or(false))
}

/// Rocket's own figment (ROCKET_*) with the portal's SRM_* variables merged in.
pub fn figment() -> Figment {
    rocket::Config::figment()
        .merge(Serialized::defaults(AppConfig::default()))
        .merge(Env::prefixed("SRM_").global())
}
