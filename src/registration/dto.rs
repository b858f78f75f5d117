//! Registration's API request and response types.

use serde::{Deserialize, Serialize};

/// A section to add.
#[derive(Debug, Deserialize)]
pub struct AddBody {
    pub section_id: i64,
}

/// A swap: the registration to leave and the section of the same course to take instead.
#[derive(Debug, Deserialize)]
pub struct SwapBody {
    pub from_registration_id: i64,
    pub to_section_id: i64,
}

/// What a drop did: the registration is dropped, and a waitlisted student may have been
/// promoted into the seat.
#[derive(Debug, Serialize)]
pub struct DropOut {
    pub id: i64,
    pub status: crate::entity::enrolments::EnrolmentStatus,
    pub promoted_student_id: Option<i64>,
}

/// A hold to place on a student.
#[derive(Debug, Deserialize)]
pub struct HoldBody {
    pub reason: String,
}

/// An override to grant one student.
#[derive(Debug, Deserialize)]
pub struct OverrideBody {
    pub section_id: i64,
    /// `capacity` or `prerequisite`
    pub kind: String,
    pub reason: String,
}
