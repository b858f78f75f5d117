//! Putting e-mail in the outbox (by each person's preferences), the preferences themselves and
//! the one-click unsubscribe.

use super::categories::{Category, Mode, status};
use super::render::{ActivationLetter, Letter, compose, compose_activation, lang_of};
use crate::audit::Entry;
use crate::entity::{notification_prefs, outbox, users};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use std::collections::HashMap;

/// The setting that turns e-mail on for the whole portal (`on` / `off`).
pub const EMAIL_KEY: &str = "notifications.email";

/// How `user_id` wants `category` (a category without a row is `immediate`; a mandatory one
/// always is).
pub async fn mode_of(
    db: &impl ConnectionTrait,
    user_id: i64,
    category: Category,
) -> AppResult<Mode> {
    if !category.optional() {
        return Ok(Mode::Immediate);
    }
    Ok(
        notification_prefs::Entity::find_by_id((user_id, category.code().to_string()))
            .one(db)
            .await?
            .and_then(|p| Mode::parse(&p.mode))
            .unwrap_or(Mode::Immediate),
    )
}

/// Puts each `(user, letter)` in the outbox, in the user's language, unless the account is
/// disabled or has no address, they chose the portal only for the letter's category, or its
/// kind is not sent by e-mail; a digest category holds it for the daily digest. A few
/// statements however many: the people and their preferences, then the outbox rows, 500 at a
/// time (an announcement to every student, or a run's notices, inside one transaction that
/// holds SQLite's one writer). Answers each letter's outbox row id, in order; none where
/// nothing is sent.
pub async fn enqueue_for_users(
    db: &impl ConnectionTrait,
    letters: &[(i64, &Letter)],
) -> AppResult<Vec<Option<i64>>> {
    let mut ids: Vec<i64> = letters
        .iter()
        .filter(|(_, l)| Category::of_kind(&l.kind).is_some())
        .map(|(user, _)| *user)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut codes: Vec<&str> = letters
        .iter()
        .filter_map(|(_, l)| Category::of_kind(&l.kind).filter(|c| c.optional()))
        .map(Category::code)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mut people: HashMap<i64, users::Model> = HashMap::new();
    let mut modes: HashMap<(i64, String), Mode> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let active = users::Entity::find()
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .filter(users::Column::IsActive.eq(true))
            .all(db)
            .await?;
        people.extend(active.into_iter().map(|u| (u.id, u)));
        if codes.is_empty() {
            continue;
        }
        let chosen = notification_prefs::Entity::find()
            .filter(notification_prefs::Column::UserId.is_in(chunk.iter().copied()))
            .filter(notification_prefs::Column::Category.is_in(codes.iter().copied()))
            .all(db)
            .await?;
        for p in chosen {
            if let Some(mode) = Mode::parse(&p.mode) {
                modes.insert((p.user_id, p.category), mode);
            }
        }
    }
    let mut rows: Vec<(usize, outbox::ActiveModel)> = Vec::new();
    for (i, (user_id, letter)) in letters.iter().enumerate() {
        let Some(category) = Category::of_kind(&letter.kind) else {
            continue;
        };
        let Some(user) = people.get(user_id) else {
            continue;
        };
        let Some(to) = user
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        else {
            continue;
        };
        let mode = match category.optional() {
            true => modes.get(&(*user_id, category.code().to_string())),
            false => None,
        };
        let state = match mode.copied().unwrap_or(Mode::Immediate) {
            Mode::Portal => continue,
            Mode::Digest => status::HELD,
            Mode::Immediate => status::QUEUED,
        };
        let lang = lang_of(user.locale.as_deref());
        let (subject, body) = compose(lang, &user.display_name, letter);
        let outgoing = Outgoing {
            user_id: Some(*user_id),
            to,
            lang: lang.code(),
            category,
            kind: &letter.kind,
            subject: &subject,
            body: &body,
            link: letter.link.as_deref(),
            state,
        };
        rows.push((i, row(&outgoing)));
    }
    let mut out = vec![None; letters.len()];
    for chunk in rows.chunks(CHUNK) {
        let keys = inserted_keys(
            outbox::Entity::insert_many(chunk.iter().map(|(_, r)| r.clone()))
                .exec_with_returning_keys(db)
                .await?,
            chunk.len(),
        )?;
        for ((i, _), id) in chunk.iter().zip(keys) {
            out[*i] = Some(id);
        }
    }
    Ok(out)
}

