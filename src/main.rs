use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[rocket::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SRM_LOG")
        .unwrap_or_else(|_| "info,rocket=warn,sqlx=warn,sea_orm_migration=warn".into());
    // NOTE: an invalid configuration is reported by `cli::run` below; logging starts first.
    let json = srm::config::figment()
        .extract::<srm::config::AppConfig>()
        .is_ok_and(|c| c.log_format.trim().eq_ignore_ascii_case("json"));
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(false)
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    if let Err(e) = srm::cli::run(srm::cli::Cli::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    // NOTE: exit at once: a background job's blocking work (model training) would otherwise
    // hold the runtime's shutdown until it ends; such jobs are already marked interrupted.
    std::process::exit(0);
}
