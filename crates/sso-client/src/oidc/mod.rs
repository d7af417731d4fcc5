//! OpenID Connect: discovery, the authorization request, the code exchange with the ID
//! token verified, userinfo, and the end-session URL.

mod discovery;
mod id_token;
mod jwks;
mod origin;

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::DecodingKey;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::encode::encode_component;
use crate::error::{IdTokenCheck, Outcome, SsoError};
use crate::pkce::{push_challenge, PkceVerifier};
use crate::profile::Profile;
use crate::secrets::{AccessToken, IdToken, Nonce};
use crate::settings::{OidcSettings, SsoSettings};
use crate::SignIn;

use discovery::{ClientAuth, Discovered};
use jwks::KeySet;
use origin::Rewrite;

/// The first wait after a failed discovery; it doubles up to the settings' maximum.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// One OpenID provider, shared by the clones of an [`SsoClient`](crate::SsoClient).
pub(crate) struct Oidc {
    http: reqwest::Client,
    settings: OidcSettings,
    /// `SSO_URL`, ending with `/`.
    issuer_url: String,
    client_id: String,
    client_secret: String,
    rewrite: Rewrite,
    /// `None` until discovery succeeded.
    discovered: RwLock<Option<Arc<Discovered>>>,
    /// One fetch at a time; held across it so concurrent sign-ins share it.
    jwks: tokio::sync::Mutex<JwksCache>,
}

#[derive(Default)]
struct JwksCache {
    keys: Option<KeySet>,
    fetched: Option<Instant>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    id_token: Option<String>,
}

/// A token endpoint's error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
}

impl Oidc {
    pub(crate) fn new(
        http: reqwest::Client,
        settings: &SsoSettings,
        oidc: &OidcSettings,
    ) -> Result<Oidc, SsoError> {
        let rewrite = Rewrite::new(&settings.browser_url, &settings.internal_url)
            .map_err(SsoError::Client)?;
        Ok(Oidc {
            http,
            settings: oidc.clone(),
            issuer_url: settings.browser_url.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            rewrite,
            discovered: RwLock::new(None),
            jwks: tokio::sync::Mutex::new(JwksCache::default()),
        })
    }

    fn discovered(&self) -> Result<Arc<Discovered>, SsoError> {
        self.discovered
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or(SsoError::NotReady)
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.discovered().is_ok()
    }

