//! Students handed to care as a group (a cell of the value matrix): one open referral per
//! student and cell, with the cell's name and strategy at the time, closed when staff
//! record care for the student.

use crate::common::index;
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000001_care_referrals"
    }
}

#[derive(DeriveIden)]
enum CareReferrals {
    Table,
    Id,
    StudentId,
    Source,
    Code,
    GroupZh,
    GroupEn,
    ReasonZh,
    ReasonEn,
    ReferredBy,
    ReferredAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Students {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CareReferrals::Table)
                    .col(big_pk_auto(CareReferrals::Id))
                    .col(big_integer(CareReferrals::StudentId))
                    .col(string_len(CareReferrals::Source, 30))
                    .col(string_len(CareReferrals::Code, 30))
                    .col(string_len(CareReferrals::GroupZh, 100))
                    .col(string_len(CareReferrals::GroupEn, 100))
                    .col(text(CareReferrals::ReasonZh))
                    .col(text(CareReferrals::ReasonEn))
                    .col(big_integer(CareReferrals::ReferredBy))
                    .col(timestamp_with_time_zone(CareReferrals::ReferredAt))
                    .col(timestamp_with_time_zone_null(CareReferrals::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CareReferrals::Table, CareReferrals::StudentId)
                            .to(Students::Table, Students::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            CareReferrals::Table,
            "student",
            vec![CareReferrals::StudentId, CareReferrals::ClosedAt],
            false,
        )
        .await?;
        index(
            manager,
            CareReferrals::Table,
            "open",
            vec![CareReferrals::ClosedAt, CareReferrals::ReferredAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CareReferrals::Table).to_owned())
            .await
    }
}
