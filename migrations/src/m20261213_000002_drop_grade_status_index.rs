//! Drops `idx_grades_status_score` (added by `m20261209_000001_grade_statistics_index` for the
//! statistics of all published grades, which now read the analysis store). Without the
//! database's statistics SQLite preferred it, as an equality on its first column, over the index
//! on the student for every query of one student's published grades, and so read all of them
//! (740,000 on the 50,000-student demo) for a student's lifecycle stage: the students list, the
//! 360° profile, "my record" and a student's catalogue took about a second each.

use crate::common::{drop_index, index};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261213_000002_drop_grade_status_index"
    }
}

#[derive(DeriveIden)]
enum Grades {
    Table,
    Status,
    Score,
    SectionId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index(manager, Grades::Table, "status_score").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            Grades::Table,
            "status_score",
            vec![Grades::Status, Grades::Score, Grades::SectionId],
            false,
        )
        .await
    }
}
