//! The `srm` command line: `serve` (the default), `migrate`, `seed demo`, `user add`, `backup`
//! and `restore`.

use crate::access::permissions::ADMIN_GROUP;
use crate::admin::service::{NewUser, create_user};
use crate::config::{AppConfig, figment};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use clap::{Parser, Subcommand};
use std::io::BufRead;

#[derive(Parser, Debug)]
#[command(
    name = "srm",
    version,
    about = "Student relationship management portal for a university"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the portal (the default). On first start with the embedded SQLite file, the demo
    /// university is created.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill the database with generated data.
    Seed {
        #[command(subcommand)]
        what: SeedWhat,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        what: UserWhat,
    },
    /// Import data from files.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Data mining: evaluate the risk models on a CSV file.
    Mine {
        #[command(subcommand)]
        what: crate::mining::cli::MineWhat,
    },
    /// Write a backup of the whole database (while the server runs) to one portable file.
    Backup {
        /// The file to write; default: a new file in SRM_BACKUP_DIR (or the data dir's backups/).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// E-mail: send what is due now (the server does this by itself every few seconds).
    Mail {
        #[command(subcommand)]
        what: MailWhat,
    },
    /// Load a backup into an empty database (SQLite, or PostgreSQL via SRM_DATABASE_URL).
    Restore {
        /// The backup file (`.tar.zst`) written by `srm backup`.
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportWhat {
    /// Import students from a CSV file (UTF-8 or GBK, comma or semicolon, English or Chinese
    /// headers), the same code as the upload page and the API. Re-running is safe.
    Students {
        /// The CSV file.
        file: std::path::PathBuf,
        /// Only report what would be added, updated and rejected.
        #[arg(long)]
        dry_run: bool,
        /// Write the rejected rows to this CSV file to fix and import again.
        #[arg(long)]
        rejected: Option<std::path::PathBuf>,
    },
    /// Import a card reader's attendance file (student_no; section, or course_code and
    /// term_code; date; status), the same code as the import page. Re-running is safe.
    Attendance {
        /// The CSV file (UTF-8 or GBK, comma or semicolon).
        file: std::path::PathBuf,
        /// Only report what would be added and rejected.
        #[arg(long)]
        dry_run: bool,
        /// Write the rejected rows to this CSV file to fix and import again.
        #[arg(long)]
        rejected: Option<std::path::PathBuf>,
    },
    /// Import a university's history from a directory of CSV files (presentations.csv,
    /// students.csv, registrations.csv, assessments.csv, results.csv, activity.csv,
    /// attendance.csv; each optional), streaming, in batches. Re-running adds nothing twice;
    /// an interrupted run continues when started again.
    History {
        /// The directory holding the CSV files (UTF-8 or GBK, comma or semicolon).
        dir: std::path::PathBuf,
        /// Only report what would be created and rejected; nothing is written.
        #[arg(long)]
        dry_run: bool,
        /// Write `<file>.rejected.csv` (the refused rows with line and reason) into this
        /// directory.
        #[arg(long)]
        rejected: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum MailWhat {
    /// Send every due e-mail of the outbox over SRM_SMTP_URL once, and print the counts.
    SendDue,
}

#[derive(Subcommand, Debug)]
pub enum SeedWhat {
    /// Generate the demo university into an empty database.
    Demo {
        /// Number of students to generate.
        #[arg(long, default_value_t = 2000)]
        students: usize,
        /// Random seed; the same seed gives the same university.
        #[arg(long, default_value_t = crate::seed::DEFAULT_SEED)]
        seed: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserWhat {
    /// Create an account (by default an administrator). The password is read from the first
    /// line of standard input, or from SRM_NEW_USER_PASSWORD.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// student, teacher, admin or staff
        #[arg(long, default_value = "admin")]
        kind: String,
        /// Group codes to join (repeatable); default: the group named like the kind.
        #[arg(long = "group")]
        groups: Vec<String>,
    },
}

pub async fn run(cli: Cli) -> AppResult<()> {
    let figment = figment();
    let config: AppConfig = figment
        .extract()
        .map_err(|e| AppError::internal(format!("invalid configuration: {e}")))?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(figment, config).await,
        Command::Migrate => {
            crate::with_state(config, async |_| Ok(())).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Seed {
            what: SeedWhat::Demo { students, seed },
        } => {
            crate::with_state(config, async |state| {
                match seed_demo(state, students, seed).await? {
                    Some(summary) => println!(
                        "{}",
                        serde_json::to_string_pretty(&summary).unwrap_or_default()
                    ),
                    None => println!("the database already holds students; nothing was seeded"),
                }
                print_demo_logins(state).await
            })
            .await
        }
        Command::Backup { out } => {
            crate::db::with_db(&config, async |db| {
                let out = out.unwrap_or_else(|| {
                    crate::backup::backup_dir(&config)
                        .join(crate::backup::file_name(chrono::Utc::now()))
                });
                let jobs = crate::jobs::Jobs::from_config(&config);
                let file = out.file_name().map(|n| n.to_string_lossy().into_owned());
                let job = crate::backup::runs::start(db, &jobs, "command", None, file).await?;
                let s = match crate::backup::backup(db, &out).await {
                    Ok(s) => s,
                    Err(e) => {
                        job.finish(db, None, Some(e.to_string())).await?;
                        return Err(e);
                    }
                };
                job.finish(db, None, None).await?;
                println!(
                    "backup written to {} ({} bytes, {} tables, {} rows, schema {}) in {:.1} s",
                    s.path.display(),
                    s.bytes,
                    s.tables,
                    s.rows,
                    s.manifest.schema_version,
                    s.seconds
                );
                Ok(())
            })
            .await
        }
        Command::Restore { file } => {
            crate::db::with_db(&config, async |db| {
                let s = crate::backup::restore(db, &file).await?;
                println!(
                    "restored {} rows in {} tables (schema {}) in {:.1} s",
                    s.rows, s.tables, s.schema_version, s.seconds
                );
                Ok(())
            })
            .await
        }
        Command::Mine { what } => crate::mining::cli::run(&config, what).await,
        Command::Mail {
            what: MailWhat::SendDue,
        } => {
            crate::with_state(config, async |state| {
                if !state.mail.enabled() {
                    return Err(AppError::internal(
                        "SRM_SMTP_URL is unset: nothing can be sent",
                    ));
                }
                let d = crate::mail::sender::send_due(&state.db, &state.mail, &state.jobs.holder)
                    .await?;
                println!(
                    "sent {}, to retry later {}, undeliverable {}",
                    d.sent, d.retrying, d.dead
                );
                Ok(())
            })
            .await
        }
        Command::Import {
            what:
                ImportWhat::Students {
                    file,
                    dry_run,
                    rejected,
                },
        } => {
            crate::with_state(config, async |state| {
                crate::students::import::run_cli(
                    &state.db,
                    &state.jobs,
                    &file,
                    dry_run,
                    rejected.as_deref(),
                )
                .await
            })
            .await
        }
        Command::Import {
            what:
                ImportWhat::Attendance {
                    file,
                    dry_run,
                    rejected,
                },
        } => {
            crate::with_state(config, async |state| {
                crate::attendance::import::run_cli(&state.db, &file, dry_run, rejected.as_deref())
                    .await
            })
            .await
        }
        Command::Import {
            what:
                ImportWhat::History {
                    dir,
                    dry_run,
                    rejected,
                },
        } => {
            crate::with_state(config, async |state| {
                crate::history::service::run_cli(
                    &state.db,
                    &state.jobs,
                    &dir,
                    dry_run,
                    rejected.as_deref(),
                )
                .await
            })
            .await
        }
        Command::User {
            what:
                UserWhat::Add {
                    username,
                    display_name,
                    email,
                    kind,
                    groups,
                },
        } => {
            crate::with_state(config, async |state| {
                let password = match std::env::var("SRM_NEW_USER_PASSWORD") {
                    Ok(p) if !p.is_empty() => p,
                    _ => {
                        eprintln!("password for {username} (one line on standard input):");
                        let mut line = String::new();
                        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                            AppError::internal(format!("cannot read the password: {e}"))
                        })?;
                        line.trim_end_matches(['\r', '\n']).to_string()
                    }
                };
                let groups = if groups.is_empty() {
                    vec![default_group(&kind).to_string()]
                } else {
                    groups
                };
                let display = display_name.unwrap_or_else(|| username.clone());
                let new = NewUser::parse(&username, &display, email.as_deref(), &kind, groups)?;
                let id = create_user(&state.db, state.hash_cost(), &new, &password).await?;
                crate::audit::Entry::new(None, "users.create", "user")
                    .id(id)
                    .detail(serde_json::json!({"username": username, "via": "cli"}))
                    .write(&state.db)
                    .await?;
                println!("created user {username} (id {id})");
                Ok(())
            })
            .await
        }
    }
}

fn default_group(kind: &str) -> &'static str {
    match kind {
        "student" => crate::access::permissions::STUDENT_GROUP,
        "teacher" => crate::access::permissions::TEACHER_GROUP,
        _ => ADMIN_GROUP,
    }
}

/// Seeds the demo university; all demo accounts share one password, hashed once.
pub async fn seed_demo(
    state: &AppState,
    students: usize,
    seed: u64,
) -> AppResult<Option<crate::seed::DemoSummary>> {
    let password = crate::secrets::demo_password(&state.config)?;
    let hash = crate::auth::password::hash(password, state.hash_cost()).await?;
    let opts = crate::seed::DemoOptions {
        students,
        password_hash: hash,
        out_dir: state.config.data_dir.clone(),
        seed,
    };
    let started = std::time::Instant::now();
    let summary = crate::seed::seed_demo(&state.db, &opts).await?;
    if summary.is_some() && state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Fresh tables have no planner statistics until autovacuum gets to them; without them
        // PostgreSQL chose nested loops over whole terms (registration day ran at 480 instead
        // of 823 requests a second until the first ANALYZE).
        use sea_orm::ConnectionTrait;
        state.db.execute_unprepared("ANALYZE").await?;
    }
    if summary.is_some() {
        // The demo shows the early warning as a university runs it: refreshed every week.
        crate::mining::jobs::set_schedule(&state.db, crate::mining::jobs::WEEKLY_HOURS).await?;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "demo university generated"
        );
    }
    Ok(summary)
}

