//! A student's activity in the learning platform for one section on one day (clicks, views,
//! posts: `kind`, `all` when the source does not say).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "learning_activity")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub student_id: i64,
    pub section_id: i64,
    pub day: Date,
    pub kind: String,
    pub count: i64,
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
