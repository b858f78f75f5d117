//! A students import now counts in `rows_done` the file's records up to its last stored batch
//! (it reads and writes the file a batch at a time); before, the rows refused anywhere in the
//! file plus the rows stored. A job interrupted under the old count is resumed from the file's
//! start: its stored rows come back as unchanged, and no row is skipped unwritten.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261214_000002_student_import_records"
    }
}

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Kind,
    Status,
    RowsDone,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let stmt = Query::update()
            .table(ImportJobs::Table)
            .value(ImportJobs::RowsDone, 0)
            .and_where(Expr::col(ImportJobs::Kind).eq("students"))
            .and_where(Expr::col(ImportJobs::Status).is_in(["running", "interrupted"]))
            .to_owned();
        manager.exec_stmt(stmt).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
