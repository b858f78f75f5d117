//! Guards that build on `CurrentUser`: `Perm<P>` proves a permission, `ModuleOn<M>` proves a
//! module is switched on. A handler's signature states who may call it.

use super::permissions::{Module, ModuleMarker, PermMarker};
use super::service::enabled_modules;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use std::collections::HashSet;
use std::marker::PhantomData;
use std::ops::Deref;

/// The current user, proven to hold permission `P`. A refusal is written to the audit log.
pub struct Perm<'r, P: PermMarker> {
    pub user: &'r CurrentUser,
    _p: PhantomData<P>,
}

impl<P: PermMarker> Deref for Perm<'_, P> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        self.user
    }
}

pub use super::client_addr::client_ip;

/// Writes a refusal to the audit log; a failure to write is logged, not shown.
pub async fn audit_denied(req: &Request<'_>, actor: Option<i64>, what: &str) {
    if let Some(state) = req.rocket().state::<AppState>() {
        let entry = Entry::new(actor, "access.denied", "route")
            .id(format!("{} {}", req.method(), req.uri().path()))
            .denied()
            .ip(client_ip(req))
            .detail(serde_json::json!({ "needs": what }));
        if let Err(e) = entry.write(&state.db).await {
            tracing::error!(error = %e, "could not write audit row");
        }
    }
}

#[rocket::async_trait]
impl<'r, P: PermMarker> FromRequest<'r> for Perm<'r, P> {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let user = match <&CurrentUser>::from_request(req).await {
            Outcome::Success(u) => u,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(s) => return Outcome::Forward(s),
        };
        if user.can(P::PERM) {
            Outcome::Success(Perm {
                user,
                _p: PhantomData,
            })
        } else {
            audit_denied(req, Some(user.id), P::PERM.code()).await;
            Outcome::Error((Status::Forbidden, AppError::Forbidden))
        }
    }
}

/// Proof that module `M` is switched on; otherwise the route answers 404.
pub struct ModuleOn<M: ModuleMarker>(PhantomData<M>);

/// The modules switched on, read once per request (from the instance's copy when fresh).
pub async fn request_modules<'r>(req: &'r Request<'_>) -> &'r HashSet<Module> {
    req.local_cache_async(async {
        match req.rocket().state::<AppState>() {
            Some(state) => match state.modules.get() {
                Some(on) => on,
                None => match enabled_modules(&state.db).await {
                    Ok(on) => {
                        state.modules.put(on.clone());
                        on
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the module switches");
                        HashSet::new()
                    }
                },
            },
            None => HashSet::new(),
        }
    })
    .await
}

#[rocket::async_trait]
impl<'r, M: ModuleMarker> FromRequest<'r> for ModuleOn<M> {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if request_modules(req).await.contains(&M::MODULE) {
            Outcome::Success(ModuleOn(PhantomData))
        } else {
            Outcome::Error((Status::NotFound, AppError::NotFound))
        }
    }
}

/// The same check for code that is not a guard.
pub async fn require_module(db: &impl sea_orm::ConnectionTrait, module: Module) -> AppResult<()> {
    if enabled_modules(db).await?.contains(&module) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
