//! A job's lease: who runs it, until when (renewed by its heartbeat), and whether an
//! administrator asked it to stop.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: i64,
    pub holder: String,
    /// Bumped by every write, so that taking over an expired lease is a compare-and-swap.
    pub generation: i64,
    pub acquired_at: DateTimeWithTimeZone,
    pub heartbeat_at: DateTimeWithTimeZone,
    pub lease_until: DateTimeWithTimeZone,
    pub cancel_requested: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
