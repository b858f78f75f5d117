//! One student's place in the value matrix for one term: the two scores (0–100), the cell they
//! give under the thresholds of the time, and the components behind them (JSON).

use sea_orm::entity::prelude::*;

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
    #[sea_orm(
        belongs_to = "super::terms::Entity",
        from = "Column::TermId",
        to = "super::terms::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Terms,
}

impl Related<super::terms::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Terms.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
