//! E-mail that leaves the portal: `outbox` is the durable queue the sender drains (claimed by
//! one instance at a time, retried with backoff, dead after too many failures), and
//! `notification_prefs` holds each person's choice per category (immediately, a daily digest,
//! or the portal only). Times the sender compares in SQL (`next_attempt_at`, `claimed_until`)
//! are Unix seconds, so the comparison is the same on SQLite and PostgreSQL.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_outbox"
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    UserId,
    ToAddr,
    Lang,
    Category,
    Kind,
    Subject,
    BodyText,
    Link,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    ClaimedBy,
    ClaimedUntil,
    CreatedAt,
    SentAt,
    MessageId,
}

#[derive(DeriveIden)]
enum NotificationPrefs {
    Table,
    UserId,
    Category,
    Mode,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[derive(DeriveIden)]
enum Announcements {
    Table,
    NotifiedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(big_integer_null(Outbox::UserId))
                    .col(string_len(Outbox::ToAddr, 320))
                    .col(string_len(Outbox::Lang, 5))
                    .col(string_len(Outbox::Category, 20))
                    .col(string_len(Outbox::Kind, 40))
                    .col(string_len(Outbox::Subject, 250))
                    .col(text(Outbox::BodyText))
                    .col(string_len_null(Outbox::Link, 500))
                    .col(string_len(Outbox::Status, 10))
                    .col(big_integer(Outbox::Attempts).default(0))
                    .col(big_integer(Outbox::NextAttemptAt))
                    .col(text_null(Outbox::LastError))
                    .col(string_len_null(Outbox::ClaimedBy, 120))
                    .col(big_integer_null(Outbox::ClaimedUntil))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .col(string_len_null(Outbox::MessageId, 250))
                    .foreign_key(&mut fk(
                        Outbox::Table,
                        Outbox::UserId,
                        Users::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Outbox::Table,
            "due",
            vec![Outbox::Status, Outbox::NextAttemptAt],
            false,
        )
        .await?;
        index(
            manager,
            Outbox::Table,
            "user",
            vec![Outbox::UserId, Outbox::Status],
            false,
        )
        .await?;
        index(
            manager,
            Outbox::Table,
            "claim",
            vec![Outbox::ClaimedBy],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationPrefs::Table)
                    .col(big_integer(NotificationPrefs::UserId))
                    .col(string_len(NotificationPrefs::Category, 20))
                    .col(string_len(NotificationPrefs::Mode, 10))
                    .col(timestamp_with_time_zone(NotificationPrefs::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(NotificationPrefs::UserId)
                            .col(NotificationPrefs::Category),
                    )
                    .foreign_key(&mut fk(
                        NotificationPrefs::Table,
                        NotificationPrefs::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // Announcements notify their readers once published; those already out are done.
        manager
            .alter_table(
                Table::alter()
                    .table(Announcements::Table)
                    .add_column(timestamp_with_time_zone_null(Announcements::NotifiedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute(
                &Query::update()
                    .table(Announcements::Table)
                    .value(
                        Announcements::NotifiedAt,
                        Expr::col(Announcements::CreatedAt),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Announcements::Table)
                    .drop_column(Announcements::NotifiedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(NotificationPrefs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
