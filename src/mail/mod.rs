//! E-mail that arrives: a durable outbox in the database drained over SMTP by one sender at a
//! time across instances (retries with backoff, dead letters for administrators), each
//! person's choice per category (at once, a daily digest, or the portal only), zh/en texts by
//! the recipient's language, and RFC 8058 one-click unsubscribe links.

mod api;
pub mod categories;
pub mod dto;
mod forms;
pub mod mailer;
mod pages;
pub mod queue;
pub mod render;
pub mod schedule;
pub mod sender;
pub mod service;
pub mod token;

pub use categories::{Category, Mode};
pub use mailer::Mailer;
pub use render::{ActivationLetter, Letter};

crate::typed_api! {
    tag: "mail",
    routes: [
        api::api_prefs,
        api::api_save_prefs,
        api::api_outbox,
    ],
    schemas: [
        dto::Pref,
        dto::Prefs,
        dto::PrefsUpdate,
        dto::DeadLetter,
        dto::OutboxView,
        queue::Counts,
        categories::Category,
        categories::Mode,
    ],
}

pub fn page_routes() -> Vec<rocket::Route> {
    rocket::routes![
        pages::prefs_page,
        pages::prefs_submit,
        pages::unsubscribe_page,
        pages::unsubscribe_post,
        pages::outbox_page,
        pages::outbox_retry,
        pages::outbox_discard,
    ]
}
