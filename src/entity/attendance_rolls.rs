//! A class meeting whose roll was taken (a section on a date). Students enrolled then without a
//! mark in `attendance` were present.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
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
    #[sea_orm(belongs_to, from = "section_id", to = "id", on_delete = "Cascade")]
    pub section: BelongsTo<super::sections::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
