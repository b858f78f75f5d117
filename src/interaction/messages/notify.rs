//! Notifications (the list page and the unread count in the menu) and their e-mail: when the
//! setting `notifications.email` is `"on"`, each notification is also put in the outbox in the
//! recipient's language, as their preference for its category says (see `crate::mail`).

use crate::audit::Entry;
use crate::entity::{conversation_members, conversations, notifications, students, users};
use crate::error::AppResult;
use crate::interaction::util::{now, setting};
use crate::mail::Letter;
use crate::mail::service::{EMAIL_KEY, enqueue_for_users, inserted_keys};
use chrono::{DateTime, FixedOffset};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr, SubQueryStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use std::collections::HashMap;

/// Writes one notification for a user (and queues its e-mail when delivery is on); the e-mail
/// quotes `body` under the words of its kind, with `title` as its one value.
pub async fn notify_user(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
) -> AppResult<()> {
    let letter = Letter::new(kind).arg("title", title).quote(body).link(link);
    notify_user_with(db, user_id, kind, title, body, link, &letter).await
}

/// The same with the e-mail's own words (`letter`, in the recipient's language).
pub async fn notify_user_with(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
    letter: &Letter,
) -> AppResult<()> {
    let notice = Notice {
        user_id,
        title: title.to_string(),
        body: body.to_string(),
        link: link.to_string(),
        letter: letter.clone(),
    };
    notify_users_with(db, kind, vec![notice]).await
}

/// One notification of [`notify_users_with`].
pub struct Notice {
    pub user_id: i64,
    pub title: String,
    pub body: String,
    pub link: String,
    pub letter: Letter,
}

/// Writes notifications of one `kind`, each in its recipient's language, in a few statements
/// however many: the recipients' languages and the notifications 500 at a time, and, with
/// e-mail delivery on, their outbox rows (see [`enqueue_for_users`]) and an audit entry for
/// each e-mail. A mining run tells the advisors of every newly flagged student, and an
/// announcement every student, inside one transaction, and on SQLite every other write waits
/// for it meanwhile (a thousand notices one by one held registration day's writes for half a
/// minute).
pub async fn notify_users_with(
    db: &impl ConnectionTrait,
    kind: &str,
    notices: Vec<Notice>,
) -> AppResult<()> {
    let email = setting(db, EMAIL_KEY).await?.as_deref() == Some("on");
    let mut ids: Vec<i64> = notices.iter().map(|n| n.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut locales: HashMap<i64, Option<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, Option<String>)> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Locale)
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        locales.extend(rows);
    }
    let at = now();
    let mut written_ids = Vec::with_capacity(if email { notices.len() } else { 0 });
    for chunk in notices.chunks(500) {
        let rows = chunk.iter().map(|n| {
            let locale = locales.get(&n.user_id).and_then(Option::as_deref);
            written(kind, locale, n, at)
        });
        let insert = notifications::Entity::insert_many(rows);
        if email {
            let keys = insert.exec_with_returning_keys(db).await?;
            written_ids.extend(inserted_keys(keys, chunk.len())?);
        } else {
            insert.exec_without_returning(db).await?;
        }
    }
    if !email {
        return Ok(());
    }
    let letters: Vec<(i64, &Letter)> = notices.iter().map(|n| (n.user_id, &n.letter)).collect();
    let mails = enqueue_for_users(db, &letters).await?;
    let entries: Vec<Entry> = written_ids
        .iter()
        .zip(mails)
        .filter_map(|(notification, mail)| {
            let outbox = mail?;
            tracing::debug!(notification, outbox, "e-mail queued in the outbox");
            let detail = json!({"outbox": outbox, "kind": kind});
            Some(
                Entry::new(None, "notifications.email", "notification")
                    .id(notification)
                    .detail(detail),
            )
        })
        .collect();
    // NOTE: one line however many (an announcement to the whole university queues one e-mail
    // per reader); each e-mail's own line is at debug, and its audit entry names it.
    if !entries.is_empty() {
        tracing::info!(kind, queued = entries.len(), "e-mails queued in the outbox");
    }
    Entry::write_many(db, entries).await
}

