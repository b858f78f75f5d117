//! Early-warning inputs: attendance per class meeting (taken by the teacher on a phone or
//! imported from a card reader) and learning-platform activity per student, section and day.
//! A meeting is identified by its section and date. `attendance_rolls` says a meeting's roll was
//! taken; `attendance` holds the marks, and a student enrolled at the meeting without a mark on
//! a taken roll was present (everyone is present by default; the teacher marks the exceptions).
//! A student has at most one mark per meeting and one activity count per section, day and kind,
//! so re-importing never adds a row twice.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_attendance_activity"
    }
}

#[derive(DeriveIden)]
enum AttendanceRolls {
    Table,
    Id,
    SectionId,
    HeldOn,
    Source,
    TakenBy,
    TakenAt,
}

#[derive(DeriveIden)]
enum Attendance {
    Table,
    Id,
    SectionId,
    StudentId,
    HeldOn,
    Status,
    Source,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum LearningActivity {
    Table,
    Id,
    StudentId,
    SectionId,
    Day,
    Kind,
    Count,
}

#[derive(DeriveIden)]
enum Sections {
    Table,
}

#[derive(DeriveIden)]
enum Students {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AttendanceRolls::Table)
                    .col(big_pk_auto(AttendanceRolls::Id))
                    .col(big_integer(AttendanceRolls::SectionId))
                    .col(date(AttendanceRolls::HeldOn))
                    .col(string_len(AttendanceRolls::Source, 10))
                    .col(big_integer_null(AttendanceRolls::TakenBy))
                    .col(timestamp_with_time_zone(AttendanceRolls::TakenAt))
                    .foreign_key(&mut fk(
                        AttendanceRolls::Table,
                        AttendanceRolls::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            AttendanceRolls::Table,
            "section_day",
            vec![AttendanceRolls::SectionId, AttendanceRolls::HeldOn],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Attendance::Table)
                    .col(big_pk_auto(Attendance::Id))
                    .col(big_integer(Attendance::SectionId))
                    .col(big_integer(Attendance::StudentId))
                    .col(date(Attendance::HeldOn))
                    .col(string_len(Attendance::Status, 10))
                    .col(string_len(Attendance::Source, 10))
                    .col(big_integer_null(Attendance::RecordedBy))
                    .col(timestamp_with_time_zone(Attendance::RecordedAt))
                    .foreign_key(&mut fk(
                        Attendance::Table,
                        Attendance::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        Attendance::Table,
                        Attendance::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Attendance::Table,
            "meeting_student",
            vec![
                Attendance::SectionId,
                Attendance::HeldOn,
                Attendance::StudentId,
            ],
            true,
        )
        .await?;
        index(
            manager,
            Attendance::Table,
            "student_day",
            vec![Attendance::StudentId, Attendance::HeldOn],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(LearningActivity::Table)
                    .col(big_pk_auto(LearningActivity::Id))
                    .col(big_integer(LearningActivity::StudentId))
                    .col(big_integer(LearningActivity::SectionId))
                    .col(date(LearningActivity::Day))
                    .col(string_len(LearningActivity::Kind, 20))
                    .col(big_integer(LearningActivity::Count))
                    .foreign_key(&mut fk(
                        LearningActivity::Table,
                        LearningActivity::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        LearningActivity::Table,
                        LearningActivity::SectionId,
                        Sections::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            LearningActivity::Table,
            "student_section_day_kind",
            vec![
                LearningActivity::StudentId,
                LearningActivity::SectionId,
                LearningActivity::Day,
                LearningActivity::Kind,
            ],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LearningActivity::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Attendance::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AttendanceRolls::Table).to_owned())
            .await
    }
}
