use migration::{Migrator, MigratorTrait};
#[tokio::main]
async fn main() {
    let db = sea_orm::Database::connect("postgres://postgres@127.0.0.1:5432/test").await.unwrap();
    Migrator::up(&db, None).await.unwrap();
}