/// How many rows one batched statement reads or writes.
const CHUNK: usize = 500;

/// The keys of a multi-row insert in the order of its rows: ids are taken row by row, so
/// ascending ids follow the rows (the order of `RETURNING` itself is not promised).
pub fn inserted_keys(mut keys: Vec<i64>, rows: usize) -> AppResult<Vec<i64>> {
    if keys.len() != rows {
        return Err(AppError::internal(format!(
            "an insert of {rows} rows answered {} ids",
            keys.len()
        )));
    }
    keys.sort_unstable();
    Ok(keys)
}

/// One e-mail to put in the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub user_id: Option<i64>,
    pub to: &'a str,
    pub lang: &'a str,
    pub category: Category,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub link: Option<&'a str>,
    /// `queued`, or `held` for a digest.
    pub state: &'a str,
}

/// Inserts one outbox row, due now; answers its id.
pub async fn insert(db: &impl ConnectionTrait, m: &Outgoing<'_>) -> AppResult<i64> {
    Ok(row(m).insert(db).await?.id)
}

/// An outbox row, due now.
fn row(m: &Outgoing<'_>) -> outbox::ActiveModel {
    let now = Utc::now();
    outbox::ActiveModel {
        user_id: Set(m.user_id),
        to_addr: Set(m.to.trim().chars().take(320).collect()),
        lang: Set(m.lang.to_string()),
        category: Set(m.category.code().to_string()),
        kind: Set(m.kind.chars().take(40).collect()),
        subject: Set(m.subject.chars().take(250).collect()),
        body_text: Set(m.body.to_string()),
        link: Set(m.link.map(|l| l.chars().take(500).collect())),
        status: Set(m.state.to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now.timestamp()),
        last_error: Set(None),
        claimed_by: Set(None),
        claimed_until: Set(None),
        created_at: Set(now.fixed_offset()),
        sent_at: Set(None),
        message_id: Set(None),
        ..Default::default()
    }
}

