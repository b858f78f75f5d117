//! The message, notification and segment API's request and response types.

use crate::entity::{mirror_row, notifications, segments};
use crate::students::query::StudentFilter;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// A reply in a conversation.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReplyRequest {
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub body: String,
}

/// A student-list filter saved under a name.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSegment {
    #[serde(default)]
    #[schema(max_length = 100)]
    pub name: String,
    /// The student list's filter (q, department, major, cohort, status, stage, risk).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub filter: StudentFilter,
}

/// The caller's conversations.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConversationPage {
    pub items: Vec<ConversationRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// Conversations started: one per recipient.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    /// The first conversation (the only one when writing to one person).
    pub id: Option<i64>,
    pub ids: Vec<i64>,
    pub recipients: usize,
}

/// A message sent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageSent {
    pub id: i64,
}

mirror_row! {
    /// One notification.
    #[derive(Serialize, utoipa::ToSchema)]
    pub struct NotificationItem from notifications::Model {
        pub id: i64,
        pub user_id: i64,
        pub kind: String,
        pub title: String,
        pub body: String,
        /// A path inside the portal, if the notification points somewhere.
        pub link: Option<String>,
        pub created_at: DateTime<FixedOffset>,
        pub read_at: Option<DateTime<FixedOffset>>,
    }
}

/// The caller's notifications.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationItem>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// How many notifications were marked read.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MarkedRead {
    pub marked_read: u64,
}

mirror_row! {
    /// A saved student segment.
    #[derive(Serialize, utoipa::ToSchema)]
    pub struct SegmentItem from segments::Model {
        pub id: i64,
        pub name: String,
        pub owner_id: i64,
        /// The filter, as JSON text.
        pub filter: String,
        pub created_at: DateTime<FixedOffset>,
    }
}

/// The caller's saved segments.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SegmentPage {
    pub items: Vec<SegmentItem>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// A segment saved.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SegmentSaved {
    pub id: i64,
    pub name: String,
}

/// A whole list as one page.
pub fn whole<T, U: From<T>>(items: Vec<T>) -> (Vec<U>, u64, u64, u64) {
    let n = items.len() as u64;
    (items.into_iter().map(U::from).collect(), n, 1, n.max(1))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewConversation {
    /// A person (a student writes to a teacher or their advisor; staff to a student's account).
    pub to_user_id: Option<i64>,
    /// A student record (staff only, within their scope).
    pub student_id: Option<i64>,
    pub section_id: Option<i64>,
    pub course_id: Option<i64>,
    pub segment_id: Option<i64>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationRow {
    pub id: i64,
    pub subject: String,
    pub kind: String,
    pub last_message_at: String,
    pub unread: bool,
    /// The other members' display names.
    pub with: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub sender_id: i64,
    pub sender: String,
    pub body: String,
    pub sent_at: String,
    pub mine: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    pub id: i64,
    pub subject: String,
    pub kind: String,
    /// The members' display names.
    pub members: Vec<String>,
    /// The members with their role and the courses they share with the caller.
    pub people: Vec<MemberView>,
    pub messages: Vec<MessageView>,
}

/// A conversation member as the caller sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub user_id: i64,
    pub name: String,
    /// The account's kind: `student`, `teacher`, `admin` or `staff`.
    pub role: String,
    /// Advises a student in this conversation.
    pub advisor: bool,
    /// "CODE Title" (in the request's language: `Accept-Language`, else Chinese) of the courses one of them teaches the other
    /// (not dropped); empty for the caller themselves.
    pub courses: Vec<String>,
}
