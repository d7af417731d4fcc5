//! The environment variables of s3proxy, read into one typed, validated [`Config`].
//!
//! Every variable of the service is read here, with its default, its precedence rules
//! (`VCAP_SERVICES` over `REDIS_ENDPOINT`) and its validation. Reading never stops at the
//! first problem: [`ConfigError`] lists every missing or invalid variable at once, each by
//! name, and never repeats a variable's value (values may be secrets).
//!
//! ```
//! use s3proxy_config::Config;
//!
//! let env = [
//!     ("PORT", "8080"),
//!     ("REDIS_ENDPOINT", "redis://127.0.0.1:6379/0"),
//!     ("SSO_URL", "https://sso.example.com"),
//!     ("SSO_CLIENT_ID", "id"),
//!     ("SSO_CLIENT_SECRET", "secret"),
//!     ("AWS_DEFAULT_REGION", "eu-west-2"),
//!     ("AWS_S3_BUCKET", "my-bucket/some/prefix"),
//!     ("AWS_S3_HEALTHCHECK_KEY", "healthcheck.txt"),
//!     ("KEY_PREFIX", "folder"),
//! ];
//! let config = Config::from_vars(env.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
//! assert_eq!(config.sso_url, "https://sso.example.com/");
//! assert_eq!(config.bucket, "my-bucket");
//! assert_eq!(config.key_prefix, "some/prefix/folder");
//!
//! let err = Config::from_vars(std::iter::empty()).unwrap_err();
//! assert!(err.to_string().contains("PORT"));
//! assert!(err.to_string().contains("SSO_CLIENT_SECRET"));
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod raw;
mod validate;

use std::time::Duration;

pub use validate::{ConfigError, Problem};

/// Where sessions live.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// A Redis URL (`redis://`, `rediss://`, `unix://`, `redis+unix://`). May hold a password.
    Url(String),
    /// `memory://`: an in-process store, for a single instance only.
    Memory,
}

impl std::fmt::Debug for RedisTarget {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisTarget::Url(_) => f.write_str("Url(<redacted>)"),
            RedisTarget::Memory => f.write_str("Memory"),
        }
    }
}

/// The `SameSite` attribute forced on the session cookie by `COOKIE_SAMESITE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// `none`: sent on cross-site requests too (the browser requires `Secure` then).
    None,
    /// `lax`: sent on top-level navigations from other sites.
    Lax,
    /// `strict`: sent only on requests from the same site.
    Strict,
}

/// Which kind of provider `SSO_URL` is (`SSO_PROVIDER`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SsoProvider {
    /// `staff-sso` (the default): the organisation's SSO at its fixed paths.
    #[default]
    StaffSso,
    /// `oidc`: an OpenID Connect provider whose issuer is `SSO_URL`.
    Oidc(OidcConfig),
}

/// The access rules' sources: comma-separated lists, each entry trimmed and empty ones
/// dropped, and a rules file (read and checked at start by the binary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessConfig {
    /// `ALLOWED_EMAILS`.
    pub allowed_emails: Vec<String>,
    /// `ALLOWED_EMAIL_DOMAINS`.
    pub allowed_email_domains: Vec<String>,
    /// `ALLOWED_GROUPS`.
    pub allowed_groups: Vec<String>,
    /// `ACCESS_RULES_FILE`: a TOML file of per-prefix rules.
    pub rules_file: Option<std::path::PathBuf>,
}

/// The OpenID Connect settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcConfig {
    /// `OIDC_SCOPES` (default `openid email profile`), split on white space, `openid`
    /// first when it was missing.
    pub scopes: Vec<String>,
    /// `OIDC_GROUPS_CLAIM` (default `groups`): the claim listing the person's groups.
    pub groups_claim: String,
}

/// Static AWS credentials, from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsKeys {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`. Never printed.
    pub secret_access_key: String,
}

