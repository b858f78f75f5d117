//! Grade statistics for the whole university, a term, a department or a department's term
//! read the analysis store instead of grouping every published grade of the history (740,000
//! on the 50,000-student demo): per term × department (of the course) × score, the published
//! grades and how many passed (by the section's pass mark). A snapshot writes the rows with the
//! other facts (`analysis_snapshots.facts` 3). A course's or a section's statistics stay live.

use crate::common::index;
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261213_000001_grade_facts"
    }
}

#[derive(DeriveIden)]
enum AnalysisGradeFacts {
    Table,
    Id,
    TermId,
    DepartmentId,
    Score,
    Graded,
    Passed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AnalysisGradeFacts as G;
        manager
            .create_table(
                Table::create()
                    .table(G::Table)
                    .col(big_pk_auto(G::Id))
                    .col(big_integer(G::TermId))
                    .col(big_integer(G::DepartmentId))
                    .col(double(G::Score))
                    .col(big_integer(G::Graded).default(0))
                    .col(big_integer(G::Passed).default(0))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            G::Table,
            "key",
            vec![G::TermId, G::DepartmentId, G::Score],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AnalysisGradeFacts::Table).to_owned())
            .await
    }
}
