//! Course feedback keeps nothing that orders submissions: the "who answered" rows lose their
//! date, and the answers' sequential ids are replaced by random ones (new answers get random
//! ids too), so neither the id nor the storage order tells which answer came when.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, TransactionTrait};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_feedback_anonymity"
    }
}

#[derive(DeriveIden)]
enum FeedbackSubmissions {
    Table,
    At,
}

#[derive(DeriveIden)]
enum FeedbackAnswers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackSubmissions::Table)
                    .drop_column(FeedbackSubmissions::At)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let txn = db.begin().await?;
        let rows = txn
            .query_all(
                &Query::select()
                    .column(FeedbackAnswers::Id)
                    .from(FeedbackAnswers::Table)
                    .to_owned(),
            )
            .await?;
        let mut used = std::collections::HashSet::new();
        for row in rows {
            let old: i64 = row.try_get("", "id")?;
            let mut new = rand::random_range(1..i64::MAX);
            while !used.insert(new) {
                new = rand::random_range(1..i64::MAX);
            }
            txn.execute(
                &Query::update()
                    .table(FeedbackAnswers::Table)
                    .value(FeedbackAnswers::Id, new)
                    .and_where(Expr::col(FeedbackAnswers::Id).eq(old))
                    .to_owned(),
            )
            .await?;
        }
        txn.commit().await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // NOTE: the dates removed are not restored; the column comes back empty.
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackSubmissions::Table)
                    .add_column(ColumnDef::new(FeedbackSubmissions::At).date().null())
                    .to_owned(),
            )
            .await
    }
}
