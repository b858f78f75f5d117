use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[rocket::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SRM_LOG")
                .unwrap_or_else(|_| "info,rocket=warn,sqlx=warn,sea_orm_migration=warn".into()),
        )
        .init();
    if let Err(e) = srm::cli::run(srm::cli::Cli::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
