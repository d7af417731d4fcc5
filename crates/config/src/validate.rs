//! From strings to a [`Config`], collecting every problem.

use std::time::Duration;

use crate::raw::RawEnv;
use crate::{
    AccessConfig, AwsKeys, Config, OidcConfig, RedisTarget, SameSite, SentryConfig, SsoProvider,
};

mod traces;

/// One invalid or missing variable. `message` never contains the variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable's name, e.g. `PORT`.
    pub variable: &'static str,
    /// What is wrong with it, for a person to read.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(variable: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            variable,
            message: message.into(),
        }
    }
}

/// Every problem found in the environment, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct ConfigError {
    /// Every problem found, in the order the variables are read.
    pub problems: Vec<Problem>,
}

fn render(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.variable, p.message))
        .collect();
    lines.join("\n")
}

/// A duration variable: its default and the whole seconds it may take. The bounds keep
/// every value one that works at run time (no zero timeout cutting every call, no
/// overflow at shutdown, no TTL Redis refuses).
struct Seconds {
    default: u64,
    min: u64,
    max: u64,
}

/// 0 checks the token on every request; 10 h is the life of a session's token.
const GRACE_PERIOD: Seconds = Seconds {
    default: 3600,
    min: 0,
    max: 36000,
};
/// 0 cuts downloads at once on SIGTERM.
const SHUTDOWN_TIMEOUT: Seconds = Seconds {
    default: 10,
    min: 0,
    max: 3600,
};
const CLIENT_IDLE_TIMEOUT: Seconds = timeout(300);
const SSO_TIMEOUT: Seconds = timeout(10);
const S3_TIMEOUT: Seconds = timeout(10);
const REDIS_TIMEOUT: Seconds = timeout(2);
const HEADER_READ_TIMEOUT: Seconds = timeout(10);
/// Above the idle timeouts of AWS load balancers (60 s) and Cloud Foundry's gorouter
/// (90 s): the balancer, not us, must be the one to close an idle connection.
const KEEPALIVE_TIMEOUT: Seconds = timeout(120);

/// Every other timeout: at least a second, at most an hour.
const fn timeout(default: u64) -> Seconds {
    Seconds {
        default,
        min: 1,
        max: 3600,
    }
}

/// `SESSION_CACHE_ENTRIES`: sessions each instance keeps in memory (0: none).
const DEFAULT_SESSION_CACHE_ENTRIES: usize = 100_000;
const MAX_SESSION_CACHE_ENTRIES: usize = 10_000_000;

/// `FORWARDED_HOPS`: how many proxies in front append to `X-Forwarded-For`.
const DEFAULT_FORWARDED_HOPS: usize = 1;
const MAX_FORWARDED_HOPS: usize = 16;

/// Collects problems while each variable is read, so one pass reports them all.
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn problem(&mut self, variable: &'static str, message: impl Into<String>) {
        self.problems.push(Problem::new(variable, message));
    }

    fn required(&mut self, variable: &'static str, value: Option<String>) -> String {
        match non_empty(value) {
            Some(v) => v,
            None => {
                self.problem(variable, "is required but not set");
                String::new()
            }
        }
    }

    fn seconds(&mut self, variable: &'static str, value: Option<String>, s: Seconds) -> Duration {
        let n = match non_empty(value) {
            None => s.default,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (s.min..=s.max).contains(&n) => n,
                _ => {
                    self.problem(
                        variable,
                        format!(
                            "must be a whole number of seconds from {} to {}",
                            s.min, s.max
                        ),
                    );
                    s.default
                }
            },
        };
        Duration::from_secs(n)
    }

    /// A whole number in `min..=max`, or `default` when unset.
    fn number(
        &mut self,
        variable: &'static str,
        value: Option<String>,
        range: std::ops::RangeInclusive<usize>,
    ) -> Option<usize> {
        let v = non_empty(value)?;
        match v.trim().parse::<usize>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                self.problem(
                    variable,
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// `true`/`false`/`1`/`0` in any case; `default` when unset or empty.
    fn flag(&mut self, variable: &'static str, value: Option<String>, default: bool) -> bool {
        let Some(v) = non_empty(value) else {
            return default;
        };
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                self.problem(variable, "must be true, false, 1 or 0");
                default
            }
        }
    }

    /// An absolute http(s) URL with a host, usable as a root to append paths to: no
    /// white space, query or fragment.
    fn http_url(&mut self, variable: &'static str, value: String) -> String {
        if value.is_empty() {
            return value;
        }
        let usable = !value.chars().any(char::is_whitespace)
            && url::Url::parse(&value).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
        if !usable {
            self.problem(
                variable,
                "must be an absolute http:// or https:// URL with a host (no spaces, query or fragment)",
            );
        }
        value
    }
}

