//! Login and activation throttles as one counter row per key (an account, an address, an
//! activation), so that counting a failure is one atomic statement instead of a count of rows
//! that parallel requests all read before any of them writes. Times are Unix seconds, which
//! compare the same way on SQLite and PostgreSQL.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000002_login_throttles"
    }
}

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    Key,
    Failures,
    WindowStart,
    LastFailure,
    PrevFailure,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottles::Table)
                    .col(string(LoginThrottles::Key).primary_key())
                    .col(big_integer(LoginThrottles::Failures))
                    .col(big_integer(LoginThrottles::WindowStart))
                    .col(big_integer(LoginThrottles::LastFailure))
                    .col(big_integer(LoginThrottles::PrevFailure))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginThrottles::Table).to_owned())
            .await
    }
}
