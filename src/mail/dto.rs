//! The request and response bodies of the e-mail API.

use super::categories::{Category, Mode};
use super::queue::Counts;
use crate::entity::{mirror_row, outbox};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// How one category of notifications reaches a person.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pref {
    pub category: Category,
    pub mode: Mode,
}

/// A person's e-mail preferences.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Prefs {
    /// Where their e-mail goes (none: notifications show in the portal only).
    pub email: Option<String>,
    pub prefs: Vec<Pref>,
}

/// New choices (categories left out keep theirs).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PrefsUpdate {
    pub prefs: Vec<Pref>,
}

mirror_row! {
    /// A message that could not be delivered.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct DeadLetter from outbox::Model {
        pub id: i64,
        #[serde(rename = "to")]
        pub to_addr: String,
        pub category: String,
        pub subject: String,
        pub attempts: i64,
        pub last_error: Option<String>,
        pub created_at: DateTime<FixedOffset>,
    }
}

/// The outbox at a glance, for administrators.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxView {
    /// Whether mail leaves the portal (`SRM_SMTP_URL` is set).
    pub delivery_on: bool,
    /// Whether notifications are e-mailed at all (the setting on the cases settings page).
    pub notifications_on: bool,
    pub counts: Counts,
    pub dead: Vec<DeadLetter>,
}
