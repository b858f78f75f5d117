//! What a notification is about (its category, which a person's preferences are kept by) and
//! how they want each category: at once, in a daily digest, or only in the portal.

use serde::{Deserialize, Serialize};

/// A category of notifications. `Account` (activation letters) is mandatory: always sent at
/// once, never unsubscribed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Cases,
    Grades,
    Registration,
    /// Staff only: a student they advise was flagged for early support.
    Care,
    Announcements,
    Account,
    /// The daily digest itself (its unsubscribe turns every digest category to portal-only).
    Digest,
}

impl Category {
    /// The categories a person chooses a mode for, in the order the page lists them.
    pub const OPTIONAL: &'static [Category] = &[
        Category::Cases,
        Category::Grades,
        Category::Registration,
        Category::Care,
        Category::Announcements,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Category::Cases => "cases",
            Category::Grades => "grades",
            Category::Registration => "registration",
            Category::Care => "care",
            Category::Announcements => "announcements",
            Category::Account => "account",
            Category::Digest => "digest",
        }
    }

    pub fn parse(code: &str) -> Option<Category> {
        [Category::Account, Category::Digest]
            .iter()
            .chain(Category::OPTIONAL)
            .copied()
            .find(|c| c.code() == code)
    }

    /// The category of a notification kind (`case.reply` → cases); None for a kind that only
    /// shows in the portal.
    pub fn of_kind(kind: &str) -> Option<Category> {
        let head = kind.split('.').next().unwrap_or_default();
        match head {
            "case" => Some(Category::Cases),
            "grade" => Some(Category::Grades),
            "registration" => Some(Category::Registration),
            "care" => Some(Category::Care),
            "announcement" => Some(Category::Announcements),
            "account" => Some(Category::Account),
            _ => None,
        }
    }

    /// Whether a person may turn it off (and its e-mail carries an unsubscribe link).
    pub fn optional(self) -> bool {
        !matches!(self, Category::Account)
    }

    /// Whether a student may choose it (care notifications go to staff only).
    pub fn for_students(self) -> bool {
        !matches!(self, Category::Care)
    }
}

/// How a person wants one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// An e-mail for each notification, as it happens (the default).
    Immediate,
    /// One e-mail a day listing the day's notifications.
    Digest,
    /// No e-mail; the notification shows in the portal only.
    Portal,
}

impl Mode {
    pub const ALL: &'static [Mode] = &[Mode::Immediate, Mode::Digest, Mode::Portal];

    pub fn code(self) -> &'static str {
        match self {
            Mode::Immediate => "immediate",
            Mode::Digest => "digest",
            Mode::Portal => "portal",
        }
    }

    pub fn parse(code: &str) -> Option<Mode> {
        Mode::ALL.iter().copied().find(|m| m.code() == code)
    }
}

/// Where an outbox row is on its way.
pub mod status {
    /// Waiting for the person's daily digest.
    pub const HELD: &str = "held";
    pub const QUEUED: &str = "queued";
    /// Claimed by a sender until `claimed_until`.
    pub const SENDING: &str = "sending";
    pub const SENT: &str = "sent";
    /// Failed `SRM_MAIL_MAX_ATTEMPTS` times; an administrator retries or discards it.
    pub const DEAD: &str = "dead";
    /// Folded into a digest (which is its own row).
    pub const DIGESTED: &str = "digested";
    pub const DISCARDED: &str = "discarded";
}
