//! What the course recommendations learned at the last mining run: per course, how many were
//! graded and passed; per (course, grade band, later course), how many students with that grade
//! went on to take the later course within two terms and how many passed it.

use crate::common::index;
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000002_course_stats"
    }
}

#[derive(DeriveIden)]
enum CoursePassStats {
    Table,
    CourseId,
    Graded,
    Passed,
    ComputedAt,
}

#[derive(DeriveIden)]
enum CoursePairStats {
    Table,
    Id,
    CourseA,
    Band,
    CourseC,
    Cohort,
    Took,
    Passed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CoursePassStats::Table)
                    .col(big_integer(CoursePassStats::CourseId).primary_key())
                    .col(big_integer(CoursePassStats::Graded))
                    .col(big_integer(CoursePassStats::Passed))
                    .col(timestamp_with_time_zone(CoursePassStats::ComputedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CoursePairStats::Table)
                    .col(big_pk_auto(CoursePairStats::Id))
                    .col(big_integer(CoursePairStats::CourseA))
                    .col(big_integer(CoursePairStats::Band))
                    .col(big_integer(CoursePairStats::CourseC))
                    .col(big_integer(CoursePairStats::Cohort))
                    .col(big_integer(CoursePairStats::Took))
                    .col(big_integer(CoursePairStats::Passed))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            CoursePairStats::Table,
            "from",
            vec![
                CoursePairStats::CourseA,
                CoursePairStats::Band,
                CoursePairStats::CourseC,
            ],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CoursePairStats::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CoursePassStats::Table).to_owned())
            .await
    }
}
