//! The HTTP calls to the SSO.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::encode::encode_component;
use crate::error::{Outcome, SsoError};
use crate::oidc::Oidc;
use crate::pkce::{push_challenge, PkceVerifier};
use crate::profile::Profile;
use crate::secrets::{AccessToken, IdToken, Nonce};
use crate::settings::{Provider, SsoSettings};

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
}

/// A sign-in that was completed: what the gate keeps with the new session.
#[derive(Debug)]
pub struct SignIn {
    /// For the token re-check (`api/v1/user/me/` or userinfo).
    pub access_token: AccessToken,
    /// OpenID Connect: the verified ID token, for `id_token_hint` at sign-out.
    pub id_token: Option<IdToken>,
    /// OpenID Connect: what the ID token and userinfo say about the person. The staff
    /// SSO's comes from [`SsoClient::profile`], asked only when access rules need it.
    pub profile: Option<Profile>,
}

/// A client for one SSO. Cheap to clone: clones share the connection pool, and in
/// OpenID mode the discovered endpoints and cached keys.
#[derive(Clone)]
pub struct SsoClient {
    http: reqwest::Client,
    settings: std::sync::Arc<SsoSettings>,
    oidc: Option<Arc<Oidc>>,
}

impl SsoClient {
    /// A client for the SSO of `settings`. Nothing is sent yet; it fails
    /// ([`SsoError::Client`]) only on settings no client can be built from: a trusted
    /// root that is no certificate, or URLs that cannot be parsed.
    pub fn new(settings: SsoSettings) -> Result<SsoClient, SsoError> {
        let mut builder = reqwest::Client::builder();
        if let Some(roots) = &settings.tls_roots {
            let certificates = roots
                .iter()
                .map(|der| reqwest::Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SsoError::Client(e.to_string()))?;
            builder = builder.tls_certs_only(certificates);
        }
        let http = builder
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            // The SSO answers; it never sends us on elsewhere with our credentials.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SsoError::Client(e.to_string()))?;
        let oidc = match &settings.provider {
            Provider::StaffSso => None,
            Provider::Oidc(oidc) => Some(Arc::new(Oidc::new(http.clone(), &settings, oidc)?)),
        };
        Ok(SsoClient {
            http,
            settings: std::sync::Arc::new(settings),
            oidc,
        })
    }

    /// Whether this client speaks OpenID Connect (else the staff SSO).
    pub fn is_oidc(&self) -> bool {
        self.oidc.is_some()
    }

    /// OpenID Connect: starts reading the provider's discovery document in the
    /// background (needs a Tokio runtime), trying again after each failure — 1 s, then
    /// twice as long each time up to [`OidcSettings::discovery_retry_max`] (15 s) — until
    /// it succeeds; each failure is logged as an error naming its cause. Until then
    /// [`sign_in_url`](Self::sign_in_url) and [`finish_sign_in`](Self::finish_sign_in)
    /// fail with [`SsoError::NotReady`]. The task ends once discovery succeeded, or when
    /// every clone of this client is dropped. `None` for the staff SSO (nothing to
    /// discover).
    ///
    /// [`OidcSettings::discovery_retry_max`]: crate::OidcSettings::discovery_retry_max
    pub fn spawn_discovery(&self) -> Option<tokio::task::JoinHandle<()>> {
        let oidc = Arc::downgrade(self.oidc.as_ref()?);
        Some(tokio::spawn(Oidc::discover_until_ready(oidc)))
    }

    /// OpenID Connect: one attempt at discovery (what
    /// [`spawn_discovery`](Self::spawn_discovery) repeats). `Ok` at once for the staff SSO.
    pub async fn discover(&self) -> Result<(), SsoError> {
        match &self.oidc {
            Some(oidc) => oidc.discover().await,
            None => Ok(()),
        }
    }

    /// Whether sign-ins can start: always for the staff SSO; in OpenID mode once
    /// discovery succeeded.
    pub fn is_ready(&self) -> bool {
        self.oidc.as_ref().is_none_or(|oidc| oidc.is_ready())
    }

