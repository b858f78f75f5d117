//! A student's activity in the learning platform for one section on one day (clicks, views,
//! posts: `kind`, `all` when the source does not say).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
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
    #[sea_orm(belongs_to, from = "section_id", to = "id", on_delete = "Cascade")]
    pub section: BelongsTo<super::sections::Entity>,
    #[sea_orm(belongs_to, from = "student_id", to = "id", on_delete = "Cascade")]
    pub student: BelongsTo<super::students::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