/// A comma-separated list: entries trimmed, empty ones dropped.
fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Where a browser may be sent: an absolute http(s) URL with a host, without white space
/// or control characters (it becomes a `Location` header); a query is allowed.
fn redirect_url(c: &mut Checker, variable: &'static str, value: Option<String>) -> Option<String> {
    let value = non_empty(value)?;
    let usable = !value
        .chars()
        .any(|ch| ch.is_whitespace() || ch.is_control())
        && url::Url::parse(&value).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        });
    if !usable {
        c.problem(
            variable,
            "must be an absolute http:// or https:// URL with a host (no spaces)",
        );
        return None;
    }
    Some(value)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn with_trailing_slash(mut url: String) -> String {
    if !url.is_empty() && !url.ends_with('/') {
        url.push('/');
    }
    url
}

pub(crate) fn validate(mut raw: RawEnv) -> Result<Config, ConfigError> {
    let mut c = Checker::default();
    let mut trace_vars = traces::TraceVars::take(&mut raw);

    let port = match non_empty(raw.port) {
        None => {
            c.problem("PORT", "is required but not set");
            0
        }
        Some(v) => v.trim().parse::<u16>().unwrap_or_else(|_| {
            c.problem("PORT", "must be a TCP port number (0-65535)");
            0
        }),
    };

    let redis = redis_target(&mut c, raw.vcap_services, raw.redis_endpoint);

    let sso_url = c.required("SSO_URL", raw.sso_url);
    let sso_url = with_trailing_slash(c.http_url("SSO_URL", sso_url));
    let sso_url_internal = match non_empty(raw.sso_url_internal) {
        Some(v) => with_trailing_slash(c.http_url("SSO_URL_INTERNAL", v)),
        None => sso_url.clone(),
    };
    let sso_client_id = c.required("SSO_CLIENT_ID", raw.sso_client_id);
    let sso_client_secret = c.required("SSO_CLIENT_SECRET", raw.sso_client_secret);
    let sso_token_check_grace_period = c.seconds(
        "SSO_TOKEN_CHECK_GRACE_PERIOD",
        raw.sso_token_check_grace_period,
        GRACE_PERIOD,
    );

    let aws_region = c.required("AWS_DEFAULT_REGION", raw.aws_default_region);
    let aws_keys = match (
        non_empty(raw.aws_access_key_id),
        non_empty(raw.aws_secret_access_key),
    ) {
        (Some(access_key_id), Some(secret_access_key)) => Some(AwsKeys {
            access_key_id,
            secret_access_key,
        }),
        (None, None) => None,
        (Some(_), None) => {
            c.problem(
                "AWS_SECRET_ACCESS_KEY",
                "is required when AWS_ACCESS_KEY_ID is set",
            );
            None
        }
        (None, Some(_)) => {
            c.problem(
                "AWS_ACCESS_KEY_ID",
                "is required when AWS_SECRET_ACCESS_KEY is set",
            );
            None
        }
    };

    let bucket_and_path = c.required("AWS_S3_BUCKET", raw.aws_s3_bucket);
    let (bucket, bucket_path) = match bucket_and_path.split_once('/') {
        Some((b, p)) => (b.to_string(), p.to_string()),
        None => (bucket_and_path.clone(), String::new()),
    };
    if bucket.is_empty() && !bucket_and_path.is_empty() {
        c.problem("AWS_S3_BUCKET", "must start with a bucket name");
    }
    let key_prefix = join_prefix(&[&bucket_path, raw.key_prefix.as_deref().unwrap_or("")]);
    let healthcheck_key = c.required("AWS_S3_HEALTHCHECK_KEY", raw.aws_s3_healthcheck_key);

    let use_local = match raw.s3_use_local.as_deref().map(str::trim) {
        None | Some("") | Some("0") => false,
        Some("1") => true,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            c.problem(
                "S3_USE_LOCAL",
                "must be one of 1, true, True, 0, false, False",
            );
            false
        }
    };
    let s3_local_endpoint = if use_local {
        let endpoint = match non_empty(raw.s3_endpoint_url) {
            Some(v) => c.http_url("S3_ENDPOINT_URL", v),
            None => {
                c.problem("S3_ENDPOINT_URL", "is required when S3_USE_LOCAL is true");
                String::new()
            }
        };
        Some(endpoint)
    } else {
        None
    };

    let cookie_samesite = match non_empty(raw.cookie_samesite) {
        None => None,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "none" => Some(SameSite::None),
            "lax" => Some(SameSite::Lax),
            "strict" => Some(SameSite::Strict),
            _ => {
                c.problem("COOKIE_SAMESITE", "must be one of none, lax, strict");
                None
            }
        },
    };
    let shutdown_timeout = c.seconds("SHUTDOWN_TIMEOUT", raw.shutdown_timeout, SHUTDOWN_TIMEOUT);
    let client_idle_timeout = c.seconds(
        "CLIENT_IDLE_TIMEOUT",
        raw.client_idle_timeout,
        CLIENT_IDLE_TIMEOUT,
    );
    let sso_timeout = c.seconds("SSO_TIMEOUT", raw.sso_timeout, SSO_TIMEOUT);
    let s3_timeout = c.seconds("S3_TIMEOUT", raw.s3_timeout, S3_TIMEOUT);
    let redis_timeout = c.seconds("REDIS_TIMEOUT", raw.redis_timeout, REDIS_TIMEOUT);
    let session_cache_entries = c
        .number(
            "SESSION_CACHE_ENTRIES",
            raw.session_cache_entries,
            0..=MAX_SESSION_CACHE_ENTRIES,
        )
        .unwrap_or(DEFAULT_SESSION_CACHE_ENTRIES);
    let header_read_timeout = c.seconds(
        "HEADER_READ_TIMEOUT",
        raw.header_read_timeout,
        HEADER_READ_TIMEOUT,
    );
    let keepalive_timeout = c.seconds(
        "KEEPALIVE_TIMEOUT",
        raw.keepalive_timeout,
        KEEPALIVE_TIMEOUT,
    );
    let max_connections = c.number("MAX_CONNECTIONS", raw.max_connections, 1..=10_000_000);
    let forwarded_hops = c
        .number("FORWARDED_HOPS", raw.forwarded_hops, 0..=MAX_FORWARDED_HOPS)
        .unwrap_or(DEFAULT_FORWARDED_HOPS);
    let content_security_policy = non_empty(raw.content_security_policy);
    if content_security_policy
        .as_deref()
        .is_some_and(|v| !v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
    {
        c.problem(
            "CONTENT_SECURITY_POLICY",
            "must be printable ASCII (it is sent as a header)",
        );
    }

    let metrics_port = non_empty(raw.metrics_port).and_then(|v| match v.trim().parse::<u16>() {
        Ok(p) if p != 0 && p != port => Some(p),
        Ok(_) => {
            c.problem(
                "METRICS_PORT",
                "must be a port other than 0 and PORT (paths on PORT are object keys)",
            );
            None
        }
        Err(_) => {
            c.problem("METRICS_PORT", "must be a TCP port number (1-65535)");
            None
        }
    });
    let sso_pkce = c.flag("SSO_PKCE", raw.sso_pkce, true);
    let sso_bind_state = c.flag("SSO_BIND_STATE", raw.sso_bind_state, false);
    let access = AccessConfig {
        allowed_emails: list(raw.allowed_emails),
        allowed_email_domains: list(raw.allowed_email_domains),
        allowed_groups: list(raw.allowed_groups),
        rules_file: non_empty(raw.access_rules_file).map(std::path::PathBuf::from),
    };
    let sign_out_redirect_url =
        redirect_url(&mut c, "SIGN_OUT_REDIRECT_URL", raw.sign_out_redirect_url);
    let sso_provider = sso_provider(
        &mut c,
        raw.sso_provider,
        raw.oidc_scopes,
        raw.oidc_groups_claim,
    );
    let sentry = sentry_config(
        &mut c,
        SentryVars {
            dsn: raw.sentry_dsn,
            enable_tracing: raw.sentry_enable_tracing,
            traces_sample_rate: raw.sentry_traces_sample_rate,
            copilot_environment_name: raw.copilot_environment_name,
            app_env: raw.app_env,
            ecs_metadata_uri: raw.ecs_container_metadata_uri_v4,
        },
    );

    let xray = traces::xray(&mut c, &mut trace_vars);
    let otlp = traces::otlp(&mut c, trace_vars);

    if !c.problems.is_empty() {
        return Err(ConfigError {
            problems: c.problems,
        });
    }
    Ok(Config {
        port,
        redis,
        sso_url,
        sso_url_internal,
        sso_client_id,
        sso_client_secret,
        sso_token_check_grace_period,
        aws_region,
        aws_keys,
        bucket,
        key_prefix,
        healthcheck_key,
        s3_local_endpoint,
        cookie_samesite,
        shutdown_timeout,
        client_idle_timeout,
        sso_timeout,
        s3_timeout,
        redis_timeout,
        session_cache_entries,
        header_read_timeout,
        keepalive_timeout,
        max_connections,
        forwarded_hops,
        content_security_policy,
        metrics_port,
        sso_pkce,
        sso_bind_state,
        access,
        sign_out_redirect_url,
        sso_provider,
        sentry,
        xray,
        otlp,
    })
}

