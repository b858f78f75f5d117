//! The single sign-on flow: starts a sign-in at the provider, checks its answer (the pending
//! flow's signature, `state`, the ID token through `super::sso`) and turns a verified identity
//! into the very session a password login gives.

use super::service::{LoginOk, find_by_name, session_for};
use super::sso::{FLOW_TTL_SECONDS, Sso, claimed_name};
use crate::audit::Entry;
use crate::entity::users;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::Utc;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, Scope, SignatureVerificationError,
};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};

/// The pending sign-in, kept by the browser in a signed, short-lived cookie.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    expires: i64,
}

impl Flow {
    fn seal(&self, state: &AppState) -> AppResult<String> {
        let body = B64.encode(serde_json::to_vec(self).map_err(AppError::internal)?);
        let mac = state.keys.mac("sso-flow", &body);
        Ok(format!("{body}.{mac}"))
    }

    fn open(state: &AppState, sealed: &str) -> Option<Flow> {
        let (body, mac) = sealed.rsplit_once('.')?;
        if !super::token::constant_time_eq(&state.keys.mac("sso-flow", body), mac) {
            return None;
        }
        let flow: Flow = serde_json::from_slice(&B64.decode(body).ok()?).ok()?;
        (flow.expires > Utc::now().timestamp()).then_some(flow)
    }
}

/// A started sign-in: where to send the browser, and the value of its flow cookie.
pub struct Started {
    pub redirect: String,
    pub flow: String,
}

/// Starts a sign-in at the provider; `next` is where the browser goes after it.
pub async fn start(state: &AppState, sso: &Sso, next: &str) -> AppResult<Started> {
    let meta = sso.metadata(false).await?;
    let client = sso.client(&meta);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if sso.claim == "email" {
        request = request.add_scope(Scope::new("email".into()));
    }
    let (url, csrf, nonce) = request.url();
    let flow = Flow {
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: next.to_string(),
        expires: Utc::now().timestamp() + FLOW_TTL_SECONDS,
    };
    Ok(Started {
        redirect: url.to_string(),
        flow: flow.seal(state)?,
    })
}

/// What the provider sent back to the callback, with the flow cookie and the caller's address.
pub struct Callback<'a> {
    pub flow: Option<&'a str>,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    pub ip: &'a str,
}

/// A finished sign-in: the session, the ID token (the hint for the provider's logout) and
/// where to go.
pub struct SsoDone {
    pub ok: LoginOk,
    pub id_token: String,
    pub next: String,
}

/// Why a sign-in was refused: a code for the page (`sso.refused.<code>`), and the name the
/// provider gave when it matters.
#[derive(Debug)]
pub struct Refused {
    pub code: &'static str,
    pub name: Option<String>,
}

fn refused(code: &'static str) -> Refused {
    Refused { code, name: None }
}

/// The verified identity of a callback: the account name claimed, and the raw ID token.
struct Verified {
    name: String,
    id_token: String,
    next: String,
}

