//! Terms, the course catalogue, sections with meetings, registrations, waitlists and holds.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000003_courses"
    }
}

#[derive(DeriveIden)]
enum Departments {
    Table,
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
enum Terms {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
    Seq,
    StartsOn,
    EndsOn,
    RegistrationOpensAt,
    RegistrationClosesAt,
    AddDropDeadline,
    CreditLimit,
    IsCurrent,
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
    Code,
    DepartmentId,
    TitleZh,
    TitleEn,
    Credits,
    Description,
    IsActive,
}

#[derive(DeriveIden)]
enum CoursePrerequisites {
    Table,
    CourseId,
    PrerequisiteId,
    MinScore,
}

#[derive(DeriveIden)]
enum Sections {
    Table,
    Id,
    TermId,
    CourseId,
    SectionNo,
    TeacherId,
    Capacity,
    WaitlistCapacity,
    EnrolledCount,
    WaitlistCount,
    OverrideCount,
    Room,
    GradingScaleId,
    GradesPublishedAt,
}

#[derive(DeriveIden)]
enum SectionMeetings {
    Table,
    Id,
    SectionId,
    Weekday,
    StartPeriod,
    EndPeriod,
    StartWeek,
    EndWeek,
}

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    Id,
    StudentId,
    SectionId,
    Status,
    WaitlistPosition,
    CreatedAt,
    UpdatedAt,
    DroppedAt,
    OverrideReason,
}

#[derive(DeriveIden)]
enum RegistrationEvents {
    Table,
    Id,
    StudentId,
    SectionId,
    Action,
    Code,
    At,
    ActorId,
}

#[derive(DeriveIden)]
enum Holds {
    Table,
    Id,
    StudentId,
    Reason,
    PlacedBy,
    PlacedAt,
    LiftedBy,
    LiftedAt,
}

