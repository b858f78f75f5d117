//! `CurrentUser`: the request guard every protected route builds on. It reads the token from
//! `Authorization: Bearer` (API) or the session cookie (pages), checks it strictly, and checks
//! the database so that logout, password changes, disabled accounts and group changes take
//! effect on the very next request, on every app instance.

use super::token::Claims;
use crate::access::Permission;
use crate::access::service::{user_group_codes, user_permissions};
use crate::entity::{revoked_tokens, students, users};
use crate::error::AppError;
use crate::state::{AppState, Rights};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use serde::Serialize;
use std::collections::HashSet;

pub const SESSION_COOKIE: &str = "srm_session";

#[derive(Debug, Clone, Serialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub kind: String,
    pub groups: Vec<String>,
    #[serde(skip)]
    pub permissions: HashSet<Permission>,
    /// The student record of a student account.
    pub student_id: Option<i64>,
    #[serde(skip)]
    pub claims: Claims,
    /// True when authenticated by the cookie, so state changes need a CSRF token.
    #[serde(skip)]
    pub via_cookie: bool,
    #[serde(skip)]
    pub csrf: String,
}

impl CurrentUser {
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

fn bearer(req: &Request<'_>) -> Option<(String, bool)> {
    if let Some(h) = req.headers().get_one("Authorization") {
        let h = h.trim();
        return h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(|t| (t.trim().to_string(), false));
    }
    req.cookies()
        .get(SESSION_COOKIE)
        .map(|c| (c.value().to_string(), true))
}

#[derive(FromQueryResult)]
struct SessionRow {
    id: i64,
    username: String,
    display_name: String,
    kind: String,
    is_active: bool,
    token_version: i64,
    revoked: bool,
}

/// The session of a request: a user, nobody, or a database that did not answer (which is
/// never read as "not logged in": the guard answers 503 instead of a logout).
type Loaded = Result<Option<CurrentUser>, String>;

async fn load(req: &Request<'_>) -> Loaded {
    let Some(state) = req.rocket().state::<AppState>() else {
        return Ok(None);
    };
    let Some((token, via_cookie)) = bearer(req) else {
        return Ok(None);
    };
    let Some(claims) = state.keys.decode(&token) else {
        return Ok(None);
    };
    let Ok(id) = claims.sub.parse::<i64>() else {
        return Ok(None);
    };
    let db = &state.db;
    let unavailable = |e: sea_orm::DbErr| {
        tracing::error!(error = %e, "session check: the database did not answer");
        e.to_string()
    };
    // One query: the account, and whether this very token was revoked (logout).
    let user = crate::db::retry_once(|| {
        let revoked = Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(revoked_tokens::Entity)
                .and_where(revoked_tokens::Column::Jti.eq(claims.jti.as_str()))
                .to_owned(),
        );
        users::Entity::find_by_id(id)
            .select_only()
            .columns([
                users::Column::Id,
                users::Column::Username,
                users::Column::DisplayName,
                users::Column::Kind,
                users::Column::IsActive,
                users::Column::TokenVersion,
            ])
            .expr_as(revoked, "revoked")
            .into_model::<SessionRow>()
            .one(db)
    })
    .await
    .map_err(unavailable)?;
    let Some(user) = user else {
        return Ok(None);
    };
    if !user.is_active || user.revoked || user.token_version != claims.ver {
        return Ok(None);
    }
    let rights = match state.rights.get(user.id, user.token_version) {
        Some(known) => known,
        None => {
            let rights = crate::db::retry_once(|| rights_of(db, user.id))
                .await
                .map_err(unavailable)?;
            state
                .rights
                .put(user.id, user.token_version, rights.clone());
            rights
        }
    };
    let csrf = state.keys.csrf_for(&claims.jti);
    Ok(Some(CurrentUser {
        id: user.id,
        username: user.username,
        display_name: user.display_name,
        kind: user.kind,
        groups: rights.groups,
        permissions: rights.permissions,
        student_id: rights.student_id,
        claims,
        via_cookie,
        csrf,
    }))
}

async fn rights_of(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
) -> Result<Rights, sea_orm::DbErr> {
    let db_err = |e: AppError| match e {
        AppError::Db(e) => e,
        other => sea_orm::DbErr::Custom(other.to_string()),
    };
    Ok(Rights {
        permissions: user_permissions(db, user_id).await.map_err(db_err)?,
        groups: user_group_codes(db, user_id).await.map_err(db_err)?,
        student_id: students::Entity::find()
            .filter(students::Column::UserId.eq(user_id))
            .one(db)
            .await?
            .map(|s| s.id),
    })
}

fn unavailable_outcome<T>(detail: &str) -> Outcome<T, AppError> {
    Outcome::Error((
        Status::ServiceUnavailable,
        AppError::Unavailable(detail.to_string()),
    ))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r CurrentUser {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let cached: &Loaded = req.local_cache_async(load(req)).await;
        match cached {
            Err(detail) => unavailable_outcome(detail),
            Ok(Some(user)) => {
                // NOTE: a cookie-authenticated API call that changes state must prove it came
                // from our pages; bearer tokens cannot be sent by another site.
                if user.via_cookie
                    && req.uri().path().starts_with("/api/")
                    && !matches!(
                        req.method(),
                        rocket::http::Method::Get
                            | rocket::http::Method::Head
                            | rocket::http::Method::Options
                    )
                {
                    let sent = req.headers().get_one("X-CSRF-Token").unwrap_or_default();
                    if !super::token::constant_time_eq(sent, &user.csrf) {
                        return Outcome::Error((Status::Forbidden, AppError::Csrf));
                    }
                }
                Outcome::Success(user)
            }
            Ok(None) => Outcome::Error((Status::Unauthorized, AppError::Unauthorized)),
        }
    }
}

/// The current user when there is one; fails only when the database does not answer (503).
pub struct MaybeUser<'r>(pub Option<&'r CurrentUser>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser<'r> {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let cached: &Loaded = req.local_cache_async(load(req)).await;
        match cached {
            Ok(user) => Outcome::Success(MaybeUser(user.as_ref())),
            Err(detail) => unavailable_outcome(detail),
        }
    }
}