/// Finishes a sign-in: checks the flow, exchanges the code, verifies the ID token and opens the
/// matching account's session. A refusal is audited and answered as `Ok(Err(..))`; an `Err` is
/// the database's or the provider's failure (503).
pub async fn finish(
    state: &AppState,
    sso: &Sso,
    cb: Callback<'_>,
) -> AppResult<Result<SsoDone, Refused>> {
    let verified = match verify(state, sso, &cb).await? {
        Ok(v) => v,
        Err(r) => return refuse(state, r, cb.ip).await,
    };
    let mut found = find_by_name(&state.db, &verified.name).await?;
    if found.is_none() && sso.create_students {
        match crate::students::accounts::create_at_single_sign_on(&state.db, &verified.name, cb.ip)
            .await
        {
            Ok(_) => {}
            // NOTE: a second tab signing in at the same moment made it first.
            Err(AppError::Db(e)) if crate::db::is_unique_violation(&e) => {}
            Err(e) => return Err(e),
        }
        found = find_by_name(&state.db, &verified.name).await?;
    }
    let Some(user) = found else {
        return refuse(
            state,
            Refused {
                code: "unknown_user",
                name: Some(verified.name),
            },
            cb.ip,
        )
        .await;
    };
    if !user.is_active {
        return refuse(
            state,
            Refused {
                code: "disabled",
                name: Some(verified.name),
            },
            cb.ip,
        )
        .await;
    }
    let txn = crate::db::write_txn(&state.db).await?;
    let mut am: users::ActiveModel = user.clone().into();
    am.last_login_at = Set(Some(Utc::now().fixed_offset()));
    am.update(&txn).await?;
    Entry::new(Some(user.id), "auth.login", "user")
        .id(user.id)
        .ip(Some(cb.ip.to_string()))
        .detail(serde_json::json!({"method": "sso"}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(Ok(SsoDone {
        ok: session_for(state, user).await?,
        id_token: verified.id_token,
        next: verified.next,
    }))
}

async fn refuse(state: &AppState, r: Refused, ip: &str) -> AppResult<Result<SsoDone, Refused>> {
    Entry::new(None, "auth.sso_refused", "user")
        .id(r.name.clone().unwrap_or_default())
        .denied()
        .ip(Some(ip.to_string()))
        .detail(serde_json::json!({"reason": r.code}))
        .write(&state.db)
        .await?;
    Ok(Err(r))
}

async fn verify(
    state: &AppState,
    sso: &Sso,
    cb: &Callback<'_>,
) -> AppResult<Result<Verified, Refused>> {
    let Some(flow) = cb.flow.and_then(|f| Flow::open(state, f)) else {
        return Ok(Err(refused("state")));
    };
    if !cb
        .state
        .is_some_and(|s| super::token::constant_time_eq(s, &flow.state))
    {
        return Ok(Err(refused("state")));
    }
    if let Some(error) = cb.error {
        tracing::info!(error = %error.chars().take(100).collect::<String>(), "single sign-on: the provider refused");
        return Ok(Err(refused("provider")));
    }
    let Some(code) = cb.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Ok(Err(refused("state")));
    };
    let meta = sso.metadata(false).await?;
    let client = sso.client(&meta);
    let exchange = {
        let client = client.clone();
        let agent = sso.agent.clone();
        let code = AuthorizationCode::new(code.to_string());
        let verifier = PkceCodeVerifier::new(flow.verifier.clone());
        tokio::task::spawn_blocking(move || {
            client
                .exchange_code(code)
                .map(|r| r.set_pkce_verifier(verifier).request(&agent))
        })
        .await
        .map_err(AppError::internal)?
    };
    let response = match exchange {
        Err(e) => return Err(AppError::internal(format!("single sign-on: {e}"))),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "single sign-on: the code was not exchanged");
            return Ok(Err(refused("exchange")));
        }
        Ok(Ok(r)) => r,
    };
    use openidconnect::TokenResponse as _;
    let Some(id_token) = response.id_token() else {
        return Ok(Err(refused("token")));
    };
    let nonce = Nonce::new(flow.nonce.clone());
    let mut checked = claimed_name(&client, id_token, &nonce, &sso.claim);
    if matches!(
        checked,
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey
        ))
    ) {
        // NOTE: the provider may have rotated its keys since the discovery document was read.
        let meta = sso.metadata(true).await?;
        checked = claimed_name(&sso.client(&meta), id_token, &nonce, &sso.claim);
    }
    let name = match checked {
        Ok(Some(name)) => name,
        Ok(None) => return Ok(Err(refused("no_claim"))),
        Err(e) => {
            tracing::info!(error = %e, "single sign-on: the ID token was refused");
            return Ok(Err(refused(match e {
                ClaimsVerificationError::Expired(_) => "expired",
                ClaimsVerificationError::InvalidAudience(_) => "audience",
                ClaimsVerificationError::InvalidIssuer(_) => "issuer",
                ClaimsVerificationError::InvalidNonce(_) => "nonce",
                ClaimsVerificationError::SignatureVerification(_) => "signature",
                _ => "token",
            })));
        }
    };
    Ok(Ok(Verified {
        name,
        id_token: id_token.to_string(),
        next: flow.next,
    }))
}
