//! The administrator's view of the outbox: counts by status, dead letters with their last
//! error, and the retry and discard actions (each audited).

use super::categories::{Category, status};
use crate::audit::Entry;
use crate::entity::outbox;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// How many rows the outbox holds in each state that matters to an administrator.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub held: u64,
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    pub dead: u64,
}

pub async fn counts(db: &impl ConnectionTrait) -> AppResult<Counts> {
    let rows: Vec<(String, i64)> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Status)
        .column_as(outbox::Column::Id.count(), "n")
        .group_by(outbox::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut c = Counts::default();
    for (s, n) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        match s.as_str() {
            status::HELD => c.held = n,
            status::QUEUED => c.queued = n,
            status::SENDING => c.sending = n,
            status::SENT => c.sent = n,
            status::DEAD => c.dead = n,
            _ => {}
        }
    }
    Ok(c)
}

/// Dead letters, newest first (at most 200).
pub async fn dead(db: &impl ConnectionTrait) -> AppResult<Vec<outbox::Model>> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.eq(status::DEAD))
        .order_by_desc(outbox::Column::Id)
        .limit(200)
        .all(db)
        .await?)
}

/// Mail waiting to be sent (queued or held for a digest), oldest first (at most 200).
pub async fn waiting(db: &impl ConnectionTrait) -> AppResult<Vec<outbox::Model>> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.is_in([status::QUEUED, status::SENDING]))
        .order_by_asc(outbox::Column::Id)
        .limit(200)
        .all(db)
        .await?)
}

async fn dead_row(db: &impl ConnectionTrait, id: i64) -> AppResult<outbox::Model> {
    outbox::Entity::find_by_id(id)
        .filter(outbox::Column::Status.eq(status::DEAD))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Puts a dead letter back in the queue with fresh attempts. An account letter's text (its
/// activation code) was blanked when it died, so it cannot be retried: new codes are issued.
pub async fn retry(db: &crate::db::Db, actor: i64, id: i64) -> AppResult<()> {
    let txn = crate::db::write_txn(db).await?;
    let row = dead_row(&txn, id).await?;
    if row.category == Category::Account.code() {
        txn.rollback().await?;
        return Err(AppError::conflict(
            "letter_blanked",
            "an activation letter cannot be sent again; issue new codes instead",
        ));
    }
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status::QUEUED))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(
            outbox::Column::NextAttemptAt,
            Expr::value(Utc::now().timestamp()),
        )
        .col_expr(outbox::Column::ClaimedBy, Expr::value(None::<String>))
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(None::<i64>))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(status::DEAD))
        .exec(&txn)
        .await?;
    Entry::new(Some(actor), "mail.retry", "outbox")
        .id(id)
        .detail(serde_json::json!({"to": row.to_addr, "last_error": row.last_error}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives a dead letter up: it stays listed as discarded, its text blanked.
pub async fn discard(db: &crate::db::Db, actor: i64, id: i64) -> AppResult<()> {
    let txn = crate::db::write_txn(db).await?;
    let row = dead_row(&txn, id).await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status::DISCARDED))
        .col_expr(outbox::Column::BodyText, Expr::value(""))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(status::DEAD))
        .exec(&txn)
        .await?;
    Entry::new(Some(actor), "mail.discard", "outbox")
        .id(id)
        .detail(serde_json::json!({"to": row.to_addr, "last_error": row.last_error}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Rows of one user's mail still in the outbox (for tests and the person's own page).
pub async fn count_for(db: &impl ConnectionTrait, user_id: i64, state: &str) -> AppResult<u64> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::UserId.eq(user_id))
        .filter(outbox::Column::Status.eq(state))
        .count(db)
        .await?)
}
