//! One e-mail in the durable outbox: what to send, to whom, in which language, and where it is
//! on its way (`held` for a digest, `queued`, `sending`, `sent`, `dead`, `digested` when folded
//! into a digest, `discarded` by an administrator).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: Option<i64>,
    pub to_addr: String,
    pub lang: String,
    pub category: String,
    pub kind: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    /// The portal path the message points at (made absolute with `SRM_PUBLIC_URL` when sent).
    pub link: Option<String>,
    pub status: String,
    pub attempts: i64,
    /// Unix seconds: not tried again before then.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub claimed_by: Option<String>,
    /// Unix seconds: the claim of a sender that died is taken over after this.
    pub claimed_until: Option<i64>,
    pub created_at: DateTimeWithTimeZone,
    pub sent_at: Option<DateTimeWithTimeZone>,
    pub message_id: Option<String>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "SetNull")]
    pub user: BelongsTo<Option<super::users::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