impl std::fmt::Debug for AwsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKeys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// The whole configuration of the service, validated.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// `PORT`: TCP port to listen on, all interfaces.
    pub port: u16,
    /// From `VCAP_SERVICES` (wins) or `REDIS_ENDPOINT`.
    pub redis: RedisTarget,
    /// `SSO_URL`, always ending with `/`: what the browser is sent to.
    pub sso_url: String,
    /// `SSO_URL_INTERNAL` (default `SSO_URL`), always ending with `/`: what the service calls.
    pub sso_url_internal: String,
    /// `SSO_CLIENT_ID`: who the service is to the SSO.
    pub sso_client_id: String,
    /// `SSO_CLIENT_SECRET`. Never printed.
    pub sso_client_secret: String,
    /// `SSO_TOKEN_CHECK_GRACE_PERIOD`: how long a token is trusted without asking the SSO.
    pub sso_token_check_grace_period: Duration,
    /// `AWS_DEFAULT_REGION`.
    pub aws_region: String,
    /// Static keys; `None` means the default AWS credential chain.
    pub aws_keys: Option<AwsKeys>,
    /// The bucket name part of `AWS_S3_BUCKET`.
    pub bucket: String,
    /// Path part of `AWS_S3_BUCKET`, then `KEY_PREFIX`, joined with `/`; no leading or
    /// trailing `/`; empty for none.
    pub key_prefix: String,
    /// `AWS_S3_HEALTHCHECK_KEY`: served without login.
    pub healthcheck_key: String,
    /// `S3_ENDPOINT_URL`, set only when `S3_USE_LOCAL` is true (path-style addressing then).
    pub s3_local_endpoint: Option<String>,
    /// `COOKIE_SAMESITE`; `None` means: `None` behind https, `Lax` otherwise.
    pub cookie_samesite: Option<SameSite>,
    /// `SHUTDOWN_TIMEOUT`: how long downloads may run on after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `CLIENT_IDLE_TIMEOUT`: a client that reads nothing for this long is disconnected.
    pub client_idle_timeout: Duration,
    /// `SSO_TIMEOUT`: bound on each call to the SSO.
    pub sso_timeout: Duration,
    /// `S3_TIMEOUT`: bound on waiting for S3's response headers (not on the body).
    pub s3_timeout: Duration,
    /// `REDIS_TIMEOUT`: bound on each Redis operation.
    pub redis_timeout: Duration,
    /// `SESSION_CACHE_ENTRIES`: most sessions kept in this instance's cache (client-side
    /// caching with invalidation from Redis); 0: no cache.
    pub session_cache_entries: usize,
    /// `HEADER_READ_TIMEOUT`: a client must send its request head within this, counted
    /// from the head's first byte.
    pub header_read_timeout: Duration,
    /// `KEEPALIVE_TIMEOUT`: how long a connection may sit idle between requests (or
    /// before its first).
    pub keepalive_timeout: Duration,
    /// `MAX_CONNECTIONS`: most client connections served at once; `None`: the binary
    /// derives it from the file-descriptor limit.
    pub max_connections: Option<usize>,
    /// `FORWARDED_HOPS`: the entry this many places from the right of
    /// `X-Forwarded-For` is the client's address (0: ignore the header).
    pub forwarded_hops: usize,
    /// `CONTENT_SECURITY_POLICY`: sent on object responses when set.
    pub content_security_policy: Option<String>,
    /// `METRICS_PORT`: where `GET /metrics` is served; `None`: no metrics listener.
    pub metrics_port: Option<u16>,
    /// `SSO_PKCE` (default true): PKCE on every sign-in.
    pub sso_pkce: bool,
    /// `SSO_BIND_STATE`: a sign-in completes only in the browser that began it.
    pub sso_bind_state: bool,
    /// Who may read what (`ALLOWED_*`, `ACCESS_RULES_FILE`).
    pub access: AccessConfig,
    /// `SIGN_OUT_REDIRECT_URL`: where a browser goes after `/__sign_out`.
    pub sign_out_redirect_url: Option<String>,
    /// `SSO_PROVIDER` (default `staff-sso`), with `OIDC_SCOPES` and `OIDC_GROUPS_CLAIM`
    /// for `oidc`.
    pub sso_provider: SsoProvider,
    /// Sentry reporting; `None` when `SENTRY_DSN` is unset or empty.
    pub sentry: Option<SentryConfig>,
    /// X-Ray segments; `None` unless `ENABLE_XRAY` is true.
    pub xray: Option<XrayConfig>,
    /// OpenTelemetry spans over OTLP/HTTP; `None` unless an OTLP endpoint is set.
    pub otlp: Option<OtlpConfig>,
}

/// `ENABLE_XRAY` and its companions, with the X-Ray SDKs' variable names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrayConfig {
    /// The daemon's UDP address, `host:port`, from `AWS_XRAY_DAEMON_ADDRESS` (default
    /// `127.0.0.1:2000`; of the `tcp:… udp:…` form, the UDP address).
    pub daemon_address: String,
    /// `AWS_XRAY_TRACING_NAME` (default `S3Proxy`): the segment name.
    pub tracing_name: String,
}

