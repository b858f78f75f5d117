//! Per permission group: whether its members may still sign in with a local password, or only
//! through the university's single sign-on. Every existing group keeps local passwords.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_group_local_password"
    }
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    LocalPassword,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .add_column(
                        ColumnDef::new(Groups::LocalPassword)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .drop_column(Groups::LocalPassword)
                    .to_owned(),
            )
            .await
    }
}
