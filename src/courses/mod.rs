//! Courses and course selection (选课信息管理): terms so far.

use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::entity::terms;
use crate::error::AppResult;
use crate::state::AppState;
use rocket::serde::json::Json;
use rocket::{State, get};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

/// Every term, oldest first.
#[get("/terms")]
pub async fn api_terms(
    _on: ModuleOn<on::Courses>,
    _user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<Value>> {
    let list = terms::Entity::find()
        .order_by_asc(terms::Column::Seq)
        .all(&state.db)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|t| json!({"id": t.id, "code": t.code, "name": t.name_en, "name_zh": t.name_zh, "name_en": t.name_en,
                            "is_current": t.is_current, "starts_on": t.starts_on, "ends_on": t.ends_on,
                            "registration_opens_at": t.registration_opens_at, "registration_closes_at": t.registration_closes_at,
                            "add_drop_deadline": t.add_drop_deadline, "credit_limit": t.credit_limit}))
            .collect(),
    ))
}

pub fn api_routes() -> Vec<rocket::Route> {
    rocket::routes![api_terms]
}
