//! Messages: conversations, notifications and the saved student segments staff write to.

mod api;
pub mod dto;
mod forms;
pub mod notify;
mod pages;
pub mod service;

pub use service::save_segment;

crate::typed_api! {
    tag: "messages",
    routes: [
        api::api_list_conversations,
        api::api_start_conversation,
        api::api_show_conversation,
        api::api_send_message,
        api::api_notifications,
        api::api_notifications_read,
        api::api_list_segments,
        api::api_save_segment,
    ],
    schemas: [
        dto::NewConversation,
        dto::ConversationRow,
        dto::ConversationPage,
        dto::ConversationView,
        dto::MemberView,
        dto::MessageView,
        dto::Started,
        dto::ReplyRequest,
        dto::MessageSent,
        dto::NotificationItem,
        dto::NotificationPage,
        dto::MarkedRead,
        dto::NewSegment,
        dto::SegmentItem,
        dto::SegmentPage,
        dto::SegmentSaved,
    ],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::messages_page,
        pages::messages_submit,
        pages::conversation_page,
        pages::conversation_submit,
        pages::notifications_page,
        pages::notifications_read,
    ]
}
