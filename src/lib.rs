//! The student-relationship management portal. `build` is the table of contents: every
//! domain's routes are mounted here, and the tests build this same app.

pub mod access;
pub mod account;
pub mod admin;
pub mod analytics;
pub mod api_docs;
pub mod api_params;
pub mod attendance;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod charts;
pub mod cli;
pub mod config;
pub mod courses;
pub mod csv_safe;
pub mod dashboard;
pub mod db;
pub mod entity;
pub mod error;
pub mod grades;
pub mod health;
pub mod history;
pub mod i18n;
pub mod interaction;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod mining;
pub mod paging;
pub mod privacy;
pub mod registration;
pub mod secrets;
pub mod seed;
pub mod settings;
pub mod state;
pub mod students;
pub mod web;

use config::AppConfig;
use error::AppResult;
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use state::AppState;

/// How long a command waits at its end for connections still out before the process exits.
pub const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Prepares the app for one command, runs it, and closes the database whatever its outcome,
/// a failed preparation included (see [`db::Db::close_at_exit`]).
pub async fn with_state<T>(
    config: AppConfig,
    work: impl AsyncFnOnce(&AppState) -> AppResult<T>,
) -> AppResult<T> {
    let db = db::connect(&config).await?;
    let done = match prepare_on(db.clone(), config).await {
        Ok(state) => work(&state).await,
        Err(e) => Err(e),
    };
    db.close_at_exit(CLOSE_WAIT).await;
    done
}

/// Connects, migrates and creates the built-in groups and modules: everything the app needs
/// before it can answer a request.
pub async fn prepare(config: AppConfig) -> AppResult<AppState> {
    let db = db::connect(&config).await?;
    prepare_on(db, config).await
}

/// [`prepare`] on a database already connected.
pub async fn prepare_on(db: db::Db, config: AppConfig) -> AppResult<AppState> {
    db::migrate(&db).await?;
    access::service::ensure_builtins(&db).await?;
    let secret = secrets::jwt_secret(&config)?;
    let mail = mail::Mailer::new(&config, &secret)?;
    let keys = auth::token::Keys::new(
        &secret,
        &config.jwt_issuer,
        &config.jwt_audience,
        config.token_ttl_minutes,
    );
    let trusted_proxies = access::client_addr::TrustedProxies::parse(&config.trusted_proxies)
        .map_err(error::AppError::internal)?;
    let sso = auth::sso::Sso::from_config(&config)?;
    let dummy_hash = auth::password::hash(
        uuid::Uuid::new_v4().simple().to_string(),
        auth::password::HashCost::from_config(&config),
    )
    .await?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    Ok(AppState {
        db,
        keys,
        hashing: tokio::sync::Semaphore::new(cores),
        rights: Default::default(),
        modules: Default::default(),
        terms: Default::default(),
        jobs: jobs::Jobs::from_config(&config),
        mail,
        config,
        dummy_hash,
        verifications: Default::default(),
        trusted_proxies,
        sso,
    })
}

/// The whole app, ready to launch (or to hand to a test client).
pub fn build(figment: Figment, state: AppState) -> Rocket<Build> {
    let figment = if figment.find_value("template_dir").is_ok() {
        figment
    } else {
        figment.merge((
            "template_dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
        ))
    };
    // NOTE: a text form is at most 64 KiB. Only the upload routes read more, with their own
    // limit (`web::upload::Upload`, the API's `Data` guards), so one student cannot make the
    // server hold six 60 MB bodies.
    // NOTE: Rocket believes `X-Real-IP` by default (`ip_header`), so `Request::client_ip` and
    // its `IpAddr` guard would take a forged header for the client. The portal reads the client
    // address in one place (`access::client_addr`: the TCP peer, and forwarded headers only
    // from `SRM_TRUSTED_PROXIES`), so Rocket's own header is always off.
    let figment = figment
        .join(("limits.form", "64 KiB"))
        .join(("limits.data-form", "64 KiB"))
        .merge(("ip_header", false));
    let hsts = state.config.cookie_secure;
    // The trusted proxies are managed on their own too, so reading the client address needs
    // nothing else of the state.
    let proxies = state.trusted_proxies.clone();
    let rocket = rocket::custom(figment)
        .manage(proxies)
        .manage(state)
        .attach(web::templates())
        .attach(web::headers::fairing(hsts))
        .attach(web::flash::fairing())
        .attach(mining::jobs::scheduler())
        .attach(backup::schedule::scheduler())
        .attach(analytics::jobs::scheduler())
        .attach(mail::schedule::scheduler())
        .attach(metrics::RequestMetrics)
        .register("/", web::catchers())
        .mount("/", web::routes())
        .mount("/", health::routes())
        .mount("/", metrics::routes())
        .mount("/", account::page_routes())
        .mount("/", dashboard::page_routes())
        .mount("/", admin::page_routes())
        .mount("/", backup::page_routes())
        .mount("/", students::page_routes())
        .mount("/", courses::page_routes())
        .mount("/", registration::page_routes())
        .mount("/", grades::page_routes())
        .mount("/", mining::page_routes())
        .mount("/", interaction::page_routes())
        .mount("/", analytics::page_routes())
        .mount("/", attendance::page_routes())
        .mount("/", history::page_routes())
        .mount("/", privacy::page_routes())
        .mount("/", mail::page_routes())
        .mount("/", rocket::routes![api_docs::docs_page])
        .mount("/api/v1", account::api_routes())
        .mount("/api/v1", admin::api_routes())
        .mount("/api/v1", students::api_routes())
        .mount("/api/v1", courses::api_routes())
        .mount("/api/v1", registration::api_routes())
        .mount("/api/v1", grades::api_routes())
        .mount("/api/v1", mining::api_routes())
        .mount("/api/v1", interaction::api_routes())
        .mount("/api/v1", analytics::api_routes())
        .mount("/api/v1", attendance::api_routes())
        .mount("/api/v1", privacy::api_routes())
        .mount("/api/v1", mail::api_routes())
        .mount("/api/v1", rocket::routes![api_docs::openapi]);
    let document = api_docs::document();
    rocket
        .manage(api_params::ApiOperations::from_document(&document))
        .attach(api_params::ParamCheck)
        .manage(api_docs::ApiDocument(document))
}
