//! What runs by itself on every instance every `SRM_MAIL_POLL_SECONDS`: the readers of newly
//! published announcements are notified (once, by whichever instance marks it first), the
//! sender drains due mail while SMTP is configured, and once a day, claimed by one instance
//! (`claim_period`), the digests and the registration-deadline reminders are queued.

use super::categories::{Category, status};
use super::mailer::Mailer;
use super::render::lang_of;
use super::sender::send_due;
use super::service::{Outgoing, insert};
use crate::db::Db;
use crate::entity::{outbox, students, terms, users};
use crate::error::AppResult;
use crate::i18n::fill;
use crate::interaction::messages::notify::notify_user_with;
use crate::jobs::{Jobs, claim_period};
use crate::mail::Letter;
use chrono::{DateTime, Duration, Timelike, Utc};
use rocket::fairing::AdHoc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The claim kinds of the daily work.
const DIGEST: &str = "mail_digest";
const DEADLINE: &str = "mail_deadline";
/// How long before registration closes the reminder goes out.
const REMIND_BEFORE_HOURS: i64 = 48;

/// Folds each person's held mail into one digest e-mail (one transaction per person).
/// Answers how many digests were queued.
pub async fn digest_all(db: &Db, mailer: &Mailer) -> AppResult<usize> {
    let people: Vec<Option<i64>> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::UserId)
        .filter(outbox::Column::Status.eq(status::HELD))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut queued = 0;
    for user_id in people.into_iter().flatten() {
        if digest_one(db, mailer, user_id).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

async fn digest_one(db: &Db, mailer: &Mailer, user_id: i64) -> AppResult<bool> {
    let txn = crate::db::write_txn(db).await?;
    let held = outbox::Entity::find()
        .filter(outbox::Column::UserId.eq(user_id))
        .filter(outbox::Column::Status.eq(status::HELD))
        .order_by_asc(outbox::Column::Id)
        .all(&txn)
        .await?;
    let user = users::Entity::find_by_id(user_id).one(&txn).await?;
    let (Some(first), Some(user)) = (held.first(), user) else {
        txn.rollback().await?;
        return Ok(false);
    };
    let lang = lang_of(user.locale.as_deref());
    let to = user
        .email
        .clone()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| first.to_addr.clone());
    let n = held.len().to_string();
    let subject = fill(&lang.t("mail.digest.subject"), &[("n", n.clone())]);
    let mut body = fill(
        &lang.t("mail.greeting"),
        &[("name", user.display_name.clone())],
    );
    body.push_str("\n\n");
    body.push_str(&fill(&lang.t("mail.digest.body"), &[("n", n)]));
    body.push('\n');
    for row in &held {
        body.push_str("\n• ");
        body.push_str(&row.subject);
        if let Some(link) = &row.link {
            body.push_str("\n  ");
            body.push_str(&mailer.public_url);
            body.push_str(link);
        }
    }
    let ids: Vec<i64> = held.iter().map(|r| r.id).collect();
    insert(
        &txn,
        &Outgoing {
            user_id: Some(user_id),
            to: &to,
            lang: lang.code(),
            category: Category::Digest,
            kind: "digest",
            subject: &subject,
            body: &body,
            link: Some("/notifications"),
            state: status::QUEUED,
        },
    )
    .await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status::DIGESTED))
        .col_expr(outbox::Column::BodyText, Expr::value(""))
        .filter(outbox::Column::Id.is_in(ids))
        .filter(outbox::Column::Status.eq(status::HELD))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// Reminds every active student with an account that registration for a term closes within