/// `OIDC_SCOPES` when unset.
const DEFAULT_OIDC_SCOPES: &str = "openid email profile";
/// `OIDC_GROUPS_CLAIM` when unset.
const DEFAULT_OIDC_GROUPS_CLAIM: &str = "groups";

/// `SSO_PROVIDER`, and the OpenID variables, checked whatever the provider so that a
/// mistake shows before the day it is switched on.
fn sso_provider(
    c: &mut Checker,
    provider: Option<String>,
    scopes: Option<String>,
    groups_claim: Option<String>,
) -> SsoProvider {
    let scopes = oidc_scopes(c, scopes);
    let groups_claim = match non_empty(groups_claim) {
        None => DEFAULT_OIDC_GROUPS_CLAIM.to_owned(),
        Some(claim) => {
            if claim
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control())
            {
                c.problem(
                    "OIDC_GROUPS_CLAIM",
                    "must be a claim name, without spaces or control characters",
                );
            }
            claim
        }
    };
    let oidc = match non_empty(provider) {
        None => false,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "staff-sso" => false,
            "oidc" => true,
            _ => {
                c.problem("SSO_PROVIDER", "must be staff-sso or oidc");
                false
            }
        },
    };
    if !oidc {
        return SsoProvider::StaffSso;
    }
    SsoProvider::Oidc(OidcConfig {
        scopes,
        groups_claim,
    })
}

