//! Jobs that survive crashes: a lease with a heartbeat per running job (and one for the
//! scheduler), the claimed periods of repeating schedules, and on each job table who held it
//! and when and why it was interrupted. An import keeps its file so it can be resumed.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_job_leases"
    }
}

#[derive(DeriveIden)]
enum JobLeases {
    Table,
    Kind,
    JobId,
    Holder,
    Generation,
    AcquiredAt,
    HeartbeatAt,
    LeaseUntil,
    CancelRequested,
}

#[derive(DeriveIden)]
enum JobClaims {
    Table,
    Kind,
    Period,
    ClaimedBy,
    ClaimedAt,
}

#[derive(DeriveIden)]
enum MiningRuns {
    Table,
    Holder,
    InterruptedAt,
    InterruptedReason,
}

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Holder,
    InterruptedAt,
    InterruptedReason,
    Payload,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobLeases::Table)
                    .col(string_len(JobLeases::Kind, 40))
                    .col(big_integer(JobLeases::JobId))
                    .col(string(JobLeases::Holder))
                    .col(big_integer(JobLeases::Generation).default(0))
                    .col(timestamp_with_time_zone(JobLeases::AcquiredAt))
                    .col(timestamp_with_time_zone(JobLeases::HeartbeatAt))
                    .col(timestamp_with_time_zone(JobLeases::LeaseUntil))
                    .col(boolean(JobLeases::CancelRequested).default(false))
                    .primary_key(Index::create().col(JobLeases::Kind).col(JobLeases::JobId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobClaims::Table)
                    .col(string_len(JobClaims::Kind, 40))
                    .col(big_integer(JobClaims::Period))
                    .col(string(JobClaims::ClaimedBy))
                    .col(timestamp_with_time_zone(JobClaims::ClaimedAt))
                    .primary_key(Index::create().col(JobClaims::Kind).col(JobClaims::Period))
                    .to_owned(),
            )
            .await?;
        // NOTE: one column per statement; SQLite alters one thing at a time.
        for col in [
            string_null(MiningRuns::Holder),
            timestamp_with_time_zone_null(MiningRuns::InterruptedAt),
            text_null(MiningRuns::InterruptedReason),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(MiningRuns::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            string_null(ImportJobs::Holder),
            timestamp_with_time_zone_null(ImportJobs::InterruptedAt),
            text_null(ImportJobs::InterruptedReason),
            blob_null(ImportJobs::Payload),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(ImportJobs::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ImportJobs::Payload,
            ImportJobs::InterruptedReason,
            ImportJobs::InterruptedAt,
            ImportJobs::Holder,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ImportJobs::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            MiningRuns::InterruptedReason,
            MiningRuns::InterruptedAt,
            MiningRuns::Holder,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(MiningRuns::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(JobClaims::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(JobLeases::Table).to_owned())
            .await
    }
}
