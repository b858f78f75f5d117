//! One snapshot of the analysis store: when, by whom (none: the schedule), how long, how big.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "analysis_snapshots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub taken_at: DateTimeWithTimeZone,
    pub taken_by: Option<i64>,
    pub seconds: f64,
    pub term_rows: i64,
    pub group_rows: i64,
    /// Which facts the snapshot wrote: 1 the first store; 2 also the value matrix's, the
    /// portfolio's, satisfaction's and retention's; 3 also the grade statistics' scores.
    pub facts: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