    /// A fresh nonce for a sign-in in OpenID mode (store it with the state and give it
    /// to [`sign_in_url`](Self::sign_in_url) and [`finish_sign_in`](Self::finish_sign_in));
    /// `None` for the staff SSO, which has no nonce (nothing new is stored).
    pub fn new_nonce(&self) -> Option<Nonce> {
        self.oidc.as_ref().map(|_| Nonce::generate())
    }

    /// The URL to send a browser to so that it signs in and comes back to `redirect_uri`
    /// with a code and `state`, in either mode; with `pkce`, the code is bound to that
    /// verifier. Staff SSO: [`authorize_url`](Self::authorize_url) (`nonce` ignored).
    /// OpenID Connect: the discovered `authorization_endpoint` with `response_type=code`,
    /// `client_id`, `redirect_uri`, `scope`, `state` and `nonce` (required:
    /// [`SsoError::NonceMissing`] without), and [`SsoError::NotReady`] until discovery
    /// succeeded.
    pub fn sign_in_url(
        &self,
        state: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
        nonce: Option<&Nonce>,
    ) -> Result<String, SsoError> {
        match &self.oidc {
            None => Ok(self.authorize_url(state, redirect_uri, pkce)),
            Some(oidc) => {
                let nonce = nonce.ok_or(SsoError::NonceMissing)?;
                oidc.authorize_url(state, redirect_uri, pkce, nonce)
            }
        }
    }

    /// Completes a sign-in with the code the browser came back with, in either mode.
    ///
    /// Staff SSO: [`exchange_code`](Self::exchange_code) (`nonce` ignored); only
    /// `access_token` is set.
    ///
    /// OpenID Connect: the code is exchanged at the token endpoint (`client_secret_basic`,
    /// or `client_secret_post` when the provider offers only that), then the ID token is
    /// verified — signature against the provider's JWKS, `iss`, `aud`, `azp`, `exp`,
    /// `iat`, and `nonce` against this sign-in's (required) — and userinfo is asked about
    /// the person (its `sub` must be the token's). A token that fails a check is
    /// `Failed(SsoError::IdToken { check })`: the sign-in must be refused (403), not
    /// reported as an outage. The token endpoint's or userinfo's 401/403, and the token
    /// endpoint's 400 `invalid_grant`, are `Rejected`.
    pub async fn finish_sign_in(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
        nonce: Option<&Nonce>,
    ) -> Outcome<SignIn> {
        match &self.oidc {
            None => self
                .exchange_code(code, redirect_uri, pkce)
                .await
                .map(|access_token| SignIn {
                    access_token,
                    id_token: None,
                    profile: None,
                }),
            Some(oidc) => match nonce {
                Some(nonce) => oidc.finish_sign_in(code, redirect_uri, pkce, nonce).await,
                None => Outcome::Failed(SsoError::NonceMissing),
            },
        }
    }

    /// Where to send a browser after its session was deleted, so that it is signed out
    /// of the provider too: the discovered `end_session_endpoint` with `client_id`, and
    /// `id_token_hint` and `post_logout_redirect_uri` when given (RP-Initiated Logout
    /// 1.0). `None` for the staff SSO, or when the provider has no such endpoint (or was
    /// not discovered yet).
    pub fn end_session_url(
        &self,
        id_token_hint: Option<&IdToken>,
        post_logout_redirect_uri: Option<&str>,
    ) -> Option<String> {
        self.oidc
            .as_ref()?
            .end_session_url(id_token_hint, post_logout_redirect_uri)
    }