async fn print_demo_logins(state: &AppState) -> AppResult<()> {
    use sea_orm::{EntityTrait, QueryOrder};
    let password = crate::secrets::demo_password(&state.config)?;
    let first = crate::entity::students::Entity::find()
        .order_by_asc(crate::entity::students::Column::Id)
        .one(&state.db)
        .await?
        .map(|s| s.student_no)
        .unwrap_or_else(|| "<student number>".into());
    println!("Demo accounts (password for all: {password}):");
    println!("  admin        administrator");
    println!("  teacher1     teacher with sections in the current term");
    println!("  {first}   a student (every student logs in with their student number)");
    Ok(())
}

/// How long the server waits, once stopped, for connections still out before it exits:
/// shorter than a command's, since a container's stop timeout (10 s by default) counts
/// Rocket's own grace period too.
const SERVE_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves until stopped, then closes the database (also when the server could not start).
async fn serve(figment: rocket::figment::Figment, config: AppConfig) -> AppResult<()> {
    let db = crate::db::connect(&config).await?;
    let served = serve_on(figment, db.clone(), config).await;
    db.close_at_exit(SERVE_CLOSE_WAIT).await;
    served
}

async fn serve_on(
    figment: rocket::figment::Figment,
    db: crate::db::Db,
    config: AppConfig,
) -> AppResult<()> {
    let demo = config.demo_enabled();
    let state = crate::prepare_on(db, config).await?;
    if demo {
        if let Some(summary) = seed_demo(
            &state,
            state.config.demo_students,
            crate::seed::DEFAULT_SEED,
        )
        .await?
        {
            println!(
                "Created the demo university: {} students, {} teachers, {} courses, {} sections.",
                summary.students, summary.teachers, summary.courses, summary.sections
            );
        }
        print_demo_logins(&state).await?;
    }
    let db = state.db.clone();
    let jobs = state.jobs.clone();
    let rocket = crate::build(figment, state);
    let cfg = rocket
        .figment()
        .extract::<rocket::Config>()
        .unwrap_or_default();
    println!("Serving the portal at http://{}:{}/", cfg.address, cfg.port);
    rocket
        .launch()
        .await
        .map_err(|e| AppError::internal(format!("the server stopped: {e}")))?;
    // NOTE: Rocket returns here after SIGTERM or Ctrl-C, once in-flight requests finished
    // (bounded by ROCKET_SHUTDOWN's grace and mercy). This instance's jobs cannot finish now:
    // they are marked interrupted at once rather than waiting for their leases to run out.
    match crate::jobs::interrupt_own(&db, &jobs.holder, "the instance shut down").await {
        Ok(n) => tracing::info!(jobs = n, "shut down; own running jobs marked interrupted"),
        Err(e) => tracing::warn!(error = %e, "shut down; could not mark own jobs interrupted"),
    }
    Ok(())
}
