//! The announcement API's request and response types.

use crate::entity::{announcements, mirror_row};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewAnnouncement {
    #[serde(default)]
    pub scope: String,
    pub department_id: Option<i64>,
    pub section_id: Option<i64>,
    #[serde(default)]
    pub title_zh: String,
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub body: String,
    /// RFC 3339, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DD` (UTC); now when absent.
    pub publish_at: Option<String>,
}

mirror_row! {
    /// One announcement.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct AnnouncementItem from announcements::Model {
        pub id: i64,
        /// university, department or section
        pub scope: String,
        pub department_id: Option<i64>,
        pub section_id: Option<i64>,
        pub title_zh: String,
        pub title_en: String,
        pub body: String,
        pub publish_at: DateTime<FixedOffset>,
        pub author_id: Option<i64>,
        pub created_at: DateTime<FixedOffset>,
    }
}

/// The announcements that concern the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnnouncementPage {
    pub items: Vec<AnnouncementItem>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}
