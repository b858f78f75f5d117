//! One change of a student's lifecycle stage: from (none for the first one recorded), to, when,
//! the lifecycle rule that gave the new stage and what noticed the change (`source`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lifecycle_transitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub student_id: i64,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub at: DateTimeWithTimeZone,
    /// The rule of `students::lifecycle` that fired: `withdrawn`, `failed_course`, …
    pub rule: String,
    /// `schedule`, `grade_publish`, `status_change` or `history` (the demo's reconstruction).
    pub source: String,
    #[sea_orm(belongs_to, from = "student_id", to = "id", on_delete = "Cascade")]
    pub student: BelongsTo<super::students::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
