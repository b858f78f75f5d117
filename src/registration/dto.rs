//! Registration's API request and response types.

use crate::entity::{holds, mirror_row, registration_overrides};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// A section to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddBody {
    pub section_id: i64,
}

/// A swap: the registration to leave and the section of the same course to take instead.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SwapBody {
    pub from_registration_id: i64,
    pub to_section_id: i64,
}

/// What a drop did: the registration is dropped, and a waitlisted student may have been
/// promoted into the seat.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DropOut {
    pub id: i64,
    pub status: crate::entity::enrolments::EnrolmentStatus,
    pub promoted_student_id: Option<i64>,
}

/// A hold to place on a student.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HoldBody {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// An override to grant one student.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OverrideBody {
    pub section_id: i64,
    /// `capacity` or `prerequisite`
    #[schema(example = "capacity")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

mirror_row! {
    /// A hold on a student's registration, placed and perhaps lifted.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct HoldOut from holds::Model {
        pub id: i64,
        pub student_id: i64,
        pub reason: String,
        pub placed_by: Option<i64>,
        pub placed_at: DateTime<FixedOffset>,
        pub lifted_by: Option<i64>,
        pub lifted_at: Option<DateTime<FixedOffset>>,
    }
}

mirror_row! {
    /// An override granted to one student for one section.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct OverrideOut from registration_overrides::Model {
        pub id: i64,
        pub student_id: i64,
        pub section_id: i64,
        /// `capacity` or `prerequisite`
        pub kind: String,
        pub reason: String,
        pub granted_by: Option<i64>,
        pub granted_at: DateTime<FixedOffset>,
        pub used_at: Option<DateTime<FixedOffset>>,
    }
}
