//! A class meeting whose roll was taken (a section on a date). Students enrolled then without a
//! mark in `attendance` were present.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attendance_rolls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub section_id: i64,
    pub held_on: Date,
    /// `roll` (taken in the portal) or `import` (a card reader's CSV).
    pub source: String,
    pub taken_by: Option<i64>,
    pub taken_at: DateTimeWithTimeZone,
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
}

impl ActiveModelBehavior for ActiveModel {}
