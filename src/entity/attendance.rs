//! One attendance mark: a student at one class meeting (a section on a date).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attendance")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub section_id: i64,
    pub student_id: i64,
    pub held_on: Date,
    /// `present`, `absent`, `late` or `excused`.
    pub status: String,
    /// `roll` (taken in the portal) or `import` (a card reader's CSV).
    pub source: String,
    pub recorded_by: Option<i64>,
    pub recorded_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "section_id", to = "id", on_delete = "Cascade")]
    pub section: BelongsTo<super::sections::Entity>,
    #[sea_orm(belongs_to, from = "student_id", to = "id", on_delete = "Cascade")]
    pub student: BelongsTo<super::students::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
