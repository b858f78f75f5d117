//! Message, notification and segment API.

use super::dto::{
    ConversationPage, ConversationView, MarkedRead, MessageSent, NewConversation, NewSegment,
    NotificationPage, ReplyRequest, SegmentPage, SegmentSaved, Started, whole,
};
use super::notify;
use super::service as messages;
use crate::access::{ModuleOn, Perm, can, on};
use crate::error::{AppResult, ErrorBody};
use crate::i18n::Lang;
use crate::state::AppState;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};

type Who<'r> = Perm<'r, can::UseMessages>;

/// The caller's conversations, most recent first.
#[utoipa::path(
    responses(
        (status = 200, description = "All of the caller's conversations", body = ConversationPage),
        (status = 403, description = "Not allowed to use messages", body = ErrorBody),
    )
)]
#[get("/conversations")]
pub async fn api_list_conversations(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<ConversationPage>> {
    let (items, total, page, per_page) = whole(messages::list(&state.db, who.id).await?);
    Ok(Json(ConversationPage {
        items,
        total,
        page,
        per_page,
    }))
}

/// Write to a teacher/advisor, a student, a section, a course or a saved segment.
#[utoipa::path(
    request_body = NewConversation,
    responses(
        (status = 201, description = "One conversation per recipient", body = Started),
        (status = 403, description = "Not allowed to use messages", body = ErrorBody),
        (status = 422, description = "No allowed recipient, or a field is invalid", body = ErrorBody),
    )
)]
#[post("/conversations", format = "json", data = "<body>")]
pub async fn api_start_conversation(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    body: Json<NewConversation>,
) -> AppResult<(Status, Json<Started>)> {
    let ids = messages::start(&state.db, &who, &body).await?;
    Ok((
        Status::Created,
        Json(Started {
            id: ids.first().copied(),
            recipients: ids.len(),
            ids,
        }),
    ))
}

/// One conversation's messages (members only); marks it read.
#[utoipa::path(
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 404, description = "No such conversation the caller is in", body = ErrorBody),
    )
)]
#[get("/conversations/<id>")]
pub async fn api_show_conversation(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    id: i64,
    lang: Lang,
) -> AppResult<Json<ConversationView>> {
    Ok(Json(messages::show(&state.db, who.id, id, lang).await?))
}

/// Reply in a conversation.
#[utoipa::path(
    request_body = ReplyRequest,
    responses(
        (status = 201, description = "Sent", body = MessageSent),
        (status = 404, description = "No such conversation the caller is in", body = ErrorBody),
        (status = 422, description = "Empty or too long", body = ErrorBody),
    )
)]
#[post("/conversations/<id>/messages", format = "json", data = "<body>")]
pub async fn api_send_message(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    id: i64,
    body: Json<ReplyRequest>,
) -> AppResult<(Status, Json<MessageSent>)> {
    let id = messages::reply(&state.db, &who, id, &body.body).await?;
    Ok((Status::Created, Json(MessageSent { id })))
}

/// The caller's notifications.
#[utoipa::path(
    responses(
        (status = 200, description = "The caller's notifications", body = NotificationPage),
    )
)]
#[get("/notifications")]
pub async fn api_notifications(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<NotificationPage>> {
    let (items, total, page, per_page) = whole(notify::list(&state.db, who.id).await?);
    Ok(Json(NotificationPage {
        items,
        total,
        page,
        per_page,
    }))
}

/// Mark all of the caller's notifications read.
#[utoipa::path(
    responses(
        (status = 200, description = "How many were marked", body = MarkedRead),
    )
)]
#[post("/notifications/read")]
pub async fn api_notifications_read(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<MarkedRead>> {
    let marked_read = notify::mark_all_read(&state.db, who.id).await?;
    Ok(Json(MarkedRead { marked_read }))
}

/// The caller's saved student segments.
#[utoipa::path(
    responses(
        (status = 200, description = "The caller's segments", body = SegmentPage),
    )
)]
#[get("/segments")]
pub async fn api_list_segments(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
) -> AppResult<Json<SegmentPage>> {
    let (items, total, page, per_page) = whole(messages::my_segments(&state.db, who.id).await?);
    Ok(Json(SegmentPage {
        items,
        total,
        page,
        per_page,
    }))
}

/// Save a student-list filter as a segment.
#[utoipa::path(
    request_body = NewSegment,
    responses(
        (status = 201, description = "Saved", body = SegmentSaved),
        (status = 403, description = "Only staff with student lists", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    )
)]
#[post("/segments", format = "json", data = "<body>")]
pub async fn api_save_segment(
    _on: ModuleOn<on::Messages>,
    who: Who<'_>,
    state: &State<AppState>,
    body: Json<NewSegment>,
) -> AppResult<(Status, Json<SegmentSaved>)> {
    let s = messages::save_segment(&state.db, &who, &body.name, &body.filter).await?;
    Ok((
        Status::Created,
        Json(SegmentSaved {
            id: s.id,
            name: s.name,
        }),
    ))
}
