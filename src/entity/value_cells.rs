//! One student's place in the value matrix for one term: the two scores (0–100), the cell they
//! give under the thresholds of the time, and the components behind them (JSON).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "value_cells")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub student_id: i64,
    pub term_id: i64,
    /// `develop`, `engage`, `support` or `rescue`.
    pub cell: String,
    #[sea_orm(column_type = "Double")]
    pub standing: f64,
    #[sea_orm(column_type = "Double")]
    pub relationship: f64,
    #[sea_orm(column_type = "Text")]
    pub components: String,
    pub computed_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "student_id", to = "id", on_delete = "Cascade")]
    pub student: BelongsTo<super::students::Entity>,
    #[sea_orm(belongs_to, from = "term_id", to = "id", on_delete = "Cascade")]
    pub term: BelongsTo<super::terms::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
