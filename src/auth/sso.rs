//! Single sign-on through the university's OpenID Connect provider: the authorization code flow
//! with PKCE, `state` and `nonce`. Every check of the ID token (signature against the provider's
//! JWKS, issuer, audience, expiry, nonce) is `openidconnect`'s; this module keeps the discovery
//! document, carries the pending flow in a signed value, and turns a verified identity into the
//! very session a password login gives.

use super::service::{LoginOk, find_by_name, session_for};
use crate::audit::Entry;
use crate::config::AppConfig;
use crate::entity::users;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::Utc;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    IdTokenFields, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a discovery document (with the provider's keys) is used before it is read again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// The least time between two readings forced by a token signed with a key we do not know.
const REFRESH_MIN: Duration = Duration::from_secs(30);
/// How long a started sign-in may stay at the provider.
pub const FLOW_TTL_SECONDS: i64 = 600;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The claims of an ID token beyond the standard ones, so any claim can name the account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub claims: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<IdFields, CoreTokenType>;
type SsoIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The configured provider and what the portal knows of it.
pub struct Sso {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    after_logout: PostLogoutRedirectUrl,
    claim: String,
    create_students: bool,
    agent: ureq::Agent,
    cache: Mutex<Option<(Instant, Arc<ProviderMetadataWithLogout>)>>,
}

fn setting(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Sso {
    /// Single sign-on as configured: `None` while `SRM_OIDC_ISSUER` is unset, an error (which
    /// stops the launch) when it is set without what it needs.
    pub fn from_config(c: &AppConfig) -> AppResult<Option<Sso>> {
        let Some(issuer) = setting(&c.oidc_issuer) else {
            return Ok(None);
        };
        let bad = |what: String| AppError::internal(format!("single sign-on: {what}"));
        let client_id = setting(&c.oidc_client_id)
            .ok_or_else(|| bad("SRM_OIDC_CLIENT_ID is not set".into()))?;
        let public = setting(&c.public_url)
            .ok_or_else(|| bad("SRM_PUBLIC_URL is not set".into()))?
            .trim_end_matches('/');
        let redirect = RedirectUrl::new(format!("{public}/login/sso/callback"))
            .map_err(|e| bad(format!("SRM_PUBLIC_URL: {e}")))?;
        let after_logout = PostLogoutRedirectUrl::new(format!("{public}/login"))
            .map_err(|e| bad(format!("SRM_PUBLIC_URL: {e}")))?;
        let issuer =
            IssuerUrl::new(issuer.to_string()).map_err(|e| bad(format!("SRM_OIDC_ISSUER: {e}")))?;
        let claim = c.oidc_username_claim.trim();
        // NOTE: no redirects: a provider's endpoint that redirects elsewhere is refused rather
        // than followed (the crate's advice against request forgery).
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(HTTP_TIMEOUT)
            .build();
        Ok(Some(Sso {
            issuer,
            client_id: ClientId::new(client_id.to_string()),
            client_secret: setting(&c.oidc_client_secret).map(|s| ClientSecret::new(s.into())),
            redirect,
            after_logout,
            claim: if claim.is_empty() {
                "preferred_username".into()
            } else {
                claim.to_string()
            },
            create_students: c.oidc_create_students,
            agent,
            cache: Mutex::new(None),
        }))
    }

    fn cached(&self) -> Option<(Instant, Arc<ProviderMetadataWithLogout>)> {
        self.cache.lock().ok().and_then(|c| c.clone())
    }

    /// The provider's discovery document with its keys: the copy while fresh, else read anew
    /// (off the request threads). `refresh` asks for a new reading, at most every
    /// [`REFRESH_MIN`], after a token signed with an unknown key.
    async fn metadata(&self, refresh: bool) -> AppResult<Arc<ProviderMetadataWithLogout>> {
        if let Some((at, meta)) = self.cached() {
            let limit = if refresh { REFRESH_MIN } else { DISCOVERY_TTL };
            if at.elapsed() < limit {
                return Ok(meta);
            }
        }
        let issuer = self.issuer.clone();
        let agent = self.agent.clone();
        let meta = tokio::task::spawn_blocking(move || {
            ProviderMetadataWithLogout::discover(&issuer, &agent)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(|e| {
            tracing::warn!(error = %e, "single sign-on: discovery failed");
            AppError::Unavailable(format!("the identity provider did not answer: {e}"))
        })?;
        let meta = Arc::new(meta);
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((Instant::now(), meta.clone()));
        }
        Ok(meta)
    }

    fn client(&self, meta: &ProviderMetadataWithLogout) -> OidcClient {
        OidcClient::from_provider_metadata(
            meta.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone())
    }
}

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

/// Verifies the ID token and reads the configured claim from it.
fn claimed_name(
    client: &OidcClient,
    id_token: &SsoIdToken,
    nonce: &Nonce,
    claim: &str,
) -> Result<Option<String>, ClaimsVerificationError> {
    let claims = id_token.claims(&client.id_token_verifier(), nonce)?;
    let name = match claim {
        "preferred_username" => claims.preferred_username().map(|n| n.as_str().to_string()),
        "email" => claims.email().map(|e| e.as_str().to_string()),
        "sub" => Some(claims.subject().as_str().to_string()),
        other => match claims.additional_claims().claims.get(other) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
    };
    Ok(name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()))
}

/// The provider's logout address for a session opened by single sign-on, when it has one.
pub async fn logout_url(sso: &Sso, id_token: &str) -> Option<String> {
    let meta = sso.metadata(false).await.ok()?;
    let endpoint = meta.additional_metadata().end_session_endpoint.clone()?;
    let mut request =
        LogoutRequest::from(endpoint).set_post_logout_redirect_uri(sso.after_logout.clone());
    match id_token.parse::<SsoIdToken>() {
        Ok(token) => request = request.set_id_token_hint(&token),
        Err(_) => request = request.set_client_id(sso.client_id.clone()),
    }
    Some(request.http_get_url().to_string())
}
