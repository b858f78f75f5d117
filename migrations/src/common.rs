//! Small helpers shared by the migration files: foreign keys and indexes read as one line each.

use sea_orm_migration::prelude::*;

/// A foreign key from `table.col` to `to.id`.
pub fn fk<T, C, U>(
    table: T,
    col: C,
    to: U,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
    U: IntoIden + 'static,
{
    ForeignKey::create()
        .from(table, col)
        .to(to, Alias::new("id"))
        .on_delete(on_delete)
        .to_owned()
}

/// Creates an index named `idx_<table>_<suffix>` over `cols`.
pub async fn index<T, C>(
    manager: &SchemaManager<'_>,
    table: T,
    suffix: &str,
    cols: Vec<C>,
    unique: bool,
) -> Result<(), DbErr>
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
{
    let table = table.into_iden();
    let mut stmt = Index::create();
    stmt.name(format!("idx_{table}_{suffix}")).table(table);
    for c in cols {
        stmt.col(c);
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt.to_owned()).await
}

/// Drops the index `idx_<table>_<suffix>` if it exists (the name [`index`] gives).
pub async fn drop_index<T>(manager: &SchemaManager<'_>, table: T, suffix: &str) -> Result<(), DbErr>
where
    T: IntoIden + 'static,
{
    let table = table.into_iden();
    manager
        .drop_index(
            Index::drop()
                .name(format!("idx_{table}_{suffix}"))
                .table(table)
                .if_exists()
                .to_owned(),
        )
        .await
}
