//! The HTTP calls to the SSO.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use crate::encode::encode_component;
use crate::pkce::PkceVerifier;

/// Where the SSO is and who we are to it.
#[derive(Clone)]
pub struct SsoSettings {
    /// Root URL the browser is sent to, ending with `/`.
    pub browser_url: String,
    /// Root URL this service calls (token and user endpoints), ending with `/`.
    pub internal_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Bound on each whole call to the SSO.
    pub timeout: Duration,
    /// Bound on establishing a connection.
    pub connect_timeout: Duration,
    /// DER certificates of the authorities to trust for https; `None`: the system's.
    pub tls_roots: Option<Vec<Vec<u8>>>,
}

impl SsoSettings {
    /// Settings with the default timeouts (10 s per call, 3 s to connect). Root URLs get a
    /// trailing `/` when they lack one.
    pub fn new(
        browser_url: impl Into<String>,
        internal_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> SsoSettings {
        SsoSettings {
            browser_url: with_slash(browser_url.into()),
            internal_url: with_slash(internal_url.into()),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            tls_roots: None,
        }
    }
}

fn with_slash(mut url: String) -> String {
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("browser_url", &self.browser_url)
            .field("internal_url", &self.internal_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a call to the SSO did not give an answer we can use. Never holds a token or secret.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    #[error("SSO unreachable or too slow: {0}")]
    Transport(String),
    #[error("SSO answered with unexpected status {0}")]
    Status(u16),
    #[error("SSO answer is not what was expected: {0}")]
    Body(String),
}

impl SsoError {
    fn transport(e: reqwest::Error) -> SsoError {
        // Without the URL: it is ours, and the error chain says what failed.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        SsoError::Transport(message)
    }
}

/// The result of asking the SSO something.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The SSO said yes.
    Accepted(T),
    /// The SSO said no, with this status (401 or 403).
    Rejected(u16),
    /// No usable answer.
    Failed(SsoError),
}

/// An OAuth2 access token. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(pub String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
}

/// A client for one SSO. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct SsoClient {
    http: reqwest::Client,
    settings: std::sync::Arc<SsoSettings>,
}

impl SsoClient {
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
        Ok(SsoClient {
            http,
            settings: std::sync::Arc::new(settings),
        })
    }

    /// The URL to send a browser to so that it signs in and comes back to `redirect_uri`
    /// with a code and `state`; with `pkce`, the code is bound to that verifier.
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
        if let Some(verifier) = pkce {
            // base64url is all unreserved characters: nothing to encode.
            url.push_str("&code_challenge=");
            url.push_str(&verifier.challenge());
            url.push_str("&code_challenge_method=S256");
        }
        url
    }

    /// Exchanges an authorization code for an access token, proving the sign-in's PKCE
    /// verifier when it had one.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce: Option<&PkceVerifier>,
    ) -> Outcome<AccessToken> {
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

    /// Asks the SSO whether `token` is still good.
    pub async fn check_token(&self, token: &str) -> Outcome<()> {
        let url = format!("{}api/v1/user/me/", self.settings.internal_url);
        match self.http.get(url).bearer_auth(token).send().await {
            Err(e) => Outcome::Failed(SsoError::transport(e)),
            Ok(r) => match r.status() {
                StatusCode::OK => Outcome::Accepted(()),
                s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                    Outcome::Rejected(s.as_u16())
                }
                s => Outcome::Failed(SsoError::Status(s.as_u16())),
            },
        }
    }
}
