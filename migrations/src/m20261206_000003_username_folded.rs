//! User names are unique whatever their case or Unicode form: each account keeps its name
//! folded (NFKC, lower case, NFKC) in `username_folded`, under a unique index. Existing names
//! are folded here; two that fold alike stop the migration with both names, for an
//! administrator to rename one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000003_username_folded"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    UsernameFolded,
}

/// The same folding as the application's (`entity::users::fold`), kept here so this file never
/// imports the app.
fn fold(name: &str) -> String {
    name.trim()
        .nfkc()
        .flat_map(char::to_lowercase)
        .nfkc()
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::UsernameFolded).string().null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let select = Query::select()
            .columns([Users::Id, Users::Username])
            .from(Users::Table)
            .to_owned();
        let rows = db.query_all(&select).await?;
        let mut seen: HashMap<String, String> = HashMap::new();
        for row in rows {
            let id: i64 = row.try_get("", "id")?;
            let name: String = row.try_get("", "username")?;
            let folded = fold(&name);
            if let Some(other) = seen.insert(folded.clone(), name.clone()) {
                return Err(DbErr::Migration(format!(
                    "the user names '{other}' and '{name}' differ only in case or character width; rename one and start again"
                )));
            }
            let update = Query::update()
                .table(Users::Table)
                .value(Users::UsernameFolded, folded)
                .and_where(Expr::col(Users::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_users_username_folded")
                    .table(Users::Table)
                    .col(Users::UsernameFolded)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_users_username_folded")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::UsernameFolded)
                    .to_owned(),
            )
            .await
    }
}
