//! A student created by `srm import history`, with the attributes kept for the fairness report
//! only (never a model feature).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "imported_students")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub student_id: i64,
    pub disability: Option<String>,
    pub highest_education: Option<String>,
    pub prior_attempts: Option<i32>,
    #[sea_orm(column_type = "Double", nullable)]
    pub credits_studied: Option<f64>,
    pub birth_year: Option<i32>,
    pub imported_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "student_id", to = "id", on_delete = "Cascade")]
    pub student: BelongsTo<super::students::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
