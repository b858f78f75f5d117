//! A university's history brought in by `srm import history`: `imported_students` marks the
//! students an import created (minimal records) and keeps the attributes the fairness report
//! reads but no model does (disability, education, prior attempts, credits studied, birth
//! year); `assessments.kind` says whether an assessment is an exam, an assignment, a quiz or
//! other (empty for the assessments the portal's own teachers define).

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000003_history_import"
    }
}

#[derive(DeriveIden)]
enum ImportedStudents {
    Table,
    Id,
    StudentId,
    Disability,
    HighestEducation,
    PriorAttempts,
    CreditsStudied,
    BirthYear,
    ImportedAt,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Kind,
}

#[derive(DeriveIden)]
enum Students {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportedStudents::Table)
                    .col(big_pk_auto(ImportedStudents::Id))
                    .col(big_integer(ImportedStudents::StudentId))
                    .col(string_len_null(ImportedStudents::Disability, 10))
                    .col(string_len_null(ImportedStudents::HighestEducation, 80))
                    .col(integer_null(ImportedStudents::PriorAttempts))
                    .col(double_null(ImportedStudents::CreditsStudied))
                    .col(integer_null(ImportedStudents::BirthYear))
                    .col(timestamp_with_time_zone(ImportedStudents::ImportedAt))
                    .foreign_key(&mut fk(
                        ImportedStudents::Table,
                        ImportedStudents::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            ImportedStudents::Table,
            "student",
            vec![ImportedStudents::StudentId],
            true,
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Assessments::Table)
                    .add_column(string_len_null(Assessments::Kind, 12))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Assessments::Table)
                    .drop_column(Assessments::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ImportedStudents::Table).to_owned())
            .await
    }
}
