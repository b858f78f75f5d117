//! Conversations and messages, notifications, cases (inquiries and complaints) with their
//! history and ratings, anonymous course feedback, announcements and care interventions.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000006_interaction"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[derive(DeriveIden)]
enum Students {
    Table,
}

#[derive(DeriveIden)]
enum Sections {
    Table,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    Subject,
    Kind,
    CreatedBy,
    CreatedAt,
    LastMessageAt,
}

#[derive(DeriveIden)]
enum ConversationMembers {
    Table,
    ConversationId,
    UserId,
    LastReadAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ConversationId,
    SenderId,
    Body,
    SentAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    Title,
    Body,
    Link,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    StudentId,
    Category,
    Topic,
    Subject,
    Body,
    DepartmentId,
    Queue,
    Status,
    AssignedTo,
    CreatedAt,
    DueAt,
    FirstResponseAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum CaseEvents {
    Table,
    Id,
    CaseId,
    AuthorId,
    Kind,
    Body,
    Status,
    At,
}

#[derive(DeriveIden)]
enum CaseRatings {
    Table,
    CaseId,
    Rating,
    Comment,
    At,
}

#[derive(DeriveIden)]
enum FeedbackSubmissions {
    Table,
    SectionId,
    StudentId,
    At,
}

#[derive(DeriveIden)]
enum FeedbackAnswers {
    Table,
    Id,
    SectionId,
    Teaching,
    Content,
    Workload,
    Overall,
    Comment,
}

#[derive(DeriveIden)]
enum Announcements {
    Table,
    Id,
    Scope,
    DepartmentId,
    SectionId,
    TitleZh,
    TitleEn,
    Body,
    PublishAt,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Interventions {
    Table,
    Id,
    StudentId,
    FlagId,
    StaffId,
    Kind,
    Notes,
    HappenedOn,
    FollowUpOn,
    Outcome,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(big_pk_auto(Conversations::Id))
                    .col(string(Conversations::Subject))
                    .col(string(Conversations::Kind))
                    .col(big_integer(Conversations::CreatedBy))
                    .col(timestamp_with_time_zone(Conversations::CreatedAt))
                    .col(timestamp_with_time_zone(Conversations::LastMessageAt))
                    .foreign_key(&mut fk(
                        Conversations::Table,
                        Conversations::CreatedBy,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConversationMembers::Table)
                    .col(big_integer(ConversationMembers::ConversationId))
                    .col(big_integer(ConversationMembers::UserId))
                    .col(timestamp_with_time_zone_null(
                        ConversationMembers::LastReadAt,
                    ))
                    .primary_key(
                        Index::create()
                            .col(ConversationMembers::ConversationId)
                            .col(ConversationMembers::UserId),
                    )
                    .foreign_key(&mut fk(
                        ConversationMembers::Table,
                        ConversationMembers::ConversationId,
                        Conversations::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ConversationMembers::Table,
                        ConversationMembers::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            ConversationMembers::Table,
            "user",
            vec![ConversationMembers::UserId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(big_pk_auto(Messages::Id))
                    .col(big_integer(Messages::ConversationId))
                    .col(big_integer(Messages::SenderId))
                    .col(text(Messages::Body))
                    .col(timestamp_with_time_zone(Messages::SentAt))
                    .foreign_key(&mut fk(
                        Messages::Table,
                        Messages::ConversationId,
                        Conversations::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Messages::Table,
            "conversation",
            vec![Messages::ConversationId, Messages::SentAt],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(big_integer(Notifications::UserId))
                    .col(string(Notifications::Kind))
                    .col(string(Notifications::Title))
                    .col(text(Notifications::Body))
                    .col(string_null(Notifications::Link))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .foreign_key(&mut fk(
                        Notifications::Table,
                        Notifications::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Notifications::Table,
            "user",
            vec![Notifications::UserId, Notifications::ReadAt],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(big_pk_auto(Cases::Id))
                    .col(big_integer(Cases::StudentId))
                    .col(string(Cases::Category))
                    .col(string(Cases::Topic))
                    .col(string(Cases::Subject))
                    .col(text(Cases::Body))
                    .col(big_integer_null(Cases::DepartmentId))
                    .col(string(Cases::Queue))
                    .col(string(Cases::Status))
                    .col(big_integer_null(Cases::AssignedTo))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .col(timestamp_with_time_zone(Cases::DueAt))
                    .col(timestamp_with_time_zone_null(Cases::FirstResponseAt))
                    .col(timestamp_with_time_zone_null(Cases::ClosedAt))
                    .foreign_key(&mut fk(
                        Cases::Table,
                        Cases::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Cases::Table,
            "queue_status",
            vec![Cases::Queue, Cases::Status],
            false,
        )
        .await?;
        index(
            manager,
            Cases::Table,
            "student",
            vec![Cases::StudentId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseEvents::Table)
                    .col(big_pk_auto(CaseEvents::Id))
                    .col(big_integer(CaseEvents::CaseId))
                    .col(big_integer_null(CaseEvents::AuthorId))
                    .col(string(CaseEvents::Kind))
                    .col(text(CaseEvents::Body).default(""))
                    .col(string(CaseEvents::Status))
                    .col(timestamp_with_time_zone(CaseEvents::At))
                    .foreign_key(&mut fk(
                        CaseEvents::Table,
                        CaseEvents::CaseId,
                        Cases::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            CaseEvents::Table,
            "case",
            vec![CaseEvents::CaseId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseRatings::Table)
                    .col(big_integer(CaseRatings::CaseId).primary_key())
                    .col(big_integer(CaseRatings::Rating))
                    .col(text(CaseRatings::Comment).default(""))
                    .col(timestamp_with_time_zone(CaseRatings::At))
                    .check(Expr::col(CaseRatings::Rating).between(1, 5))
                    .foreign_key(&mut fk(
                        CaseRatings::Table,
                        CaseRatings::CaseId,
                        Cases::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // NOTE: who answered and what was answered live in two tables with no link, so a
        // teacher can never tie a comment to a student.
        manager
            .create_table(
                Table::create()
                    .table(FeedbackSubmissions::Table)
                    .col(big_integer(FeedbackSubmissions::SectionId))
                    .col(big_integer(FeedbackSubmissions::StudentId))
                    .col(date(FeedbackSubmissions::At))
                    .primary_key(
                        Index::create()
                            .col(FeedbackSubmissions::SectionId)
                            .col(FeedbackSubmissions::StudentId),
                    )
                    .foreign_key(&mut fk(
                        FeedbackSubmissions::Table,
                        FeedbackSubmissions::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedbackAnswers::Table)
                    .col(big_pk_auto(FeedbackAnswers::Id))
                    .col(big_integer(FeedbackAnswers::SectionId))
                    .col(big_integer(FeedbackAnswers::Teaching))
                    .col(big_integer(FeedbackAnswers::Content))
                    .col(big_integer(FeedbackAnswers::Workload))
                    .col(big_integer(FeedbackAnswers::Overall))
                    .col(text(FeedbackAnswers::Comment).default(""))
                    .foreign_key(&mut fk(
                        FeedbackAnswers::Table,
                        FeedbackAnswers::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            FeedbackAnswers::Table,
            "section",
            vec![FeedbackAnswers::SectionId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Announcements::Table)
                    .col(big_pk_auto(Announcements::Id))
                    .col(string(Announcements::Scope))
                    .col(big_integer_null(Announcements::DepartmentId))
                    .col(big_integer_null(Announcements::SectionId))
                    .col(string(Announcements::TitleZh))
                    .col(string(Announcements::TitleEn))
                    .col(text(Announcements::Body))
                    .col(timestamp_with_time_zone(Announcements::PublishAt))
                    .col(big_integer_null(Announcements::AuthorId))
                    .col(timestamp_with_time_zone(Announcements::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Announcements::Table,
            "publish",
            vec![Announcements::PublishAt],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Interventions::Table)
                    .col(big_pk_auto(Interventions::Id))
                    .col(big_integer(Interventions::StudentId))
                    .col(big_integer_null(Interventions::FlagId))
                    .col(big_integer(Interventions::StaffId))
                    .col(string(Interventions::Kind))
                    .col(text(Interventions::Notes).default(""))
                    .col(date(Interventions::HappenedOn))
                    .col(date_null(Interventions::FollowUpOn))
                    .col(string_null(Interventions::Outcome))
                    .col(timestamp_with_time_zone(Interventions::CreatedAt))
                    .foreign_key(&mut fk(
                        Interventions::Table,
                        Interventions::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Interventions::Table,
            "student",
            vec![Interventions::StudentId],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Interventions::Table.into_iden(),
            Announcements::Table.into_iden(),
            FeedbackAnswers::Table.into_iden(),
            FeedbackSubmissions::Table.into_iden(),
            CaseRatings::Table.into_iden(),
            CaseEvents::Table.into_iden(),
            Cases::Table.into_iden(),
            Notifications::Table.into_iden(),
            Messages::Table.into_iden(),
            ConversationMembers::Table.into_iden(),
            Conversations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
