//! Majors, students, their change history, saved segments and resumable import jobs.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000002_students"
    }
}

#[derive(DeriveIden)]
enum Departments {
    Table,
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[derive(DeriveIden)]
enum Majors {
    Table,
    Id,
    Code,
    DepartmentId,
    NameZh,
    NameEn,
}

#[derive(DeriveIden)]
enum Students {
    Table,
    Id,
    UserId,
    StudentNo,
    NationalId,
    NameZh,
    NameEn,
    Gender,
    BirthDate,
    Phone,
    Email,
    Address,
    DepartmentId,
    MajorId,
    CohortYear,
    Status,
    StatusChangedAt,
    AdvisorId,
    MergedIntoId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StudentHistory {
    Table,
    Id,
    StudentId,
    At,
    ActorId,
    Field,
    OldValue,
    NewValue,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Id,
    Name,
    OwnerId,
    Filter,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Id,
    Kind,
    FileHash,
    Status,
    StartedBy,
    StartedAt,
    FinishedAt,
    RowsTotal,
    RowsDone,
    Report,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Majors::Table)
                    .col(big_pk_auto(Majors::Id))
                    .col(string_uniq(Majors::Code))
                    .col(big_integer(Majors::DepartmentId))
                    .col(string(Majors::NameZh))
                    .col(string(Majors::NameEn))
                    .foreign_key(&mut fk(
                        Majors::Table,
                        Majors::DepartmentId,
                        Departments::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Students::Table)
                    .col(big_pk_auto(Students::Id))
                    .col(big_integer_null(Students::UserId).unique_key())
                    .col(string_uniq(Students::StudentNo))
                    .col(string_null(Students::NationalId).unique_key())
                    .col(string(Students::NameZh))
                    .col(string(Students::NameEn))
                    .col(string(Students::Gender))
                    .col(date_null(Students::BirthDate))
                    .col(string_null(Students::Phone))
                    .col(string_null(Students::Email))
                    .col(string_null(Students::Address))
                    .col(big_integer(Students::DepartmentId))
                    .col(big_integer(Students::MajorId))
                    .col(big_integer(Students::CohortYear))
                    .col(string(Students::Status))
                    .col(timestamp_with_time_zone(Students::StatusChangedAt))
                    .col(big_integer_null(Students::AdvisorId))
                    .col(big_integer_null(Students::MergedIntoId))
                    .col(timestamp_with_time_zone(Students::CreatedAt))
                    .col(timestamp_with_time_zone(Students::UpdatedAt))
                    .foreign_key(&mut fk(
                        Students::Table,
                        Students::UserId,
                        Users::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Students::Table,
                        Students::DepartmentId,
                        Departments::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Students::Table,
                        Students::MajorId,
                        Majors::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Students::Table,
                        Students::AdvisorId,
                        Users::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        Students::Table,
                        Students::MergedIntoId,
                        Students::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (suffix, col) in [
            ("department", Students::DepartmentId),
            ("major", Students::MajorId),
            ("cohort", Students::CohortYear),
            ("status", Students::Status),
            ("advisor", Students::AdvisorId),
            ("name_zh", Students::NameZh),
            ("name_en", Students::NameEn),
        ] {
            index(manager, Students::Table, suffix, vec![col], false).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(StudentHistory::Table)
                    .col(big_pk_auto(StudentHistory::Id))
                    .col(big_integer(StudentHistory::StudentId))
                    .col(timestamp_with_time_zone(StudentHistory::At))
                    .col(big_integer_null(StudentHistory::ActorId))
                    .col(string(StudentHistory::Field))
                    .col(text_null(StudentHistory::OldValue))
                    .col(text_null(StudentHistory::NewValue))
                    .foreign_key(&mut fk(
                        StudentHistory::Table,
                        StudentHistory::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            StudentHistory::Table,
            "student",
            vec![StudentHistory::StudentId, StudentHistory::At],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Segments::Table)
                    .col(big_pk_auto(Segments::Id))
                    .col(string(Segments::Name))
                    .col(big_integer(Segments::OwnerId))
                    .col(text(Segments::Filter))
                    .col(timestamp_with_time_zone(Segments::CreatedAt))
                    .foreign_key(&mut fk(
                        Segments::Table,
                        Segments::OwnerId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ImportJobs::Table)
                    .col(big_pk_auto(ImportJobs::Id))
                    .col(string(ImportJobs::Kind))
                    .col(string(ImportJobs::FileHash))
                    .col(string(ImportJobs::Status))
                    .col(big_integer_null(ImportJobs::StartedBy))
                    .col(timestamp_with_time_zone(ImportJobs::StartedAt))
                    .col(timestamp_with_time_zone_null(ImportJobs::FinishedAt))
                    .col(big_integer(ImportJobs::RowsTotal).default(0))
                    .col(big_integer(ImportJobs::RowsDone).default(0))
                    .col(text(ImportJobs::Report).default("{}"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            ImportJobs::Table,
            "hash",
            vec![ImportJobs::FileHash],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ImportJobs::Table.into_iden(),
            Segments::Table.into_iden(),
            StudentHistory::Table.into_iden(),
            Students::Table.into_iden(),
            Majors::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
