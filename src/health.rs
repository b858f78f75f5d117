//! `GET /healthz`: the process is alive (no database needed, for a liveness probe).
//! `GET /readyz`: ready for traffic: the database answers and no migration is pending; 503
//! otherwise (for a readiness probe or a load balancer).

use crate::state::AppState;
use migration::MigratorTrait;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get};
use serde_json::{Value, json};

#[get("/healthz")]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[get("/readyz")]
pub async fn readyz(state: &State<AppState>) -> (Status, Json<Value>) {
    if let Err(e) = state.db.ping().await {
        tracing::error!(error = %e, "readiness: the database does not answer");
        return (
            Status::ServiceUnavailable,
            Json(json!({"status": "unavailable", "database": "unreachable"})),
        );
    }
    match migration::Migrator::get_pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => (
            Status::Ok,
            Json(json!({"status": "ok", "database": "ok", "migrations": "current"})),
        ),
        Ok(pending) => (
            Status::ServiceUnavailable,
            Json(json!({"status": "unavailable", "database": "ok",
                "migrations": "pending", "pending": pending.len()})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "readiness: cannot read the migration table");
            (
                Status::ServiceUnavailable,
                Json(json!({"status": "unavailable", "database": "error"})),
            )
        }
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![healthz, readyz]
}
