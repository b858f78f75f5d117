//! A student handed to care as one of a group (a cell of the value matrix).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "care_referrals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub student_id: i64,
    /// What handed the student over: `value_cell`.
    pub source: String,
    /// Which group of the source: the cell's code.
    pub code: String,
    /// The group's name when the student was handed over.
    pub group_zh: String,
    pub group_en: String,
    /// The group's strategy when the student was handed over.
    #[sea_orm(column_type = "Text")]
    pub reason_zh: String,
    #[sea_orm(column_type = "Text")]
    pub reason_en: String,
    pub referred_by: i64,
    pub referred_at: DateTimeWithTimeZone,
    /// When care was recorded for the student (open until then).
    pub closed_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(belongs_to, from = "student_id", to = "id", on_delete = "Cascade")]
    pub student: BelongsTo<super::students::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
