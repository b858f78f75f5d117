//! What the attendance API takes and answers beyond the service's own types.

use super::service::{MarkIn, MeetingOut};
use serde::{Deserialize, Serialize};

/// A meeting's exceptions; every enrolled student not listed was present. Saving replaces the
/// meeting's earlier roll.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RollBody {
    #[schema(max_items = 2000)]
    pub marks: Vec<MarkIn>,
}

/// A section's meetings up to today, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionMeetings {
    pub section_id: i64,
    pub course_code: String,
    pub section_no: String,
    pub term_code: String,
    pub items: Vec<MeetingOut>,
}
