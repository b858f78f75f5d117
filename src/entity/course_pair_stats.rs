//! Per (course, grade band, later course): students with that grade in the course, how many of
//! them took the later course within two terms, and how many passed it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "course_pair_stats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub course_a: i64,
    /// 0 below 70, 1 from 70, 2 from 85.
    pub band: i64,
    pub course_c: i64,
    pub cohort: i64,
    pub took: i64,
    pub passed: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
