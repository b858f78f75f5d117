//! "Who has looked at my record": the staff reads of one student's record, from the audit log
//! (every staff read is audited, `service::authorize_read` and the domains' own reads). A
//! student has the right to know who read what and when (FERPA's record of disclosures, PIPL).

use crate::entity::{audit_log, users};
use crate::error::AppResult;
use crate::paging::{Page, PageReq};
use chrono::{DateTime, FixedOffset};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use std::collections::HashMap;

/// One staff read of the student's record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordRead {
    pub at: DateTime<FixedOffset>,
    /// What was read: `students` (the record), `grades.transcript`, `cases`, …
    pub what: String,
    /// The reader's name.
    pub by: String,
    /// The reader's role: `teacher`, `staff` or `admin`.
    pub role: String,
    /// On what grounds they could read it: `advisor`, `teacher` (of one of the student's
    /// sections), `records` (staff who may read every record), `case` (handling the student's
    /// case), or `unrecorded` for reads logged before the grounds were.
    pub purpose: String,
}

/// The staff reads of `student_id`'s record, newest first; the student's own reads are not
/// audited and reads that were refused are not reads.
pub async fn record_reads(
    db: &impl ConnectionTrait,
    student_id: i64,
    req: PageReq,
) -> AppResult<Page<RecordRead>> {
    let query = audit_log::Entity::find()
        .filter(audit_log::Column::StudentId.eq(student_id))
        .filter(audit_log::Column::Outcome.eq("ok"))
        .filter(audit_log::Column::Action.like("%.read"))
        .filter(audit_log::Column::ActorId.is_not_null());
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(audit_log::Column::At)
        .order_by_desc(audit_log::Column::Id)
        .offset((req.page - 1) * req.per_page)
        .limit(req.per_page)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).collect();
    let readers: HashMap<i64, (String, String)> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::DisplayName)
        .column(users::Column::Kind)
        .into_tuple::<(i64, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, name, kind)| (id, (name, kind)))
        .collect();
    let items = rows
        .into_iter()
        .map(|r| {
            let (by, role) = r
                .actor_id
                .and_then(|id| readers.get(&id).cloned())
                .unwrap_or_default();
            let purpose = serde_json::from_str::<serde_json::Value>(&r.detail)
                .ok()
                .and_then(|d| d["basis"].as_str().map(str::to_string))
                .unwrap_or_else(|| "unrecorded".to_string());
            RecordRead {
                at: r.at,
                purpose,
                what: r.action.trim_end_matches(".read").to_string(),
                by,
                role,
            }
        })
        .collect();
    Ok(Page {
        items,
        total,
        page: req.page,
        per_page: req.per_page,
    })
}