/// two days: once per term across all instances (the claim and the notifications are one
/// transaction). Answers how many students were reminded.
pub async fn deadline_reminders(db: &Db, now: DateTime<Utc>) -> AppResult<usize> {
    let soon = now + Duration::hours(REMIND_BEFORE_HOURS);
    let closing: Vec<terms::Model> = terms::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter(|t| {
            let closes = t.registration_closes_at.with_timezone(&Utc);
            t.registration_opens_at.with_timezone(&Utc) <= now && closes > now && closes <= soon
        })
        .collect();
    let mut reminded = 0;
    for term in closing {
        let txn = crate::db::write_txn(db).await?;
        if !claim_period(&txn, DEADLINE, term.id, &crate::jobs::instance_id()).await? {
            txn.rollback().await?;
            continue;
        }
        let people: Vec<Option<i64>> = students::Entity::find()
            .select_only()
            .column(students::Column::UserId)
            .filter(students::Column::UserId.is_not_null())
            .filter(students::Column::Status.eq(students::StudentStatus::Active))
            .into_tuple()
            .all(&txn)
            .await?;
        let closes = term.registration_closes_at;
        let letter = Letter::new("registration.deadline")
            .arg("term_zh", &term.name_zh)
            .arg("term_en", &term.name_en)
            .arg("closes", closes.format("%Y-%m-%d %H:%M UTC").to_string())
            .link("/registrations");
        let title = format!("Registration for {} closes soon", term.name_en);
        let body = format!(
            "Registration closes at {}.",
            closes.format("%Y-%m-%d %H:%M UTC")
        );
        for uid in people.into_iter().flatten() {
            notify_user_with(
                &txn,
                uid,
                "registration.deadline",
                &title,
                &body,
                "/registrations",
                &letter,
            )
            .await?;
            reminded += 1;
        }
        txn.commit().await?;
    }
    Ok(reminded)
}

/// The daily work when its hour has come and no instance has claimed today yet. Answers
/// (digests queued, students reminded), or None when it was not this instance's turn.
pub async fn daily_tick(
    db: &Db,
    mailer: &Mailer,
    jobs: &Jobs,
    now: DateTime<Utc>,
) -> AppResult<Option<(usize, usize)>> {
    if now.hour() < mailer.digest_hour_utc {
        return Ok(None);
    }
    let day = now.timestamp().div_euclid(86_400);
    let taken = crate::entity::job_claims::Entity::find_by_id((DIGEST.to_string(), day))
        .one(db)
        .await?
        .is_some();
    if taken || !claim_period(db, DIGEST, day, &jobs.holder).await? {
        return Ok(None);
    }
    let digests = digest_all(db, mailer).await?;
    let reminded = deadline_reminders(db, now).await?;
    Ok(Some((digests, reminded)))
}

/// Starts the sender and the daily work at launch (never in the tests' local clients, which
/// do not lift off).
pub fn scheduler() -> AdHoc {
    AdHoc::on_liftoff("mail", |rocket| {
        Box::pin(async move {
            let Some(state) = rocket.state::<crate::state::AppState>() else {
                return;
            };
            let db = state.db.clone();
            let jobs = state.jobs.clone();
            let mailer = state.mail.clone();
            if !mailer.enabled() {
                tracing::warn!("SRM_SMTP_URL is unset: e-mail stays in the outbox");
            }
            tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(
                    tokio::time::Instant::now() + mailer.poll,
                    mailer.poll,
                );
                loop {
                    tick.tick().await;
                    let at = Utc::now().fixed_offset();
                    match crate::interaction::announcements::service::notify_published(&db, at)
                        .await
                    {
                        Ok(n) if n > 0 => tracing::info!(notified = n, "announcement published"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!("announcing failed: {e}"),
                    }
                    match daily_tick(&db, &mailer, &jobs, Utc::now()).await {
                        Ok(Some((digests, reminded))) => {
                            tracing::info!(digests, reminded, "daily mail queued")
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!("daily mail failed: {e}"),
                    }
                    match send_due(&db, &mailer, &jobs.holder).await {
                        Ok(d) if d.sent + d.retrying + d.dead > 0 => {
                            tracing::info!(
                                sent = d.sent,
                                retrying = d.retrying,
                                dead = d.dead,
                                "outbox drained"
                            )
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("sending e-mail failed: {e}"),
                    }
                }
            });
        })
    })
}
