//! The analysis store: one department × major × cohort × advisor (0 for none), over all time.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "analysis_group_facts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub department_id: i64,
    pub major_id: i64,
    pub cohort_year: i64,
    pub advisor_id: i64,
    pub students: i64,
    pub funnel_new: i64,
    pub funnel_forming: i64,
    pub funnel_stable: i64,
    pub with_care: i64,
    pub with_care_recovered: i64,
    pub without_care: i64,
    pub without_care_recovered: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