#[derive(DeriveIden)]
enum RegistrationOverrides {
    Table,
    Id,
    StudentId,
    SectionId,
    Kind,
    Reason,
    GrantedBy,
    GrantedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    Status,
    Body,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Terms::Table)
                    .col(big_pk_auto(Terms::Id))
                    .col(string_uniq(Terms::Code))
                    .col(string(Terms::NameZh))
                    .col(string(Terms::NameEn))
                    .col(big_integer_uniq(Terms::Seq))
                    .col(date(Terms::StartsOn))
                    .col(date(Terms::EndsOn))
                    .col(timestamp_with_time_zone(Terms::RegistrationOpensAt))
                    .col(timestamp_with_time_zone(Terms::RegistrationClosesAt))
                    .col(timestamp_with_time_zone(Terms::AddDropDeadline))
                    .col(double(Terms::CreditLimit))
                    .col(boolean(Terms::IsCurrent).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Courses::Table)
                    .col(big_pk_auto(Courses::Id))
                    .col(string_uniq(Courses::Code))
                    .col(big_integer(Courses::DepartmentId))
                    .col(string(Courses::TitleZh))
                    .col(string(Courses::TitleEn))
                    .col(double(Courses::Credits))
                    .col(text(Courses::Description).default(""))
                    .col(boolean(Courses::IsActive).default(true))
                    .foreign_key(&mut fk(
                        Courses::Table,
                        Courses::DepartmentId,
                        Departments::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Courses::Table,
            "department",
            vec![Courses::DepartmentId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(CoursePrerequisites::Table)
                    .col(big_integer(CoursePrerequisites::CourseId))
                    .col(big_integer(CoursePrerequisites::PrerequisiteId))
                    .col(double(CoursePrerequisites::MinScore).default(60.0))
                    .primary_key(
                        Index::create()
                            .col(CoursePrerequisites::CourseId)
                            .col(CoursePrerequisites::PrerequisiteId),
                    )
                    .foreign_key(&mut fk(
                        CoursePrerequisites::Table,
                        CoursePrerequisites::CourseId,
                        Courses::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        CoursePrerequisites::Table,
                        CoursePrerequisites::PrerequisiteId,
                        Courses::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sections::Table)
                    .col(big_pk_auto(Sections::Id))
                    .col(big_integer(Sections::TermId))
                    .col(big_integer(Sections::CourseId))
                    .col(string(Sections::SectionNo))
                    .col(big_integer_null(Sections::TeacherId))
                    .col(big_integer(Sections::Capacity))
                    .col(big_integer(Sections::WaitlistCapacity).default(0))
                    .col(big_integer(Sections::EnrolledCount).default(0))
                    .col(big_integer(Sections::WaitlistCount).default(0))
                    .col(big_integer(Sections::OverrideCount).default(0))
                    .col(string(Sections::Room).default(""))
                    .col(big_integer_null(Sections::GradingScaleId))
                    .col(timestamp_with_time_zone_null(Sections::GradesPublishedAt))
                    // NOTE: the database itself refuses an over-filled section, whatever the code does.
                    .check(
                        Expr::col(Sections::EnrolledCount).lte(
                            Expr::col(Sections::Capacity).add(Expr::col(Sections::OverrideCount)),
                        ),
                    )
                    .check(
                        Expr::col(Sections::WaitlistCount)
                            .lte(Expr::col(Sections::WaitlistCapacity)),
                    )
                    .check(Expr::col(Sections::EnrolledCount).gte(0))
                    .check(Expr::col(Sections::WaitlistCount).gte(0))
                    .foreign_key(&mut fk(
                        Sections::Table,
                        Sections::TermId,
                        Terms::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Sections::Table,
                        Sections::CourseId,
                        Courses::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Sections::Table,
                        Sections::TeacherId,
                        Users::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Sections::Table,
            "term_course_no",
            vec![Sections::TermId, Sections::CourseId, Sections::SectionNo],
            true,
        )
        .await?;
        index(
            manager,
            Sections::Table,
            "teacher",
            vec![Sections::TeacherId, Sections::TermId],
            false,
        )
        .await?;
        index(
            manager,
            Sections::Table,
            "course",
            vec![Sections::CourseId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(SectionMeetings::Table)
                    .col(big_pk_auto(SectionMeetings::Id))
                    .col(big_integer(SectionMeetings::SectionId))
                    .col(big_integer(SectionMeetings::Weekday))
                    .col(big_integer(SectionMeetings::StartPeriod))
                    .col(big_integer(SectionMeetings::EndPeriod))
                    .col(big_integer(SectionMeetings::StartWeek))
                    .col(big_integer(SectionMeetings::EndWeek))
                    .foreign_key(&mut fk(
                        SectionMeetings::Table,
                        SectionMeetings::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            SectionMeetings::Table,
            "section",
            vec![SectionMeetings::SectionId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Enrolments::Table)
                    .col(big_pk_auto(Enrolments::Id))
                    .col(big_integer(Enrolments::StudentId))
                    .col(big_integer(Enrolments::SectionId))
                    .col(string(Enrolments::Status))
                    .col(big_integer_null(Enrolments::WaitlistPosition))
                    .col(timestamp_with_time_zone(Enrolments::CreatedAt))
                    .col(timestamp_with_time_zone(Enrolments::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Enrolments::DroppedAt))
                    .col(text_null(Enrolments::OverrideReason))
                    .foreign_key(&mut fk(
                        Enrolments::Table,
                        Enrolments::StudentId,
                        Students::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        Enrolments::Table,
                        Enrolments::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        // One row per student and section, reused on re-registration; a waitlist has no two
        // students at one position (NULL positions do not collide).
        index(
            manager,
            Enrolments::Table,
            "student_section",
            vec![Enrolments::StudentId, Enrolments::SectionId],
            true,
        )
        .await?;
        index(
            manager,
            Enrolments::Table,
            "section_position",
            vec![Enrolments::SectionId, Enrolments::WaitlistPosition],
            true,
        )
        .await?;
        index(
            manager,
            Enrolments::Table,
            "section_status",
            vec![Enrolments::SectionId, Enrolments::Status],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(RegistrationEvents::Table)
                    .col(big_pk_auto(RegistrationEvents::Id))
                    .col(big_integer(RegistrationEvents::StudentId))
                    .col(big_integer(RegistrationEvents::SectionId))
                    .col(string(RegistrationEvents::Action))
                    .col(string(RegistrationEvents::Code))
                    .col(timestamp_with_time_zone(RegistrationEvents::At))
                    .col(big_integer_null(RegistrationEvents::ActorId))
                    .foreign_key(&mut fk(
                        RegistrationEvents::Table,
                        RegistrationEvents::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            RegistrationEvents::Table,
            "student_at",
            vec![RegistrationEvents::StudentId, RegistrationEvents::At],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Holds::Table)
                    .col(big_pk_auto(Holds::Id))
                    .col(big_integer(Holds::StudentId))
                    .col(text(Holds::Reason))
                    .col(big_integer_null(Holds::PlacedBy))
                    .col(timestamp_with_time_zone(Holds::PlacedAt))
                    .col(big_integer_null(Holds::LiftedBy))
                    .col(timestamp_with_time_zone_null(Holds::LiftedAt))
                    .foreign_key(&mut fk(
                        Holds::Table,
                        Holds::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Holds::Table,
            "student",
            vec![Holds::StudentId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(RegistrationOverrides::Table)
                    .col(big_pk_auto(RegistrationOverrides::Id))
                    .col(big_integer(RegistrationOverrides::StudentId))
                    .col(big_integer(RegistrationOverrides::SectionId))
                    .col(string(RegistrationOverrides::Kind))
                    .col(text(RegistrationOverrides::Reason))
                    .col(big_integer_null(RegistrationOverrides::GrantedBy))
                    .col(timestamp_with_time_zone(RegistrationOverrides::GrantedAt))
                    .col(timestamp_with_time_zone_null(RegistrationOverrides::UsedAt))
                    .foreign_key(&mut fk(
                        RegistrationOverrides::Table,
                        RegistrationOverrides::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        RegistrationOverrides::Table,
                        RegistrationOverrides::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            RegistrationOverrides::Table,
            "student_section",
            vec![
                RegistrationOverrides::StudentId,
                RegistrationOverrides::SectionId,
            ],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(big_integer(IdempotencyKeys::UserId))
                    .col(string(IdempotencyKeys::Key))
                    .col(big_integer(IdempotencyKeys::Status))
                    .col(text(IdempotencyKeys::Body))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::UserId)
                            .col(IdempotencyKeys::Key),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            IdempotencyKeys::Table.into_iden(),
            RegistrationOverrides::Table.into_iden(),
            Holds::Table.into_iden(),
            RegistrationEvents::Table.into_iden(),
            Enrolments::Table.into_iden(),
            SectionMeetings::Table.into_iden(),
            Sections::Table.into_iden(),
            CoursePrerequisites::Table.into_iden(),
            Courses::Table.into_iden(),
            Terms::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
