//! `GET /metrics` in the Prometheus text format, for a scraper that sends
//! `Authorization: Bearer <SRM_METRICS_TOKEN>` (404 while no token is configured): requests by
//! route, method and status with their latency, connection-pool use, job durations and
//! outcomes, failed logins and throttled requests.

use crate::state::AppState;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Method, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Data, Response, State, get};
use sea_orm::DbBackend;
use std::sync::OnceLock;
use std::time::Instant;

/// Latency buckets in seconds: from a cached page to a long job.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

/// The process's recorder (installed on first use).
fn handle() -> Option<&'static PrometheusHandle> {
    // NOTE: the `metrics` facade has one recorder per process by design; every app built in
    // this process (the tests build many) reports to it.
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| tracing::warn!(error = %e, "metrics are off"))
                .ok()
        })
        .as_ref()
}

/// Records a finished background job.
pub fn job_finished(kind: &'static str, outcome: &'static str, started: Instant) {
    metrics::counter!("srm_jobs_total", "kind" => kind, "outcome" => outcome).increment(1);
    metrics::histogram!("srm_job_duration_seconds", "kind" => kind, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}

struct Started(Instant);

/// Counts and times every request.
pub struct RequestMetrics;

#[rocket::async_trait]
impl Fairing for RequestMetrics {
    fn info(&self) -> Info {
        Info {
            name: "request metrics",
            kind: Kind::Request | Kind::Response | Kind::Liftoff,
        }
    }

    async fn on_liftoff(&self, _: &rocket::Rocket<rocket::Orbit>) {
        handle();
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let started = req.local_cache(|| Started(Instant::now())).0;
        let route = req
            .route()
            .map_or_else(|| "unmatched".to_string(), |r| r.uri.as_str().to_string());
        let method = req.method().as_str();
        let status = res.status().code;
        metrics::counter!("srm_http_requests_total", "route" => route.clone(),
            "method" => method, "status" => status.to_string())
        .increment(1);
        metrics::histogram!("srm_http_request_duration_seconds", "route" => route.clone(),
            "method" => method)
        .record(started.elapsed().as_secs_f64());
        if status == 429 {
            metrics::counter!("srm_throttled_total", "route" => route.clone()).increment(1);
        }
        let login = req.method() == Method::Post
            && matches!(route.as_str(), "/login" | "/api/v1/auth/login");
        // NOTE: a successful page login redirects (303); the API answers 200.
        if login && !matches!(status, 200 | 303 | 429) {
            metrics::counter!("srm_login_failures_total", "route" => route).increment(1);
        }
    }
}

/// A request carrying the configured metrics token.
pub struct Scraper;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Scraper {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(state) = req.rocket().state::<AppState>() else {
            return Outcome::Error((Status::NotFound, ()));
        };
        let Some(token) = state
            .config
            .metrics_token
            .as_deref()
            .filter(|t| !t.is_empty())
        else {
            return Outcome::Error((Status::NotFound, ()));
        };
        let sent = req
            .headers()
            .get_one("Authorization")
            .and_then(|h| h.trim().strip_prefix("Bearer "))
            .unwrap_or_default();
        if crate::auth::token::constant_time_eq(sent.trim(), token) {
            Outcome::Success(Scraper)
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}

#[get("/metrics")]
pub async fn metrics_text(
    _who: Scraper,
    state: &State<AppState>,
) -> (Status, (ContentType, String)) {
    let Some(handle) = handle() else {
        return (
            Status::ServiceUnavailable,
            (ContentType::Plain, "metrics are off\n".into()),
        );
    };
    let (size, idle) = match state.db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    metrics::gauge!("srm_db_pool_connections").set(f64::from(size));
    metrics::gauge!("srm_db_pool_idle").set(idle as f64);
    metrics::gauge!("srm_db_pool_in_use").set(f64::from(size).max(idle as f64) - idle as f64);
    metrics::gauge!("srm_db_pool_max").set(f64::from(state.config.db_max_connections));
    handle.run_upkeep();
    (
        Status::Ok,
        (
            ContentType::new("text", "plain").with_params(("version", "0.0.4")),
            handle.render(),
        ),
    )
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![metrics_text]
}
