//! Mining runs with their metrics, risk flags and staff feedback, clusters, scoring formulas and
//! the suggestion rules that turn factors and clusters into advice.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000005_mining"
    }
}

#[derive(DeriveIden)]
enum Students {
    Table,
}

#[derive(DeriveIden)]
enum Terms {
    Table,
}

#[derive(DeriveIden)]
enum MiningRuns {
    Table,
    Id,
    Kind,
    Status,
    Progress,
    Message,
    AsOf,
    TermId,
    Model,
    Params,
    Metrics,
    StartedBy,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum RiskFlags {
    Table,
    Id,
    RunId,
    StudentId,
    Score,
    Level,
    Reasons,
    Cluster,
    Feedback,
    FeedbackBy,
    FeedbackAt,
}

#[derive(DeriveIden)]
enum MiningClusters {
    Table,
    Id,
    RunId,
    Label,
    Size,
    Centre,
    Description,
    X,
    Y,
}

#[derive(DeriveIden)]
enum ScoringFormulas {
    Table,
    Id,
    Name,
    DepartmentId,
    Weights,
    Threshold,
    IsActive,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SuggestionRules {
    Table,
    Id,
    Code,
    Trigger,
    TextZh,
    TextEn,
    Priority,
    IsActive,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MiningRuns::Table)
                    .col(big_pk_auto(MiningRuns::Id))
                    .col(string(MiningRuns::Kind))
                    .col(string(MiningRuns::Status))
                    .col(double(MiningRuns::Progress).default(0.0))
                    .col(text(MiningRuns::Message).default(""))
                    .col(timestamp_with_time_zone(MiningRuns::AsOf))
                    .col(big_integer_null(MiningRuns::TermId))
                    .col(string_null(MiningRuns::Model))
                    .col(text(MiningRuns::Params).default("{}"))
                    .col(text(MiningRuns::Metrics).default("{}"))
                    .col(big_integer_null(MiningRuns::StartedBy))
                    .col(timestamp_with_time_zone(MiningRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(MiningRuns::FinishedAt))
                    .foreign_key(&mut fk(
                        MiningRuns::Table,
                        MiningRuns::TermId,
                        Terms::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskFlags::Table)
                    .col(big_pk_auto(RiskFlags::Id))
                    .col(big_integer(RiskFlags::RunId))
                    .col(big_integer(RiskFlags::StudentId))
                    .col(double(RiskFlags::Score))
                    .col(string(RiskFlags::Level))
                    .col(text(RiskFlags::Reasons).default("[]"))
                    .col(big_integer_null(RiskFlags::Cluster))
                    .col(string_null(RiskFlags::Feedback))
                    .col(big_integer_null(RiskFlags::FeedbackBy))
                    .col(timestamp_with_time_zone_null(RiskFlags::FeedbackAt))
                    .foreign_key(&mut fk(
                        RiskFlags::Table,
                        RiskFlags::RunId,
                        MiningRuns::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        RiskFlags::Table,
                        RiskFlags::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            RiskFlags::Table,
            "run_student",
            vec![RiskFlags::RunId, RiskFlags::StudentId],
            true,
        )
        .await?;
        index(
            manager,
            RiskFlags::Table,
            "student",
            vec![RiskFlags::StudentId],
            false,
        )
        .await?;
        index(
            manager,
            RiskFlags::Table,
            "run_level",
            vec![RiskFlags::RunId, RiskFlags::Level],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(MiningClusters::Table)
                    .col(big_pk_auto(MiningClusters::Id))
                    .col(big_integer(MiningClusters::RunId))
                    .col(big_integer(MiningClusters::Label))
                    .col(big_integer(MiningClusters::Size))
                    .col(text(MiningClusters::Centre))
                    .col(text(MiningClusters::Description))
                    .col(double(MiningClusters::X).default(0.0))
                    .col(double(MiningClusters::Y).default(0.0))
                    .foreign_key(&mut fk(
                        MiningClusters::Table,
                        MiningClusters::RunId,
                        MiningRuns::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            MiningClusters::Table,
            "run_label",
            vec![MiningClusters::RunId, MiningClusters::Label],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScoringFormulas::Table)
                    .col(big_pk_auto(ScoringFormulas::Id))
                    .col(string(ScoringFormulas::Name))
                    .col(big_integer_null(ScoringFormulas::DepartmentId))
                    .col(text(ScoringFormulas::Weights))
                    .col(double(ScoringFormulas::Threshold))
                    .col(boolean(ScoringFormulas::IsActive).default(false))
                    .col(big_integer_null(ScoringFormulas::CreatedBy))
                    .col(timestamp_with_time_zone(ScoringFormulas::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SuggestionRules::Table)
                    .col(big_pk_auto(SuggestionRules::Id))
                    .col(string_uniq(SuggestionRules::Code))
                    .col(text(SuggestionRules::Trigger))
                    .col(text(SuggestionRules::TextZh))
                    .col(text(SuggestionRules::TextEn))
                    .col(big_integer(SuggestionRules::Priority).default(0))
                    .col(boolean(SuggestionRules::IsActive).default(true))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SuggestionRules::Table.into_iden(),
            ScoringFormulas::Table.into_iden(),
            MiningClusters::Table.into_iden(),
            RiskFlags::Table.into_iden(),
            MiningRuns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
