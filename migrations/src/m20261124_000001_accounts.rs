//! Accounts, permission groups, functional modules, settings and the audit trail.

use crate::common::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_accounts"
    }
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    DisplayName,
    Email,
    Kind,
    DepartmentId,
    IsActive,
    TokenVersion,
    Locale,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
    Code,
    Name,
    Description,
    Builtin,
    CreatedAt,
}

#[derive(DeriveIden)]
enum GroupPermissions {
    Table,
    GroupId,
    Permission,
}

#[derive(DeriveIden)]
enum UserGroups {
    Table,
    UserId,
    GroupId,
}

#[derive(DeriveIden)]
enum Modules {
    Table,
    Code,
    Enabled,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Action,
    Entity,
    EntityId,
    StudentId,
    Outcome,
    Ip,
    Detail,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Id,
    Username,
    Ip,
    At,
    Success,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    Jti,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Departments::Table)
                    .col(big_pk_auto(Departments::Id))
                    .col(string_uniq(Departments::Code))
                    .col(string(Departments::NameZh))
                    .col(string(Departments::NameEn))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::Username))
                    .col(string(Users::PasswordHash))
                    .col(string(Users::DisplayName))
                    .col(string_null(Users::Email))
                    .col(string(Users::Kind))
                    .col(big_integer_null(Users::DepartmentId))
                    .col(boolean(Users::IsActive).default(true))
                    .col(big_integer(Users::TokenVersion).default(0))
                    .col(string_null(Users::Locale))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                    .foreign_key(&mut fk(
                        Users::Table,
                        Users::DepartmentId,
                        Departments::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, Users::Table, "kind", vec![Users::Kind], false).await?;
        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .col(big_pk_auto(Groups::Id))
                    .col(string_uniq(Groups::Code))
                    .col(string(Groups::Name))
                    .col(text(Groups::Description).default(""))
                    .col(boolean(Groups::Builtin).default(false))
                    .col(timestamp_with_time_zone(Groups::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupPermissions::Table)
                    .col(big_integer(GroupPermissions::GroupId))
                    .col(string(GroupPermissions::Permission))
                    .primary_key(
                        Index::create()
                            .col(GroupPermissions::GroupId)
                            .col(GroupPermissions::Permission),
                    )
                    .foreign_key(&mut fk(
                        GroupPermissions::Table,
                        GroupPermissions::GroupId,
                        Groups::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserGroups::Table)
                    .col(big_integer(UserGroups::UserId))
                    .col(big_integer(UserGroups::GroupId))
                    .primary_key(
                        Index::create()
                            .col(UserGroups::UserId)
                            .col(UserGroups::GroupId),
                    )
                    .foreign_key(&mut fk(
                        UserGroups::Table,
                        UserGroups::UserId,
                        Users::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        UserGroups::Table,
                        UserGroups::GroupId,
                        Groups::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            UserGroups::Table,
            "group",
            vec![UserGroups::GroupId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Modules::Table)
                    .col(string(Modules::Code).primary_key())
                    .col(boolean(Modules::Enabled).default(true))
                    .col(timestamp_with_time_zone(Modules::UpdatedAt))
                    .col(big_integer_null(Modules::UpdatedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(string(Settings::Key).primary_key())
                    .col(text(Settings::Value))
                    .col(timestamp_with_time_zone(Settings::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(big_integer_null(AuditLog::ActorId))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Entity))
                    .col(string_null(AuditLog::EntityId))
                    .col(big_integer_null(AuditLog::StudentId))
                    .col(string(AuditLog::Outcome))
                    .col(string_null(AuditLog::Ip))
                    .col(text(AuditLog::Detail).default("{}"))
                    .to_owned(),
            )
            .await?;
        index(manager, AuditLog::Table, "at", vec![AuditLog::At], false).await?;
        index(
            manager,
            AuditLog::Table,
            "actor",
            vec![AuditLog::ActorId, AuditLog::At],
            false,
        )
        .await?;
        index(
            manager,
            AuditLog::Table,
            "student",
            vec![AuditLog::StudentId, AuditLog::At],
            false,
        )
        .await?;
        index(
            manager,
            AuditLog::Table,
            "action",
            vec![AuditLog::Action, AuditLog::At],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(big_pk_auto(LoginAttempts::Id))
                    .col(string(LoginAttempts::Username))
                    .col(string(LoginAttempts::Ip))
                    .col(timestamp_with_time_zone(LoginAttempts::At))
                    .col(boolean(LoginAttempts::Success))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            LoginAttempts::Table,
            "user_at",
            vec![LoginAttempts::Username, LoginAttempts::At],
            false,
        )
        .await?;
        index(
            manager,
            LoginAttempts::Table,
            "ip_at",
            vec![LoginAttempts::Ip, LoginAttempts::At],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedTokens::Table)
                    .col(string(RevokedTokens::Jti).primary_key())
                    .col(timestamp_with_time_zone(RevokedTokens::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            RevokedTokens::Table.into_iden(),
            LoginAttempts::Table.into_iden(),
            AuditLog::Table.into_iden(),
            Settings::Table.into_iden(),
            Modules::Table.into_iden(),
            UserGroups::Table.into_iden(),
            GroupPermissions::Table.into_iden(),
            Groups::Table.into_iden(),
            Users::Table.into_iden(),
            Departments::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
