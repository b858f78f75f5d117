//! `GET /healthz`: the process is alive (no database needed, for a liveness probe).
//! `GET /readyz`: ready for traffic: the database answers and no migration is pending; 503
//! otherwise (for a readiness probe or a load balancer).

use crate::state::AppState;
use migration::MigratorTrait;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get};
use serde::Serialize;

/// What a probe reads: `ok` or `unavailable`, and for readiness the database's and the
/// migrations' state.
#[derive(Debug, Default, Serialize)]
pub struct Health {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<usize>,
}

fn unavailable(database: &'static str) -> Health {
    Health {
        status: "unavailable",
        database: Some(database),
        ..Health::default()
    }
}

#[get("/healthz")]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        ..Health::default()
    })
}

#[get("/readyz")]
pub async fn readyz(state: &State<AppState>) -> (Status, Json<Health>) {
    if let Err(e) = state.db.ping().await {
        tracing::error!(error = %e, "readiness: the database does not answer");
        return (Status::ServiceUnavailable, Json(unavailable("unreachable")));
    }
    match migration::Migrator::get_pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => (
            Status::Ok,
            Json(Health {
                status: "ok",
                database: Some("ok"),
                migrations: Some("current"),
                pending: None,
            }),
        ),
        Ok(pending) => (
            Status::ServiceUnavailable,
            Json(Health {
                migrations: Some("pending"),
                pending: Some(pending.len()),
                ..unavailable("ok")
            }),
        ),
        Err(e) => {
            tracing::error!(error = %e, "readiness: cannot read the migration table");
            (Status::ServiceUnavailable, Json(unavailable("error")))
        }
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![healthz, readyz]
}