/// Every optional category a person may choose for, with their mode.
pub async fn prefs(
    db: &impl ConnectionTrait,
    user_id: i64,
    is_student: bool,
) -> AppResult<Vec<(Category, Mode)>> {
    let rows = notification_prefs::Entity::find()
        .filter(notification_prefs::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    Ok(Category::OPTIONAL
        .iter()
        .filter(|c| !is_student || c.for_students())
        .map(|c| {
            let mode = rows
                .iter()
                .find(|r| r.category == c.code())
                .and_then(|r| Mode::parse(&r.mode))
                .unwrap_or(Mode::Immediate);
            (*c, mode)
        })
        .collect())
}

async fn put_mode(
    db: &impl ConnectionTrait,
    user_id: i64,
    category: Category,
    mode: Mode,
) -> AppResult<()> {
    let row = notification_prefs::ActiveModel {
        user_id: Set(user_id),
        category: Set(category.code().to_string()),
        mode: Set(mode.code().to_string()),
        updated_at: Set(Utc::now().fixed_offset()),
    };
    notification_prefs::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                notification_prefs::Column::UserId,
                notification_prefs::Column::Category,
            ])
            .update_columns([
                notification_prefs::Column::Mode,
                notification_prefs::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Saves a person's choices (one transaction). Mandatory or unknown categories are refused.
pub async fn save_prefs(
    db: &crate::db::Db,
    user_id: i64,
    choices: &[(Category, Mode)],
) -> AppResult<()> {
    if let Some((c, _)) = choices.iter().find(|(c, _)| !c.optional()) {
        return Err(AppError::unprocessable(
            "mandatory_category",
            format!("{} cannot be turned off", c.code()),
        ));
    }
    let txn = crate::db::write_txn(db).await?;
    for (c, m) in choices {
        put_mode(&txn, user_id, *c, *m).await?;
    }
    Entry::new(Some(user_id), "mail.prefs", "user")
        .id(user_id)
        .detail(json!(
            choices
                .iter()
                .map(|(c, m)| (c.code(), m.code()))
                .collect::<std::collections::BTreeMap<_, _>>()
        ))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The one-click unsubscribe: `category` becomes portal-only for `user_id` (the digest's own
/// link turns every digest category to portal-only). Mail of that kind already held for a
/// digest is dropped with it. Answers the categories changed.
pub async fn unsubscribe(
    db: &crate::db::Db,
    user_id: i64,
    category: Category,
) -> AppResult<Vec<Category>> {
    let txn = crate::db::write_txn(db).await?;
    let exists = users::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .is_some();
    if !exists {
        txn.rollback().await?;
        return Err(AppError::NotFound);
    }
    let changed: Vec<Category> = if category == Category::Digest {
        prefs(&txn, user_id, false)
            .await?
            .into_iter()
            .filter(|(_, m)| *m == Mode::Digest)
            .map(|(c, _)| c)
            .collect()
    } else {
        vec![category]
    };
    for c in &changed {
        put_mode(&txn, user_id, *c, Mode::Portal).await?;
    }
    let codes: Vec<&str> = changed.iter().map(|c| c.code()).collect();
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status::DISCARDED))
        .filter(outbox::Column::UserId.eq(user_id))
        .filter(outbox::Column::Status.eq(status::HELD))
        .filter(outbox::Column::Category.is_in(codes.clone()))
        .exec(&txn)
        .await?;
    Entry::new(Some(user_id), "mail.unsubscribe", "user")
        .id(user_id)
        .detail(json!({"categories": codes}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(changed)
}

/// Puts a student's activation letter in the outbox (mandatory: no preference applies).
pub async fn enqueue_activation(
    db: &impl ConnectionTrait,
    letter: &ActivationLetter<'_>,
) -> AppResult<i64> {
    let locale = users::Entity::find_by_id(letter.user_id)
        .one(db)
        .await?
        .and_then(|u| u.locale);
    let (subject, body) = compose_activation(locale.as_deref(), letter);
    insert(
        db,
        &Outgoing {
            user_id: Some(letter.user_id),
            to: letter.to,
            lang: lang_of(locale.as_deref()).code(),
            category: Category::Account,
            kind: "account.activation",
            subject: &subject,
            body: &body,
            link: Some("/login/activate"),
            state: status::QUEUED,
        },
    )
    .await
}

/// A person's preferences as the page and the API show them.
pub async fn prefs_view(
    db: &impl ConnectionTrait,
    user_id: i64,
    is_student: bool,
) -> AppResult<super::dto::Prefs> {
    let email = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .and_then(|u| u.email)
        .filter(|e| !e.trim().is_empty());
    Ok(super::dto::Prefs {
        email,
        prefs: prefs(db, user_id, is_student)
            .await?
            .into_iter()
            .map(|(category, mode)| super::dto::Pref { category, mode })
            .collect(),
    })
}

/// Saves the choices (a student cannot choose staff categories) and answers the result.
pub async fn save_and_view(
    db: &crate::db::Db,
    user_id: i64,
    is_student: bool,
    choices: &[(Category, Mode)],
) -> AppResult<super::dto::Prefs> {
    if let Some((c, _)) = choices
        .iter()
        .find(|(c, _)| is_student && !c.for_students())
    {
        return Err(AppError::unprocessable(
            "invalid_category",
            format!("{} is not a category you receive", c.code()),
        ));
    }
    save_prefs(db, user_id, choices).await?;
    prefs_view(db, user_id, is_student).await
}

/// The administrator's view of the outbox.
pub async fn outbox_view(
    db: &impl ConnectionTrait,
    delivery_on: bool,
) -> AppResult<super::dto::OutboxView> {
    let notifications_on = crate::settings::get(db, EMAIL_KEY).await?.as_deref() == Some("on");
    Ok(super::dto::OutboxView {
        delivery_on,
        notifications_on,
        counts: super::queue::counts(db).await?,
        dead: super::queue::dead(db)
            .await?
            .into_iter()
            .map(super::dto::DeadLetter::from)
            .collect(),
    })
}
