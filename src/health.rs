//! `GET /healthz`: ok once the database answers.

use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get};
use serde_json::{Value, json};

#[get("/healthz")]
pub async fn healthz(state: &State<AppState>) -> (Status, Json<Value>) {
    match state.db.ping().await {
        Ok(()) => (Status::Ok, Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::error!(error = %e, "health check: database does not answer");
            (
                Status::ServiceUnavailable,
                Json(json!({"status": "unavailable"})),
            )
        }
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![healthz]
}
