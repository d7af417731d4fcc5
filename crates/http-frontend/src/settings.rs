//! The frontend's own settings.

use std::time::Duration;

use http::HeaderValue;
use http_input::SameSite;

/// How the HTTP frontend behaves; the binary fills it from the configuration.
#[derive(Debug, Clone)]
pub struct FrontendSettings {
    /// Served without login: the key exactly (before the prefix is applied).
    pub healthcheck_key: String,
    /// Forces the session cookie's `SameSite`; `None`: `None` on https, `Lax` on http.
    pub cookie_samesite: Option<SameSite>,
    /// A client must send its whole request head within this, counted from the head's
    /// first byte (slowloris).
    pub header_read_timeout: Duration,
    /// A connection may sit idle this long between requests, or before its first. Keep
    /// it above the idle timeout of the load balancer in front, so that the balancer
    /// closes first.
    pub keepalive_timeout: Duration,
    /// Largest request head accepted; larger gets 431.
    pub max_header_bytes: usize,
    /// A client that reads nothing of a body for this long is disconnected.
    pub client_idle_timeout: Duration,
    /// After shutdown starts, responses in flight get this long to finish.
    pub shutdown_timeout: Duration,
    /// Most client connections served at once; the accept loop waits beyond it.
    pub max_connections: usize,
    /// The entry this many places from the right of `X-Forwarded-For` is the client's
    /// address in the access log; 0 ignores the header.
    pub forwarded_hops: usize,
    /// Sent as `Content-Security-Policy` on object responses (200 and 206).
    pub content_security_policy: Option<HeaderValue>,
    /// PKCE (RFC 7636, S256) on every sign-in. Off for an SSO that refuses unknown
    /// parameters, or while instances that do not know PKCE finish sign-ins started here.
    pub pkce: bool,
    /// `Some`: a sign-in completes only in the browser that began it (`SSO_BIND_STATE`).
    pub sso_bind_state: Option<sso_gate::StateBinding>,
    /// Who may read which keys (`ALLOWED_*`, `ACCESS_RULES_FILE`); the default allows
    /// everyone who signs in.
    pub access_rules: sso_gate::AccessRules,
    /// Where `/__sign_out` sends the browser (`SIGN_OUT_REDIRECT_URL`).
    pub sign_out_redirect: Option<String>,
    /// Start a Sentry performance transaction per request (sampled by the Sentry
    /// client); off, requests cost nothing on Sentry's account.
    pub sentry_tracing: bool,
    /// X-Ray segments and OpenTelemetry spans per request; `None`: none, at no cost.
    pub tracer: Option<request_trace::Tracer>,
}

/// After SIGTERM, connections opened before it stay this long after their last response
/// (at most), for the router that has not yet stopped sending requests to us.
const MAX_DRAIN_WINDOW: Duration = Duration::from_secs(2);

impl FrontendSettings {
    /// The service's defaults, `healthcheck_key` served without a session: 10 s to send a
    /// head, 120 s keep-alive, 32 KiB heads, 300 s for a stalled body, 10 s to shut down,
    /// 10,000 connections, one trusted `X-Forwarded-For` hop, PKCE on, everyone who signs
    /// in allowed.
    pub fn new(healthcheck_key: impl Into<String>) -> FrontendSettings {
        FrontendSettings {
            healthcheck_key: healthcheck_key.into(),
            cookie_samesite: None,
            header_read_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(120),
            max_header_bytes: 32 * 1024,
            client_idle_timeout: Duration::from_secs(300),
            shutdown_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            forwarded_hops: 1,
            content_security_policy: None,
            pkce: true,
            sso_bind_state: None,
            access_rules: sso_gate::AccessRules::default(),
            sign_out_redirect: None,
            sentry_tracing: false,
            tracer: None,
        }
    }

    /// How long a connection stays open after its last response once shutdown began.
    pub fn drain_window(&self) -> Duration {
        self.shutdown_timeout.min(MAX_DRAIN_WINDOW)
    }
}
