//! One-time activation codes for bulk-created student accounts: only a SHA-256 of the code is
//! kept, one live code per account (re-issuing replaces it), with its expiry.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_activation_codes"
    }
}

#[derive(DeriveIden)]
enum ActivationCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ActivationCodes::Table)
                    .col(big_pk_auto(ActivationCodes::Id))
                    .col(big_integer(ActivationCodes::UserId))
                    .col(string(ActivationCodes::CodeHash))
                    .col(timestamp_with_time_zone(ActivationCodes::ExpiresAt))
                    .col(timestamp_with_time_zone(ActivationCodes::CreatedAt))
                    .foreign_key(&mut fk(
                        ActivationCodes::Table,
                        ActivationCodes::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            ActivationCodes::Table,
            "user",
            vec![ActivationCodes::UserId],
            true,
        )
        .await?;
        index(
            manager,
            ActivationCodes::Table,
            "hash",
            vec![ActivationCodes::CodeHash],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ActivationCodes::Table).to_owned())
            .await
    }
}
