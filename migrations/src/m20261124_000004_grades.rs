//! Grading scales, assessments and their scores, final grades, change requests and history.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000004_grades"
    }
}

#[derive(DeriveIden)]
enum Students {
    Table,
}

#[derive(DeriveIden)]
enum Sections {
    Table,
}

#[derive(DeriveIden)]
enum GradingScales {
    Table,
    Id,
    Name,
    PassMark,
    IsDefault,
}

#[derive(DeriveIden)]
enum GradingBands {
    Table,
    Id,
    ScaleId,
    MinScore,
    Letter,
    Points,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Id,
    SectionId,
    Name,
    Weight,
    DueAt,
    MaxScore,
}

#[derive(DeriveIden)]
enum AssessmentScores {
    Table,
    Id,
    AssessmentId,
    StudentId,
    Score,
    Status,
    SubmittedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Grades {
    Table,
    Id,
    SectionId,
    StudentId,
    Score,
    Letter,
    Points,
    Status,
    EnteredBy,
    UpdatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum GradeChanges {
    Table,
    Id,
    GradeId,
    OldScore,
    NewScore,
    Reason,
    RequestedBy,
    RequestedAt,
    Status,
    DecidedBy,
    DecidedAt,
    DecisionNote,
}

#[derive(DeriveIden)]
enum GradeHistory {
    Table,
    Id,
    GradeId,
    At,
    ActorId,
    OldScore,
    NewScore,
    Reason,
    ApprovedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GradingScales::Table)
                    .col(big_pk_auto(GradingScales::Id))
                    .col(string_uniq(GradingScales::Name))
                    .col(double(GradingScales::PassMark).default(60.0))
                    .col(boolean(GradingScales::IsDefault).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GradingBands::Table)
                    .col(big_pk_auto(GradingBands::Id))
                    .col(big_integer(GradingBands::ScaleId))
                    .col(double(GradingBands::MinScore))
                    .col(string(GradingBands::Letter))
                    .col(double(GradingBands::Points))
                    .foreign_key(&mut fk(
                        GradingBands::Table,
                        GradingBands::ScaleId,
                        GradingScales::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            GradingBands::Table,
            "scale_min",
            vec![GradingBands::ScaleId, GradingBands::MinScore],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Assessments::Table)
                    .col(big_pk_auto(Assessments::Id))
                    .col(big_integer(Assessments::SectionId))
                    .col(string(Assessments::Name))
                    .col(double(Assessments::Weight))
                    .col(timestamp_with_time_zone_null(Assessments::DueAt))
                    .col(double(Assessments::MaxScore).default(100.0))
                    .foreign_key(&mut fk(
                        Assessments::Table,
                        Assessments::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Assessments::Table,
            "section",
            vec![Assessments::SectionId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssessmentScores::Table)
                    .col(big_pk_auto(AssessmentScores::Id))
                    .col(big_integer(AssessmentScores::AssessmentId))
                    .col(big_integer(AssessmentScores::StudentId))
                    .col(double_null(AssessmentScores::Score))
                    .col(string(AssessmentScores::Status))
                    .col(timestamp_with_time_zone_null(AssessmentScores::SubmittedAt))
                    .col(timestamp_with_time_zone(AssessmentScores::UpdatedAt))
                    .foreign_key(&mut fk(
                        AssessmentScores::Table,
                        AssessmentScores::AssessmentId,
                        Assessments::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        AssessmentScores::Table,
                        AssessmentScores::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            AssessmentScores::Table,
            "assessment_student",
            vec![AssessmentScores::AssessmentId, AssessmentScores::StudentId],
            true,
        )
        .await?;
        index(
            manager,
            AssessmentScores::Table,
            "student",
            vec![AssessmentScores::StudentId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Grades::Table)
                    .col(big_pk_auto(Grades::Id))
                    .col(big_integer(Grades::SectionId))
                    .col(big_integer(Grades::StudentId))
                    .col(double(Grades::Score))
                    .col(string(Grades::Letter))
                    .col(double(Grades::Points))
                    .col(string(Grades::Status))
                    .col(big_integer_null(Grades::EnteredBy))
                    .col(timestamp_with_time_zone(Grades::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Grades::PublishedAt))
                    .check(
                        Expr::col(Grades::Score)
                            .gte(0.0)
                            .and(Expr::col(Grades::Score).lte(100.0)),
                    )
                    .foreign_key(&mut fk(
                        Grades::Table,
                        Grades::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Grades::Table,
                        Grades::StudentId,
                        Students::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Grades::Table,
            "section_student",
            vec![Grades::SectionId, Grades::StudentId],
            true,
        )
        .await?;
        index(
            manager,
            Grades::Table,
            "student",
            vec![Grades::StudentId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(GradeChanges::Table)
                    .col(big_pk_auto(GradeChanges::Id))
                    .col(big_integer(GradeChanges::GradeId))
                    .col(double(GradeChanges::OldScore))
                    .col(double(GradeChanges::NewScore))
                    .col(text(GradeChanges::Reason))
                    .col(big_integer(GradeChanges::RequestedBy))
                    .col(timestamp_with_time_zone(GradeChanges::RequestedAt))
                    .col(string(GradeChanges::Status))
                    .col(big_integer_null(GradeChanges::DecidedBy))
                    .col(timestamp_with_time_zone_null(GradeChanges::DecidedAt))
                    .col(text_null(GradeChanges::DecisionNote))
                    .foreign_key(&mut fk(
                        GradeChanges::Table,
                        GradeChanges::GradeId,
                        Grades::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            GradeChanges::Table,
            "status",
            vec![GradeChanges::Status],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(GradeHistory::Table)
                    .col(big_pk_auto(GradeHistory::Id))
                    .col(big_integer(GradeHistory::GradeId))
                    .col(timestamp_with_time_zone(GradeHistory::At))
                    .col(big_integer_null(GradeHistory::ActorId))
                    .col(double_null(GradeHistory::OldScore))
                    .col(double(GradeHistory::NewScore))
                    .col(text(GradeHistory::Reason))
                    .col(big_integer_null(GradeHistory::ApprovedBy))
                    .foreign_key(&mut fk(
                        GradeHistory::Table,
                        GradeHistory::GradeId,
                        Grades::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            GradeHistory::Table,
            "grade",
            vec![GradeHistory::GradeId],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            GradeHistory::Table.into_iden(),
            GradeChanges::Table.into_iden(),
            Grades::Table.into_iden(),
            AssessmentScores::Table.into_iden(),
            Assessments::Table.into_iden(),
            GradingBands::Table.into_iden(),
            GradingScales::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