/// A notification as stored: in the recipient's language (`locale`), with the words to say it
/// in the reader's.
fn written(
    kind: &str,
    locale: Option<&str>,
    n: &Notice,
    at: DateTime<FixedOffset>,
) -> notifications::ActiveModel {
    let said = crate::mail::render::notice(crate::mail::render::lang_of(locale), &n.letter);
    let words = said
        .is_some()
        .then(|| crate::mail::render::words(&n.letter));
    let (title, body) = said.unwrap_or_else(|| (n.title.clone(), n.body.clone()));
    notifications::ActiveModel {
        user_id: Set(n.user_id),
        kind: Set(kind.to_string()),
        title: Set(title.chars().take(250).collect()),
        body: Set(body),
        link: Set(Some(n.link.clone())),
        created_at: Set(at),
        read_at: Set(None),
        words: Set(words),
        ..Default::default()
    }
}

/// The user account of a student record, if it has one.
pub async fn user_of_student(db: &impl ConnectionTrait, student_id: i64) -> AppResult<Option<i64>> {
    Ok(students::Entity::find_by_id(student_id)
        .select_only()
        .column(students::Column::UserId)
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}

/// The same for a student record (nothing when it has no account).
pub async fn notify_student(
    db: &impl ConnectionTrait,
    student_id: i64,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
) -> AppResult<()> {
    if let Some(uid) = user_of_student(db, student_id).await? {
        notify_user(db, uid, kind, title, body, link).await?;
    }
    Ok(())
}

/// Unread conversations and unread notifications of one user, in one statement (both parts
/// use the `user` indexes of their tables).
pub async fn unread_counts(db: &impl ConnectionTrait, user_id: i64) -> AppResult<(i64, i64)> {
    let conv = Query::select()
        .expr(
            Expr::col((
                conversation_members::Entity,
                conversation_members::Column::UserId,
            ))
            .count(),
        )
        .from(conversation_members::Entity)
        .inner_join(
            conversations::Entity,
            Expr::col((conversations::Entity, conversations::Column::Id)).equals((
                conversation_members::Entity,
                conversation_members::Column::ConversationId,
            )),
        )
        .and_where(
            Expr::col((
                conversation_members::Entity,
                conversation_members::Column::UserId,
            ))
            .eq(user_id),
        )
        .and_where(
            Expr::col((
                conversation_members::Entity,
                conversation_members::Column::LastReadAt,
            ))
            .is_null()
            .or(Expr::col((
                conversation_members::Entity,
                conversation_members::Column::LastReadAt,
            ))
            .lt(Expr::col((
                conversations::Entity,
                conversations::Column::LastMessageAt,
            )))),
        )
        .to_owned();
    let notes = Query::select()
        .expr(Expr::col(notifications::Column::Id).count())
        .from(notifications::Entity)
        .and_where(Expr::col(notifications::Column::UserId).eq(user_id))
        .and_where(Expr::col(notifications::Column::ReadAt).is_null())
        .to_owned();
    let stmt = Query::select()
        .expr_as(
            SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(conv))),
            Alias::new("c"),
        )
        .expr_as(
            SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(notes))),
            Alias::new("n"),
        )
        .to_owned();
    let row = db.query_one(&stmt).await?;
    Ok(match row {
        Some(r) => (
            r.try_get::<i64>("", "c").unwrap_or(0),
            r.try_get::<i64>("", "n").unwrap_or(0),
        ),
        None => (0, 0),
    })
}

/// A user's notifications, newest first.
pub async fn list(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<notifications::Model>> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user_id))
        .order_by_desc(notifications::Column::Id)
        .limit(200)
        .all(db)
        .await?)
}

/// Marks every notification of the user read.
pub async fn mark_all_read(db: &impl ConnectionTrait, user_id: i64) -> AppResult<u64> {
    let res = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(now()))
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
