//! Announcement API.

use super::dto::{AnnouncementItem, AnnouncementPage, NewAnnouncement};
use super::service as announcements;
use crate::access::{ModuleOn, on};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};

/// Published announcements that concern the caller.
#[utoipa::path(
    responses(
        (status = 200, description = "The latest 100", body = AnnouncementPage),
    )
)]
#[get("/announcements")]
pub async fn api_list_announcements(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
) -> AppResult<Json<AnnouncementPage>> {
    let items: Vec<AnnouncementItem> = announcements::visible(&state.db, user, 100)
        .await?
        .into_iter()
        .map(AnnouncementItem::from)
        .collect();
    let n = items.len() as u64;
    Ok(Json(AnnouncementPage {
        items,
        total: n,
        page: 1,
        per_page: n.max(1),
    }))
}

/// Publish a university, department or section announcement.
#[utoipa::path(
    request_body = NewAnnouncement,
    responses(
        (status = 201, description = "Published (or scheduled)", body = AnnouncementItem),
        (status = 403, description = "Not allowed to publish there", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    )
)]
#[post("/announcements", format = "json", data = "<body>")]
pub async fn api_create_announcement(
    _on: ModuleOn<on::Messages>,
    user: &CurrentUser,
    state: &State<AppState>,
    body: Json<NewAnnouncement>,
) -> AppResult<(Status, Json<AnnouncementItem>)> {
    let created = announcements::create(&state.db, user, &body).await?;
    Ok((Status::Created, Json(created.into())))
}
