//! Backups as jobs: each run (from `srm backup`, the schedule or the button) is a row with its
//! status (`running`, `done`, `failed`, `interrupted`), who or which schedule started it, and,
//! when its holder died mid-way, when and where it stopped. Its lease is in `job_leases`.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000004_backup_runs"
    }
}

#[derive(DeriveIden)]
enum BackupRuns {
    Table,
    Id,
    Status,
    Trigger,
    StartedBy,
    StartedAt,
    FinishedAt,
    Holder,
    File,
    Error,
    InterruptedAt,
    InterruptedReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BackupRuns::Table)
                    .col(big_pk_auto(BackupRuns::Id))
                    .col(string_len(BackupRuns::Status, 20))
                    .col(string_len(BackupRuns::Trigger, 20))
                    .col(big_integer_null(BackupRuns::StartedBy))
                    .col(timestamp_with_time_zone(BackupRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(BackupRuns::FinishedAt))
                    .col(string_null(BackupRuns::Holder))
                    .col(string_null(BackupRuns::File))
                    .col(text_null(BackupRuns::Error))
                    .col(timestamp_with_time_zone_null(BackupRuns::InterruptedAt))
                    .col(text_null(BackupRuns::InterruptedReason))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BackupRuns::Table).to_owned())
            .await
    }
}
