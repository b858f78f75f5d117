//! `srm-bench`: load generators that run against a live server, to measure the portal on the
//! days it is busiest. A separate binary, so the server does not link an HTTP client.

mod import;
mod invariants;
mod mining;
mod pages;
mod registration;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "srm-bench",
    version,
    about = "Load generators against a running srm server"
)]
struct Cli {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand, Debug)]
enum BenchWhat {
    /// Registration day: students log in, then all at once browse, add (mostly a few popular
    /// sections) and drop; prints throughput, latency and answers, then checks the invariants
    /// in the database (the same SRM_* configuration as the server).
    Registration(registration::Options),
    /// Every role's main pages and API lists, one user at a time: prints the median and 95th
    /// percentile answer time and the size of each (budget: 50 ms p95, 100 KB).
    Pages(pages::Options),
    /// Mining: `srm mine evaluate --model auto` against scikit-learn on the same CSV files and
    /// folds (UCI Portuguese and generated files); prints wall time, CPU time, peak memory,
    /// ROC AUC and accuracy of both and the ratios. Needs `/usr/bin/time`, python3 and
    /// scikit-learn; no server or database.
    Mining(mining::Options),
    /// The student and history importers against batched INSERTs of the same rows into the
    /// same schema, on fresh databases (SQLite; PostgreSQL with --postgres): rows/s of both,
    /// the ratio and peak memory.
    Import(import::Options),
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SRM_LOG")
        .unwrap_or_else(|_| "warn,sqlx=warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let cli = Cli::parse();
    if let BenchWhat::Mining(opts) = cli.what {
        if let Err(e) = mining::run(opts) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        return;
    }
    let result = match srm::config::figment().extract::<srm::config::AppConfig>() {
        Err(e) => Err(format!("invalid configuration: {e}")),
        Ok(config) => match cli.what {
            BenchWhat::Registration(opts) => registration::run(&config, opts)
                .await
                .map_err(|e| e.to_string()),
            BenchWhat::Pages(opts) => pages::run(&config, opts).await.map_err(|e| e.to_string()),
            // NOTE: answered above, before the configuration is read (it needs none).
            BenchWhat::Mining(_) => Ok(()),
            BenchWhat::Import(opts) => import::run(&config, opts).await.map_err(|e| e.to_string()),
        },
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
