//! The early warning reads each term's learning-platform activity up to its as-of day, a
//! term's sections at a time. An index on (section_id, day) that also holds the student and
//! the count answers that read from the index alone: only the window's days are read, not every
//! row of the table (12 million on the 50,000-student demo).

use crate::common::index;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261212_000001_activity_window_index"
    }
}

#[derive(DeriveIden)]
enum LearningActivity {
    Table,
    SectionId,
    Day,
    StudentId,
    Count,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            LearningActivity::Table,
            "section_day",
            vec![
                LearningActivity::SectionId,
                LearningActivity::Day,
                LearningActivity::StudentId,
                LearningActivity::Count,
            ],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_learning_activity_section_day")
                    .table(LearningActivity::Table)
                    .to_owned(),
            )
            .await
    }
}
