//! "Download my data": each archive a student asked for, built by a background job (its lease
//! in `job_leases`, kind `data_export`) and kept in the database until it expires, so that any
//! instance can answer the download and a crashed build is taken over by the next request.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_data_exports"
    }
}

#[derive(DeriveIden)]
enum DataExports {
    Table,
    Id,
    StudentId,
    RequestedBy,
    Status,
    RequestedAt,
    FinishedAt,
    ExpiresAt,
    Archive,
    SizeBytes,
    Sha256,
    Error,
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
                    .table(DataExports::Table)
                    .col(big_pk_auto(DataExports::Id))
                    .col(big_integer(DataExports::StudentId))
                    .col(big_integer(DataExports::RequestedBy))
                    .col(string_len(DataExports::Status, 20))
                    .col(timestamp_with_time_zone(DataExports::RequestedAt))
                    .col(timestamp_with_time_zone_null(DataExports::FinishedAt))
                    .col(timestamp_with_time_zone_null(DataExports::ExpiresAt))
                    .col(blob_null(DataExports::Archive))
                    .col(big_integer_null(DataExports::SizeBytes))
                    .col(string_len_null(DataExports::Sha256, 64))
                    .col(text_null(DataExports::Error))
                    .foreign_key(&mut fk(
                        DataExports::Table,
                        DataExports::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            DataExports::Table,
            "student",
            vec![DataExports::StudentId, DataExports::Id],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DataExports::Table).to_owned())
            .await
    }
}
