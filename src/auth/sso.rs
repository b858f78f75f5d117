//! Single sign-on through the university's OpenID Connect provider: the authorization code flow
//! with PKCE, `state` and `nonce`. Every check of the ID token (signature against the provider's
//! JWKS, issuer, audience, expiry, nonce) is `openidconnect`'s; this module keeps the provider's
//! client and discovery document. The sign-in flow itself is `super::sso_flow`.

use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, Client, ClientId, ClientSecret,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenFields,
    IssuerUrl, LogoutRequest, Nonce, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, StandardErrorResponse, StandardTokenResponse,
};
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
    pub(super) claim: String,
    pub(super) create_students: bool,
    pub(super) agent: ureq::Agent,
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
    pub(super) async fn metadata(
        &self,
        refresh: bool,
    ) -> AppResult<Arc<ProviderMetadataWithLogout>> {
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

    pub(super) fn client(&self, meta: &ProviderMetadataWithLogout) -> OidcClient {
        OidcClient::from_provider_metadata(
            meta.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone())
    }
}

/// Verifies the ID token and reads the configured claim from it.
pub(super) fn claimed_name(
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
