//! The CRM view over time: `value_cells` holds each active student's place in the value matrix
//! once per term (standing and relationship scores, the cell, the components behind them), so
//! movement between terms is read from stored rows; `lifecycle_transitions` holds every change of
//! a student's lifecycle stage (from, to, when, the rule that gave the new stage and what noticed
//! it: the scheduled check, a grade publication, a status change or the demo's reconstruction).

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000002_value_lifecycle"
    }
}

#[derive(DeriveIden)]
enum ValueCells {
    Table,
    Id,
    StudentId,
    TermId,
    Cell,
    Standing,
    Relationship,
    Components,
    ComputedAt,
}

#[derive(DeriveIden)]
enum LifecycleTransitions {
    Table,
    Id,
    StudentId,
    FromStage,
    ToStage,
    At,
    Rule,
    Source,
}

#[derive(DeriveIden)]
enum Students {
    Table,
}

#[derive(DeriveIden)]
enum Terms {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ValueCells::Table)
                    .col(big_pk_auto(ValueCells::Id))
                    .col(big_integer(ValueCells::StudentId))
                    .col(big_integer(ValueCells::TermId))
                    .col(string_len(ValueCells::Cell, 20))
                    .col(double(ValueCells::Standing))
                    .col(double(ValueCells::Relationship))
                    .col(text(ValueCells::Components))
                    .col(timestamp_with_time_zone(ValueCells::ComputedAt))
                    .foreign_key(&mut fk(
                        ValueCells::Table,
                        ValueCells::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        ValueCells::Table,
                        ValueCells::TermId,
                        Terms::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            ValueCells::Table,
            "term_student",
            vec![ValueCells::TermId, ValueCells::StudentId],
            true,
        )
        .await?;
        index(
            manager,
            ValueCells::Table,
            "student",
            vec![ValueCells::StudentId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(LifecycleTransitions::Table)
                    .col(big_pk_auto(LifecycleTransitions::Id))
                    .col(big_integer(LifecycleTransitions::StudentId))
                    .col(string_len_null(LifecycleTransitions::FromStage, 20))
                    .col(string_len(LifecycleTransitions::ToStage, 20))
                    .col(timestamp_with_time_zone(LifecycleTransitions::At))
                    .col(string_len(LifecycleTransitions::Rule, 40))
                    .col(string_len(LifecycleTransitions::Source, 20))
                    .foreign_key(&mut fk(
                        LifecycleTransitions::Table,
                        LifecycleTransitions::StudentId,
                        Students::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            LifecycleTransitions::Table,
            "student_at",
            vec![LifecycleTransitions::StudentId, LifecycleTransitions::At],
            false,
        )
        .await?;
        index(
            manager,
            LifecycleTransitions::Table,
            "at",
            vec![LifecycleTransitions::At],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LifecycleTransitions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ValueCells::Table).to_owned())
            .await
    }
}