/// The standard `OTEL_*` variables this service reads.
#[derive(Clone, PartialEq)]
pub struct OtlpConfig {
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// with `/v1/traces` appended.
    pub traces_endpoint: String,
    /// `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS`: names and
    /// (percent-decoded) values. Values are often credentials.
    pub headers: Vec<(String, String)>,
    /// `OTEL_SERVICE_NAME` (default `s3proxy`).
    pub service_name: String,
    /// `OTEL_TRACES_SAMPLER` with `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: TraceSampler,
    /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds,
    /// default 10 s): bound on one export.
    pub timeout: Duration,
}

impl std::fmt::Debug for OtlpConfig {
    // Header values are API keys; an endpoint may carry credentials too.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpConfig")
            .field("traces_endpoint", &"<redacted>")
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("service_name", &self.service_name)
            .field("sampler", &self.sampler)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `OTEL_TRACES_SAMPLER`: OpenTelemetry's standard samplers; a ratio from
/// `OTEL_TRACES_SAMPLER_ARG` (default 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TraceSampler {
    /// `always_on`: every trace.
    AlwaysOn,
    /// `always_off`: none.
    AlwaysOff,
    /// `traceidratio`: this share of traces (0 to 1), chosen by trace id.
    TraceIdRatio(f64),
    /// `parentbased_always_on` (the default): the caller's decision, else every trace.
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`: the caller's decision, else none.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`: the caller's decision, else this share of traces.
    ParentBasedTraceIdRatio(f64),
}

/// What the Sentry client needs, with the Python service's variable names.
#[derive(Clone, PartialEq)]
pub struct SentryConfig {
    /// `SENTRY_DSN` (checked by the Sentry client's own parser at start-up).
    pub dsn: String,
    /// `SENTRY_ENABLE_TRACING`: performance transactions for requests.
    pub enable_tracing: bool,
    /// `SENTRY_TRACES_SAMPLE_RATE` (0 to 1, default 0): share of requests traced.
    pub traces_sample_rate: f32,
    /// `COPILOT_ENVIRONMENT_NAME`, else `APP_ENV`, else `undefined`.
    pub environment: String,
    /// `ECS_CONTAINER_METADATA_URI_V4`: where the ECS task's id is read from.
    pub ecs_metadata_uri: Option<String>,
}

impl std::fmt::Debug for SentryConfig {
    // The DSN's key lets anyone send events to the project: kept out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentryConfig")
            .field("dsn", &"<redacted>")
            .field("enable_tracing", &self.enable_tracing)
            .field("traces_sample_rate", &self.traces_sample_rate)
            .field("environment", &self.environment)
            .field("ecs_metadata_uri", &self.ecs_metadata_uri)
            .finish()
    }
}

impl std::fmt::Debug for Config {
    // Hand-written so that secrets can never reach a log line through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("redis", &self.redis)
            .field("sso_url", &self.sso_url)
            .field("sso_url_internal", &self.sso_url_internal)
            .field("sso_client_id", &self.sso_client_id)
            .field("sso_client_secret", &"<redacted>")
            .field(
                "sso_token_check_grace_period",
                &self.sso_token_check_grace_period,
            )
            .field("aws_region", &self.aws_region)
            .field("aws_keys", &self.aws_keys)
            .field("bucket", &self.bucket)
            .field("key_prefix", &self.key_prefix)
            .field("healthcheck_key", &self.healthcheck_key)
            .field("s3_local_endpoint", &self.s3_local_endpoint)
            .field("cookie_samesite", &self.cookie_samesite)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("client_idle_timeout", &self.client_idle_timeout)
            .field("sso_timeout", &self.sso_timeout)
            .field("s3_timeout", &self.s3_timeout)
            .field("redis_timeout", &self.redis_timeout)
            .field("session_cache_entries", &self.session_cache_entries)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("keepalive_timeout", &self.keepalive_timeout)
            .field("max_connections", &self.max_connections)
            .field("forwarded_hops", &self.forwarded_hops)
            .field("content_security_policy", &self.content_security_policy)
            .field("metrics_port", &self.metrics_port)
            .field("sso_pkce", &self.sso_pkce)
            .field("sso_bind_state", &self.sso_bind_state)
            .field("access", &self.access)
            .field("sign_out_redirect_url", &self.sign_out_redirect_url)
            .field("sso_provider", &self.sso_provider)
            .field("sentry", &self.sentry)
            .field("xray", &self.xray)
            .field("otlp", &self.otlp)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars_os().filter_map(|(k, v)| {
            // A variable with a non-UTF-8 name is none of ours; a non-UTF-8 value of ours is
            // kept lossily so validation reports it instead of ignoring it.
            Some((k.into_string().ok()?, v.to_string_lossy().into_owned()))
        }))
    }

    /// Reads the given variables (for tests and embedding).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let raw = raw::RawEnv::from_vars(vars)?;
        validate::validate(raw)
    }
}
