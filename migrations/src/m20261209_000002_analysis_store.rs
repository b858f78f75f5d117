//! The analysis store: summary tables the analysis pages read instead of every row of the
//! history. A snapshot (nightly with the analytics schedule, or on demand) replaces them in one
//! transaction: per term × department × major × cohort × advisor the stage counts, the
//! registrations, credits, grades, risk levels and value cells; per group the lifecycle funnel
//! and the recovery with and without care; and one row per snapshot taken.

use crate::common::index;
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000002_analysis_store"
    }
}

#[derive(DeriveIden)]
enum AnalysisTermFacts {
    Table,
    Id,
    TermId,
    DepartmentId,
    MajorId,
    CohortYear,
    AdvisorId,
    StageNew,
    StageForming,
    StageStable,
    StageDeclining,
    StageLeft,
    StageGraduated,
    Enrolled,
    Registrations,
    Drops,
    Credits,
    Graded,
    Passed,
    GradePoints,
    GradeCredits,
    RiskMedium,
    RiskHigh,
    CellDevelop,
    CellEngage,
    CellSupport,
    CellRescue,
}

#[derive(DeriveIden)]
enum AnalysisGroupFacts {
    Table,
    Id,
    DepartmentId,
    MajorId,
    CohortYear,
    AdvisorId,
    Students,
    FunnelNew,
    FunnelForming,
    FunnelStable,
    WithCare,
    WithCareRecovered,
    WithoutCare,
    WithoutCareRecovered,
}

#[derive(DeriveIden)]
enum AnalysisSnapshots {
    Table,
    Id,
    TakenAt,
    TakenBy,
    Seconds,
    TermRows,
    GroupRows,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AnalysisTermFacts as T;
        let mut facts = Table::create();
        facts
            .table(T::Table)
            .col(big_pk_auto(T::Id))
            .col(big_integer(T::TermId))
            .col(big_integer(T::DepartmentId))
            .col(big_integer(T::MajorId))
            .col(big_integer(T::CohortYear))
            .col(big_integer(T::AdvisorId));
        for c in [
            T::StageNew,
            T::StageForming,
            T::StageStable,
            T::StageDeclining,
            T::StageLeft,
            T::StageGraduated,
            T::Enrolled,
            T::Registrations,
            T::Drops,
            T::Graded,
            T::Passed,
            T::RiskMedium,
            T::RiskHigh,
            T::CellDevelop,
            T::CellEngage,
            T::CellSupport,
            T::CellRescue,
        ] {
            facts.col(big_integer(c).default(0));
        }
        for c in [T::Credits, T::GradePoints, T::GradeCredits] {
            facts.col(double(c).default(0.0));
        }
        manager.create_table(facts.to_owned()).await?;
        index(
            manager,
            T::Table,
            "key",
            vec![
                T::TermId,
                T::DepartmentId,
                T::MajorId,
                T::CohortYear,
                T::AdvisorId,
            ],
            true,
        )
        .await?;
        index(
            manager,
            T::Table,
            "advisor",
            vec![T::AdvisorId, T::TermId],
            false,
        )
        .await?;
        use AnalysisGroupFacts as G;
        let mut groups = Table::create();
        groups
            .table(G::Table)
            .col(big_pk_auto(G::Id))
            .col(big_integer(G::DepartmentId))
            .col(big_integer(G::MajorId))
            .col(big_integer(G::CohortYear))
            .col(big_integer(G::AdvisorId));
        for c in [
            G::Students,
            G::FunnelNew,
            G::FunnelForming,
            G::FunnelStable,
            G::WithCare,
            G::WithCareRecovered,
            G::WithoutCare,
            G::WithoutCareRecovered,
        ] {
            groups.col(big_integer(c).default(0));
        }
        manager.create_table(groups.to_owned()).await?;
        index(
            manager,
            G::Table,
            "key",
            vec![G::DepartmentId, G::MajorId, G::CohortYear, G::AdvisorId],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(AnalysisSnapshots::Table)
                    .col(big_pk_auto(AnalysisSnapshots::Id))
                    .col(timestamp_with_time_zone(AnalysisSnapshots::TakenAt))
                    .col(big_integer_null(AnalysisSnapshots::TakenBy))
                    .col(double(AnalysisSnapshots::Seconds))
                    .col(big_integer(AnalysisSnapshots::TermRows))
                    .col(big_integer(AnalysisSnapshots::GroupRows))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AnalysisSnapshots::Table.into_iden(),
            AnalysisGroupFacts::Table.into_iden(),
            AnalysisTermFacts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
