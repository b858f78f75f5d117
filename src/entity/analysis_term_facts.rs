//! The analysis store: one term × department × major × cohort × advisor (0 for none).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "analysis_term_facts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub term_id: i64,
    pub department_id: i64,
    pub major_id: i64,
    pub cohort_year: i64,
    pub advisor_id: i64,
    pub stage_new: i64,
    pub stage_forming: i64,
    pub stage_stable: i64,
    pub stage_declining: i64,
    pub stage_left: i64,
    pub stage_graduated: i64,
    /// Students with at least one course in the term.
    pub enrolled: i64,
    pub registrations: i64,
    pub drops: i64,
    pub credits: f64,
    /// Published grades, passed ones, and grade points × credits over their credits.
    pub graded: i64,
    pub passed: i64,
    pub grade_points: f64,
    pub grade_credits: f64,
    pub risk_medium: i64,
    pub risk_high: i64,
    pub cell_develop: i64,
    pub cell_engage: i64,
    pub cell_support: i64,
    pub cell_rescue: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
