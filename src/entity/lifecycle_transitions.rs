//! One change of a student's lifecycle stage: from (none for the first one recorded), to, when,
//! the lifecycle rule that gave the new stage and what noticed the change (`source`).

use sea_orm::entity::prelude::*;

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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::students::Entity",
        from = "Column::StudentId",
        to = "super::students::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Students,
}

impl ActiveModelBehavior for ActiveModel {}