    /// One attempt at reading the discovery document; on success its endpoints are
    /// used from then on.
    pub(crate) async fn discover(&self) -> Result<(), SsoError> {
        let url = self
            .rewrite
            .apply(&discovery::document_url(&self.issuer_url))?;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(SsoError::transport)?;
        if response.status() != StatusCode::OK {
            return Err(SsoError::Status(response.status().as_u16()));
        }
        let body = response.bytes().await.map_err(SsoError::transport)?;
        let discovered = discovery::parse(&body, &self.issuer_url)?;
        log::info!(
            "OpenID provider {} discovered: sign-ins can start",
            discovered.issuer
        );
        *self
            .discovered
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(discovered));
        Ok(())
    }

    /// Discovery until it succeeds, waiting longer after each failure (1 s, doubling,
    /// up to the settings' maximum). Ends early when every client is gone.
    pub(crate) async fn discover_until_ready(oidc: Weak<Oidc>) {
        let mut wait = FIRST_RETRY;
        loop {
            let Some(this) = oidc.upgrade() else { return };
            let max = this.settings.discovery_retry_max;
            match this.discover().await {
                Ok(()) => return,
                Err(e) => log::error!(
                    "OpenID discovery at {} failed: {e}; sign-ins answer 503 until it \
                     succeeds (next try in {} ms)",
                    discovery::document_url(&this.issuer_url),
                    wait.as_millis()
                ),
            }
            drop(this);
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(max.max(Duration::from_millis(1)));
        }
    }

    pub(crate) fn authorize_url(
        &self,
        state: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
        nonce: &Nonce,
    ) -> Result<String, SsoError> {
        let discovered = self.discovered()?;
        let endpoint = &discovered.authorization_endpoint;
        let separator = query_separator(endpoint);
        let mut url = format!(
            "{endpoint}{separator}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}",
            encode_component(&self.client_id),
            encode_component(redirect_uri),
            encode_component(&self.settings.scope_parameter()),
            encode_component(state),
            encode_component(nonce.as_str()),
        );
        push_challenge(&mut url, pkce);
        Ok(url)
    }

    /// The code exchange, the ID token's verification, then userinfo: the sign-in is
    /// accepted only when all three are.
    pub(crate) async fn finish_sign_in(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
        nonce: &Nonce,
    ) -> Outcome<SignIn> {
        let discovered = match self.discovered() {
            Ok(d) => d,
            Err(e) => return Outcome::Failed(e),
        };
        let (access_token, id_token) =
            match self.exchange(&discovered, code, redirect_uri, pkce).await {
                Outcome::Accepted(tokens) => tokens,
                Outcome::Rejected(status) => return Outcome::Rejected(status),
                Outcome::Failed(e) => return Outcome::Failed(e),
            };
        let claims = match self.verify(&discovered, &id_token, nonce).await {
            Ok(claims) => claims,
            Err(e) => return Outcome::Failed(e),
        };
        let from_token = Profile::from_claims(&claims, &self.settings.groups_claim);
        let userinfo = match self.userinfo(&discovered, &access_token.0).await {
            Outcome::Accepted(userinfo) => userinfo,
            Outcome::Rejected(status) => return Outcome::Rejected(status),
            Outcome::Failed(e) => return Outcome::Failed(e),
        };
        let from_userinfo = Profile::from_claims(&userinfo, &self.settings.groups_claim);
        // Core §5.3.2: userinfo about another subject must not be used.
        if from_userinfo.subject != from_token.subject {
            return Outcome::Failed(SsoError::id_token(IdTokenCheck::Subject));
        }
        Outcome::Accepted(SignIn {
            access_token,
            id_token: Some(id_token),
            profile: Some(from_token.updated_with(from_userinfo)),
        })
    }

    async fn exchange(
        &self,
        discovered: &Discovered,
        code: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
    ) -> Outcome<(AccessToken, IdToken)> {
        let url = match self.rewrite.apply(&discovered.token_endpoint) {
            Ok(url) => url,
            Err(e) => return Outcome::Failed(e),
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = pkce {
            form.push(("code_verifier", verifier.as_str()));
        }
        let mut request = self.http.post(url);
        match discovered.client_auth {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: each form-encoded before joining, so a `:` in the id
                // or any byte of the secret survives.
                let id: String =
                    form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
                let secret: String =
                    form_urlencoded::byte_serialize(self.client_secret.as_bytes()).collect();
                request = request.basic_auth(id, Some(secret));
            }
            ClientAuth::Post => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", &self.client_secret));
            }
        }
        let response = match request.form(&form).send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(SsoError::transport(e)),
        };
        match response.status() {
            StatusCode::OK => {}
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                return Outcome::Rejected(s.as_u16())
            }
            // RFC 6749 §5.2: a code used twice, expired or not ours is `invalid_grant`,
            // a refusal of this sign-in, not an outage.
            StatusCode::BAD_REQUEST => {
                let error = response.json::<TokenError>().await.ok();
                return match error.and_then(|e| e.error).as_deref() {
                    Some("invalid_grant") => Outcome::Rejected(400),
                    _ => Outcome::Failed(SsoError::Status(400)),
                };
            }
            s => return Outcome::Failed(SsoError::Status(s.as_u16())),
        }
        match response.json::<TokenResponse>().await {
            Ok(TokenResponse {
                access_token: Some(access),
                id_token: Some(id),
            }) if !access.is_empty() && !id.is_empty() => {
                Outcome::Accepted((AccessToken(access), IdToken(id)))
            }
            Ok(TokenResponse {
                access_token: Some(access),
                ..
            }) if !access.is_empty() => Outcome::Failed(SsoError::Body(
                "no id_token (is the openid scope granted?)".into(),
            )),
            Ok(_) => Outcome::Failed(SsoError::Body("no access_token".into())),
            Err(e) if e.is_decode() => Outcome::Failed(SsoError::Body("not JSON".into())),
            Err(e) => Outcome::Failed(SsoError::transport(e)),
        }
    }

    async fn verify(
        &self,
        discovered: &Discovered,
        id_token: &IdToken,
        nonce: &Nonce,
    ) -> Result<Map<String, Value>, SsoError> {
        let token = id_token::read(&id_token.0).map_err(SsoError::id_token)?;
        let key = self
            .key(discovered, token.kid.as_deref(), token.alg)
            .await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let expected = id_token::Expected {
            issuer: &discovered.issuer,
            client_id: &self.client_id,
            nonce: nonce.as_str(),
            now,
        };
        token.verify(&key, &expected).map_err(SsoError::id_token)
    }

    /// The key for `kid` and `alg` from the cached JWKS; fetched when there is none yet,
    /// and again when the key is not in it and the last fetch is old enough.
    async fn key(
        &self,
        discovered: &Discovered,
        kid: Option<&str>,
        alg: jsonwebtoken::Algorithm,
    ) -> Result<DecodingKey, SsoError> {
        let mut cache = self.jwks.lock().await;
        if let Some(key) = cache.keys.as_ref().and_then(|k| k.select(kid, alg)) {
            return Ok(key.clone());
        }
        let may_fetch = cache
            .fetched
            .is_none_or(|at| at.elapsed() >= self.settings.jwks_refetch_interval);
        if !may_fetch {
            return Err(SsoError::id_token(IdTokenCheck::Key));
        }
        let keys = self.fetch_jwks(discovered).await?;
        cache.fetched = Some(Instant::now());
        let key = keys.select(kid, alg).cloned();
        cache.keys = Some(keys);
        key.ok_or(SsoError::id_token(IdTokenCheck::Key))
    }

    async fn fetch_jwks(&self, discovered: &Discovered) -> Result<KeySet, SsoError> {
        let url = self.rewrite.apply(&discovered.jwks_uri)?;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(SsoError::transport)?;
        if response.status() != StatusCode::OK {
            return Err(SsoError::Status(response.status().as_u16()));
        }
        let body = response.bytes().await.map_err(SsoError::transport)?;
        KeySet::parse(&body)
    }

    async fn userinfo(&self, discovered: &Discovered, token: &str) -> Outcome<Map<String, Value>> {
        let response = match self.userinfo_response(discovered, token).await {
            Outcome::Accepted(r) => r,
            Outcome::Rejected(s) => return Outcome::Rejected(s),
            Outcome::Failed(e) => return Outcome::Failed(e),
        };
        match response.json::<Value>().await {
            Ok(Value::Object(claims)) => Outcome::Accepted(claims),
            Ok(_) => Outcome::Failed(SsoError::Body("userinfo is not a JSON object".into())),
            Err(e) if e.is_decode() => {
                Outcome::Failed(SsoError::Body("userinfo is not JSON".into()))
            }
            Err(e) => Outcome::Failed(SsoError::transport(e)),
        }
    }

    async fn userinfo_response(
        &self,
        discovered: &Discovered,
        token: &str,
    ) -> Outcome<reqwest::Response> {
        let url = match self.rewrite.apply(&discovered.userinfo_endpoint) {
            Ok(url) => url,
            Err(e) => return Outcome::Failed(e),
        };
        match self.http.get(url).bearer_auth(token).send().await {
            Err(e) => Outcome::Failed(SsoError::transport(e)),
            Ok(r) => match r.status() {
                StatusCode::OK => Outcome::Accepted(r),
                s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                    Outcome::Rejected(s.as_u16())
                }
                s => Outcome::Failed(SsoError::Status(s.as_u16())),
            },
        }
    }

    /// Whether userinfo still accepts `token`.
    pub(crate) async fn check_token(&self, token: &str) -> Outcome<()> {
        let discovered = match self.discovered() {
            Ok(d) => d,
            Err(e) => return Outcome::Failed(e),
        };
        self.userinfo_response(&discovered, token).await.map(|_| ())
    }

    /// What userinfo says about the owner of `token` now.
    pub(crate) async fn profile(&self, token: &str) -> Outcome<Profile> {
        let discovered = match self.discovered() {
            Ok(d) => d,
            Err(e) => return Outcome::Failed(e),
        };
        self.userinfo(&discovered, token)
            .await
            .map(|claims| Profile::from_claims(&claims, &self.settings.groups_claim))
    }

    pub(crate) fn end_session_url(
        &self,
        id_token_hint: Option<&IdToken>,
        post_logout_redirect_uri: Option<&str>,
    ) -> Option<String> {
        let discovered = self.discovered().ok()?;
        let endpoint = discovered.end_session_endpoint.as_deref()?;
        let mut url = endpoint.to_owned();
        let mut separator = query_separator(endpoint);
        let mut add = |name: &str, value: &str| {
            url.push_str(separator);
            url.push_str(name);
            url.push('=');
            url.push_str(&encode_component(value));
            separator = "&";
        };
        add("client_id", &self.client_id);
        if let Some(hint) = id_token_hint {
            add("id_token_hint", &hint.0);
        }
        if let Some(uri) = post_logout_redirect_uri {
            add("post_logout_redirect_uri", uri);
        }
        Some(url)
    }
}

/// What goes between `endpoint` and the parameters we add: `?`, or `&` (nothing when it
/// already ends with one) when the endpoint carries a query of its own (Discovery allows
/// it).
fn query_separator(endpoint: &str) -> &'static str {
    match endpoint.contains('?') {
        false => "?",
        true if endpoint.ends_with('?') || endpoint.ends_with('&') => "",
        true => "&",
    }
}
