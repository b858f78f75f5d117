//! Sending: the [`Mailer`] (SMTP transport and settings, built once at start) and the drain
//! of due outbox rows. A sender claims a batch in one write transaction (an UPDATE guarded by
//! the row's state, so two instances never claim the same row; a claim whose sender died is
//! taken over after `claimed_until`), sends each over SMTP and marks it sent, or due again
//! later with exponential backoff, or dead after `SRM_MAIL_MAX_ATTEMPTS` tries or on a
//! permanent refusal. An activation letter's text is blanked as soon as it is sent or dead.

use super::categories::{Category, status};
use super::mailer::Mailer;
use super::render;
use crate::entity::outbox;
use crate::error::{AppResult, excerpt};
use chrono::Utc;
use lettre::AsyncTransport;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// Rows one sender claims at a time.
const BATCH: u64 = 20;
/// How long a claim lasts: long enough for a batch with slow servers.
const CLAIM_SECONDS: i64 = 600;

/// `List-Unsubscribe: <https://…>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// What one drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Drained {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
}

fn due(now: i64) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(outbox::Column::Status.eq(status::QUEUED))
                .add(outbox::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(outbox::Column::Status.eq(status::SENDING))
                .add(outbox::Column::ClaimedUntil.lt(now)),
        )
}

/// Claims up to [`BATCH`] due rows for `holder` (one write transaction; a row another sender
/// claimed in the meantime no longer matches the guard and is left to it).
pub async fn claim(db: &crate::db::Db, holder: &str, now: i64) -> AppResult<Vec<outbox::Model>> {
    let token = format!("{holder}#{}", uuid::Uuid::new_v4().simple());
    let ids = Query::select()
        .column(outbox::Column::Id)
        .from(outbox::Entity)
        .cond_where(due(now))
        .order_by(outbox::Column::Id, sea_orm::Order::Asc)
        .limit(BATCH)
        .to_owned();
    let txn = crate::db::write_txn(db).await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status::SENDING))
        .col_expr(outbox::Column::ClaimedBy, Expr::value(token.as_str()))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(now + CLAIM_SECONDS),
        )
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .filter(outbox::Column::Id.in_subquery(ids))
        .filter(due(now))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(outbox::Entity::find()
        .filter(outbox::Column::ClaimedBy.eq(token.as_str()))
        .filter(outbox::Column::Status.eq(status::SENDING))
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await?)
}

/// The message of one row, with its headers.
fn message(mailer: &Mailer, row: &outbox::Model, message_id: &str) -> Result<Message, String> {
    let from: Mailbox = mailer.from.parse().map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = row.to_addr.parse().map_err(|e| format!("to: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(message_id.to_string()))
        .header(ContentType::TEXT_PLAIN);
    if let Some(url) = render::unsubscribe_url(mailer, row) {
        builder = builder
            .header(ListUnsubscribe(format!("<{url}>")))
            .header(ListUnsubscribePost);
    }
    builder
        .body(render::full_body(mailer, row))
        .map_err(|e| e.to_string())
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    if host.is_empty() { "localhost" } else { host }
}

enum Outcome {
    Sent(String),
    Retry(String),
    Dead(String),
}

async fn send_one(mailer: &Mailer, row: &outbox::Model) -> Outcome {
    let Some(transport) = mailer.transport() else {
        return Outcome::Retry("SMTP delivery is off (SRM_SMTP_URL is unset)".into());
    };
    let id = format!(
        "<srm.{}.{}@{}>",
        row.id,
        uuid::Uuid::new_v4().simple(),
        host_of(&mailer.public_url)
    );
    let msg = match message(mailer, row, &id) {
        Ok(m) => m,
        Err(e) => return Outcome::Dead(e),
    };
    match transport.send(msg).await {
        Ok(_) => Outcome::Sent(id),
        Err(e) if e.is_permanent() => Outcome::Dead(e.to_string()),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Records the outcome of one claimed row (only while the claim is still this sender's).
/// Answers the state it was left in.
async fn settle(
    db: &crate::db::Db,
    mailer: &Mailer,
    row: &outbox::Model,
    outcome: &Outcome,
    now: i64,
) -> AppResult<&'static str> {
    let account = row.category == Category::Account.code();
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::ClaimedBy, Expr::value(None::<String>))
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(None::<i64>));
    let state = match outcome {
        Outcome::Sent(id) => {
            update = update
                .col_expr(
                    outbox::Column::SentAt,
                    Expr::value(Utc::now().fixed_offset()),
                )
                .col_expr(outbox::Column::MessageId, Expr::value(id.as_str()))
                .col_expr(outbox::Column::LastError, Expr::value(None::<String>));
            status::SENT
        }
        Outcome::Retry(e) | Outcome::Dead(e) => {
            let dead = matches!(outcome, Outcome::Dead(_))
                || row.attempts >= i64::from(mailer.max_attempts);
            // NOTE: at least a second, so a drain never meets the same failure twice.
            let wait = Ord::max(
                i64::try_from(mailer.backoff(row.attempts)).unwrap_or(i64::MAX),
                1,
            );
            update = update
                .col_expr(
                    outbox::Column::NextAttemptAt,
                    Expr::value(now.saturating_add(wait)),
                )
                .col_expr(outbox::Column::LastError, Expr::value(excerpt(e, 1000)));
            if dead {
                tracing::warn!(outbox = row.id, to = %row.to_addr, error = %e, "an e-mail is dead");
                status::DEAD
            } else {
                tracing::info!(outbox = row.id, error = %e, wait, "an e-mail will be tried again");
                status::QUEUED
            }
        }
    };
    update = update.col_expr(outbox::Column::Status, Expr::value(state));
    // NOTE: an activation letter's text (its code) is kept only while it may still be sent.
    if account && state != status::QUEUED {
        update = update.col_expr(outbox::Column::BodyText, Expr::value(""));
    }
    let txn = crate::db::write_txn(db).await?;
    update
        .filter(outbox::Column::Id.eq(row.id))
        .filter(outbox::Column::ClaimedBy.eq(row.claimed_by.clone()))
        .filter(outbox::Column::Status.eq(status::SENDING))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(state)
}

/// Sends every row due at `now` (Unix seconds), batch after batch, as `holder`. Nothing is
/// sent while SMTP delivery is off: the mail stays queued.
pub async fn send_due_at(
    db: &crate::db::Db,
    mailer: &Mailer,
    holder: &str,
    now: i64,
) -> AppResult<Drained> {
    let mut done = Drained::default();
    if !mailer.enabled() {
        return Ok(done);
    }
    loop {
        let rows = claim(db, holder, now).await?;
        if rows.is_empty() {
            return Ok(done);
        }
        for row in &rows {
            let outcome = send_one(mailer, row).await;
            match settle(db, mailer, row, &outcome, now).await? {
                status::SENT => done.sent += 1,
                status::DEAD => done.dead += 1,
                _ => done.retrying += 1,
            }
        }
    }
}

/// [`send_due_at`] now.
pub async fn send_due(db: &crate::db::Db, mailer: &Mailer, holder: &str) -> AppResult<Drained> {
    send_due_at(db, mailer, holder, Utc::now().timestamp()).await
}