/// The scopes, `openid` first when missing. Each must be a scope token (RFC 6749 §3.3:
/// printable ASCII but space, `"` and `\`).
fn oidc_scopes(c: &mut Checker, value: Option<String>) -> Vec<String> {
    let value = non_empty(value).unwrap_or_else(|| DEFAULT_OIDC_SCOPES.to_owned());
    let mut scopes: Vec<String> = Vec::new();
    for scope in value.split_whitespace() {
        let token = scope
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if !token {
            c.problem(
                "OIDC_SCOPES",
                "must be scopes separated by spaces, each printable ASCII without \" or \\",
            );
            return Vec::new();
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    scopes
}

/// The variables of the Sentry client, as given.
struct SentryVars {
    dsn: Option<String>,
    enable_tracing: Option<String>,
    traces_sample_rate: Option<String>,
    copilot_environment_name: Option<String>,
    app_env: Option<String>,
    ecs_metadata_uri: Option<String>,
}

/// The Sentry settings, read (and checked) whether or not a DSN is set, so a typo in a
/// variable shows before the day Sentry is turned on.
fn sentry_config(c: &mut Checker, vars: SentryVars) -> Option<SentryConfig> {
    let enable_tracing = c.flag("SENTRY_ENABLE_TRACING", vars.enable_tracing, false);
    let traces_sample_rate = match non_empty(vars.traces_sample_rate) {
        None => 0.0,
        Some(v) => match v.trim().parse::<f32>() {
            Ok(rate) if (0.0..=1.0).contains(&rate) => rate,
            _ => {
                c.problem("SENTRY_TRACES_SAMPLE_RATE", "must be a number from 0 to 1");
                0.0
            }
        },
    };
    let ecs_metadata_uri = non_empty(vars.ecs_metadata_uri);
    if let Some(uri) = &ecs_metadata_uri {
        let usable = url::Url::parse(uri)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !usable {
            c.problem("ECS_CONTAINER_METADATA_URI_V4", "must be an http:// URL");
        }
    }
    let environment = non_empty(vars.copilot_environment_name)
        .or_else(|| non_empty(vars.app_env))
        .unwrap_or_else(|| "undefined".into());
    let dsn = non_empty(vars.dsn)?;
    Some(SentryConfig {
        dsn,
        enable_tracing,
        traces_sample_rate,
        environment,
        ecs_metadata_uri,
    })
}

/// Joins prefix parts with `/`, dropping empty segments, so the result never starts or
/// ends with `/` and never holds `//`.
fn join_prefix(parts: &[&str]) -> String {
    let segments: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.split('/'))
        .filter(|s| !s.is_empty())
        .collect();
    segments.join("/")
}

fn redis_target(
    c: &mut Checker,
    vcap_services: Option<String>,
    redis_endpoint: Option<String>,
) -> RedisTarget {
    let (variable, url) = match (non_empty(vcap_services), non_empty(redis_endpoint)) {
        (Some(vcap), _) => match redis_url_from_vcap(&vcap) {
            Ok(url) => ("VCAP_SERVICES", url),
            Err(why) => {
                c.problem("VCAP_SERVICES", why);
                return RedisTarget::Memory;
            }
        },
        (None, Some(url)) => ("REDIS_ENDPOINT", url),
        (None, None) => {
            c.problem(
                "REDIS_ENDPOINT",
                "is required (or VCAP_SERVICES with a redis entry) but neither is set",
            );
            return RedisTarget::Memory;
        }
    };
    if url == "memory://" {
        return RedisTarget::Memory;
    }
    const SCHEMES: [&str; 4] = ["redis://", "rediss://", "unix://", "redis+unix://"];
    if !SCHEMES.iter().any(|s| url.starts_with(s)) {
        c.problem(
            variable,
            "must be a redis://, rediss://, unix:// or memory:// URL",
        );
    }
    RedisTarget::Url(url)
}

/// The URL at `redis[0].credentials.uri`; the error says what is wrong, without values.
pub(crate) fn redis_url_from_vcap(vcap: &str) -> Result<String, &'static str> {
    let json: serde_json::Value = serde_json::from_str(vcap).map_err(|_| "is not valid JSON")?;
    let uri = json
        .get("redis")
        .and_then(|r| r.get(0))
        .ok_or("has no redis entry (expected redis[0].credentials.uri)")?
        .get("credentials")
        .and_then(|c| c.get("uri"))
        .ok_or("has no redis[0].credentials.uri")?;
    match uri.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err("redis[0].credentials.uri must be a non-empty string"),
    }
}

#[cfg(test)]
mod tests;
