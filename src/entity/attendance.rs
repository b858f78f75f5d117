//! One attendance mark: a student at one class meeting (a section on a date).

use sea_orm::entity::prelude::*;

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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::sections::Entity",
        from = "Column::SectionId",
        to = "super::sections::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Sections,
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