    /// What the provider says about the owner of `token` now: staff SSO, `GET
    /// api/v1/user/me/` (`email`, `related_emails`, `groups`, `user_id`); OpenID Connect,
    /// userinfo (`sub`, `email` unless `email_verified` is false, the groups claim).
    /// 401/403 is `Rejected`, as with [`check_token`](Self::check_token), which this
    /// replaces when the profile is wanted. In OpenID mode, keep what the ID token said
    /// with [`Profile::updated_with`]: some providers put the groups in only one of them.
    pub async fn profile(&self, token: &str) -> Outcome<Profile> {
        if let Some(oidc) = &self.oidc {
            return oidc.profile(token).await;
        }
        let response = match self.me_response(token).await {
            Outcome::Accepted(r) => r,
            Outcome::Rejected(s) => return Outcome::Rejected(s),
            Outcome::Failed(e) => return Outcome::Failed(e),
        };
        match response.json::<Value>().await {
            Ok(Value::Object(me)) => Outcome::Accepted(Profile::from_staff_me(&me)),
            Ok(_) => Outcome::Failed(SsoError::Body("user/me is not a JSON object".into())),
            Err(e) if e.is_decode() => Outcome::Failed(SsoError::Body("not JSON".into())),
            Err(e) => Outcome::Failed(SsoError::transport(e)),
        }
    }

    /// The staff SSO's authorize URL, from `browser_url` whatever the provider: the URL
    /// to send a browser to so that it signs in and comes back to `redirect_uri` with a
    /// code and `state`; with `pkce`, the code is bound to that verifier.
    /// [`sign_in_url`](Self::sign_in_url) is the call for both modes.
    pub fn authorize_url(
        &self,
        state: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
    ) -> String {
        let mut url = format!(
            "{}o/authorize/?scope=read%20write&state={}&redirect_uri={}&response_type=code&client_id={}",
            self.settings.browser_url,
            encode_component(state),
            encode_component(redirect_uri),
            encode_component(&self.settings.client_id),
        );
        push_challenge(&mut url, pkce);
        url
    }

    /// Staff SSO: exchanges an authorization code for an access token, proving the
    /// sign-in's PKCE verifier when it had one. In OpenID mode it refuses
    /// (`Failed(SsoError::NonceMissing)`): an ID token is only accepted against its
    /// sign-in's nonce, through [`finish_sign_in`](Self::finish_sign_in).
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
    ) -> Outcome<AccessToken> {
        if self.oidc.is_some() {
            return Outcome::Failed(SsoError::NonceMissing);
        }
        let url = format!("{}o/token/", self.settings.internal_url);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.as_str()),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = pkce {
            form.push(("code_verifier", verifier.as_str()));
        }
        let response = match self.http.post(url).form(&form).send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(SsoError::transport(e)),
        };
        match response.status() {
            StatusCode::OK => {}
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                return Outcome::Rejected(s.as_u16())
            }
            s => return Outcome::Failed(SsoError::Status(s.as_u16())),
        }
        match response.json::<TokenResponse>().await {
            Ok(TokenResponse {
                access_token: Some(token),
            }) if !token.is_empty() => Outcome::Accepted(AccessToken(token)),
            Ok(_) => Outcome::Failed(SsoError::Body("no access_token".into())),
            Err(e) if e.is_decode() => Outcome::Failed(SsoError::Body("not JSON".into())),
            Err(e) => Outcome::Failed(SsoError::transport(e)),
        }
    }

    /// Asks the SSO whether `token` is still good: staff SSO, `GET api/v1/user/me/`;
    /// OpenID Connect, the userinfo endpoint ([`SsoError::NotReady`] until discovery
    /// succeeded: an instance started while the provider was down).
    pub async fn check_token(&self, token: &str) -> Outcome<()> {
        if let Some(oidc) = &self.oidc {
            return oidc.check_token(token).await;
        }
        self.me_response(token).await.map(|_| ())
    }

    /// Staff SSO: `GET api/v1/user/me/` with `token`, accepted on 200 (the body unread),
    /// `Rejected` on 401/403.
    async fn me_response(&self, token: &str) -> Outcome<reqwest::Response> {
        let url = format!("{}api/v1/user/me/", self.settings.internal_url);
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
}
