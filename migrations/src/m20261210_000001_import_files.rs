//! The file an import keeps to be resumed, in a table of its own: on SQLite an UPDATE
//! rewrites the whole row, so a file kept in `import_jobs.payload` was copied again by every
//! batch's progress update (quadratic in the file's size).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000001_import_files"
    }
}

#[derive(DeriveIden)]
enum ImportFiles {
    Table,
    JobId,
    Payload,
}

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportFiles::Table)
                    .col(big_integer(ImportFiles::JobId).primary_key())
                    .col(blob(ImportFiles::Payload))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportFiles::Table, ImportFiles::JobId)
                            .to(ImportJobs::Table, ImportJobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportFiles::Table).to_owned())
            .await
    }
}
