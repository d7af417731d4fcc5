//! The configuration mapped onto each part's settings, and the parts run together.

use std::time::Duration;

use http_frontend::{App, FrontendSettings, HeaderValue, SameSite, StateBinding};
use request_trace::{OtlpSettings, Sampler, TraceError, TraceSettings, Tracer, XraySettings};
use s3_streamer::{S3Settings, S3Streamer, StaticKeys};
use s3proxy_config::{Config, RedisTarget, SentryConfig, SsoProvider, TraceSampler};
use session_store::{AnyStore, MemoryStore, RedisSettings, RedisStore, StoreTtls};
use sso_client::{OidcSettings, Provider, SsoClient, SsoSettings};
use telemetry::SentrySettings;

use crate::checks::Checked;
use crate::signals::{shutdown_broadcast, stopped};
use crate::trust;

pub fn sentry_settings(sentry: &SentryConfig) -> SentrySettings {
    SentrySettings {
        dsn: sentry.dsn.clone(),
        release: concat!("s3proxy@", env!("CARGO_PKG_VERSION")).into(),
        environment: sentry.environment.clone(),
        traces_sample_rate: if sentry.enable_tracing {
            sentry.traces_sample_rate
        } else {
            0.0
        },
        ecs_metadata_uri: sentry.ecs_metadata_uri.clone(),
    }
}

/// The connection cap: `MAX_CONNECTIONS`, or half the file descriptors when unset; in
/// either case after raising the soft descriptor limit to the hard one. Half, because
/// each client connection may hold an S3 connection too, and Redis, the SSO and the
/// process's own files need a few: a `MAX_CONNECTIONS` above that is lowered to it, with
/// a warning, rather than letting `accept` fail with EMFILE once the limit is reached.
fn max_connections(configured: Option<usize>) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            log::warn!("cannot read or raise the file descriptor limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    };
    let fits = usize::try_from(limit / 2).unwrap_or(usize::MAX).max(1);
    match configured {
        Some(wanted) if wanted > fits => {
            log::warn!(
                "MAX_CONNECTIONS is {wanted}, but the file descriptor limit ({limit}) leaves \
                 room for {fits} client connections beside their S3 connections: serving at \
                 most {fits}"
            );
            fits
        }
        Some(wanted) => wanted,
        None => fits,
    }
}

fn store(config: &Config, tls_roots: &Option<Vec<Vec<u8>>>) -> Result<AnyStore, String> {
    let ttls = StoreTtls {
        checked: config.sso_token_check_grace_period,
        ..StoreTtls::default()
    };
    Ok(match &config.redis {
        RedisTarget::Memory => {
            log::warn!(
                "sessions are kept in memory (memory://): fine for one local instance, \
                 wrong for a fleet, and lost on restart"
            );
            AnyStore::Memory(MemoryStore::new(ttls))
        }
        RedisTarget::Url(url) => {
            let mut settings = RedisSettings::new(url.clone());
            settings.ttls = ttls;
            settings.timeout = config.redis_timeout;
            settings.tls_roots = tls_roots.clone();
            settings.cache_entries = config.session_cache_entries;
            AnyStore::Redis(
                RedisStore::new(settings)
                    .map_err(|e| format!("REDIS_ENDPOINT/VCAP_SERVICES: {e}"))?,
            )
        }
    })
}

fn sso(config: &Config, tls_roots: &Option<Vec<Vec<u8>>>) -> Result<SsoClient, String> {
    let mut settings = SsoSettings::new(
        config.sso_url.clone(),
        config.sso_url_internal.clone(),
        config.sso_client_id.clone(),
        config.sso_client_secret.clone(),
    );
    settings.timeout = config.sso_timeout;
    settings.connect_timeout = config.sso_timeout.min(settings.connect_timeout);
    settings.tls_roots = tls_roots.clone();
    if let SsoProvider::Oidc(oidc) = &config.sso_provider {
        settings.provider = Provider::Oidc(OidcSettings {
            scopes: oidc.scopes.clone(),
            groups_claim: oidc.groups_claim.clone(),
            ..OidcSettings::default()
        });
    }
    SsoClient::new(settings).map_err(|e| format!("SSO client: {e}"))
}

async fn s3(config: &Config, tls_roots: &Option<Vec<Vec<u8>>>) -> Result<S3Streamer, String> {
    let mut settings = S3Settings::new(config.aws_region.clone(), config.bucket.clone());
    // An S3-compatible endpoint behind a private CA is trusted like Redis and the SSO.
    settings.tls_roots = tls_roots.clone();
    settings.key_prefix = config.key_prefix.clone();
    settings.response_timeout = config.s3_timeout;
    settings.connect_timeout = config.s3_timeout.min(settings.connect_timeout);
    settings.endpoint = config.s3_local_endpoint.clone();
    settings.static_keys = config.aws_keys.as_ref().map(|k| StaticKeys {
        access_key_id: k.access_key_id.clone(),
        secret_access_key: k.secret_access_key.clone(),
    });
    S3Streamer::new(settings)
        .await
        .map_err(|e| format!("S3 client: {e}"))
}

/// Spans still queued for the OTLP collector get this long at exit.
const TRACE_FLUSH: Duration = Duration::from_secs(2);

async fn tracer(
    config: &Config,
    tls_roots: &Option<Vec<Vec<u8>>>,
) -> Result<Option<Tracer>, String> {
    let xray = config
        .xray
        .as_ref()
        .map(|x| XraySettings::new(x.daemon_address.clone(), x.tracing_name.clone()));
    let otlp = config.otlp.as_ref().map(|o| {
        let mut settings = OtlpSettings::new(o.traces_endpoint.clone());
        settings.headers = o.headers.clone();
        settings.service_name = o.service_name.clone();
        settings.timeout = o.timeout;
        settings.tls_roots = tls_roots.clone();
        settings.sampler = match o.sampler {
            TraceSampler::AlwaysOn => Sampler::AlwaysOn,
            TraceSampler::AlwaysOff => Sampler::AlwaysOff,
            TraceSampler::TraceIdRatio(r) => Sampler::TraceIdRatio(r),
            TraceSampler::ParentBasedAlwaysOn => Sampler::ParentBasedAlwaysOn,
            TraceSampler::ParentBasedAlwaysOff => Sampler::ParentBasedAlwaysOff,
            TraceSampler::ParentBasedTraceIdRatio(r) => Sampler::ParentBasedTraceIdRatio(r),
        };
        settings
    });
    let tracer = Tracer::start(TraceSettings { xray, otlp })
        .await
        .map_err(|e| match e {
            TraceError::XrayDaemon(_) => format!("AWS_XRAY_DAEMON_ADDRESS: {e}"),
            TraceError::Otlp(_) => format!("OTEL_EXPORTER_OTLP_*: {e}"),
        })?;
    if let Some(x) = &config.xray {
        log::info!(
            "X-Ray segments named {:?} go to the daemon at {}",
            x.tracing_name,
            x.daemon_address
        );
    }
    if let Some(o) = &config.otlp {
        log::info!(
            "OpenTelemetry spans of {:?} go out over OTLP/HTTP",
            o.service_name
        );
    }
    Ok(tracer)
}

fn frontend(config: &Config) -> Result<FrontendSettings, String> {
    let mut frontend = FrontendSettings::new(config.healthcheck_key.clone());
    frontend.cookie_samesite = config.cookie_samesite.map(|s| match s {
        s3proxy_config::SameSite::None => SameSite::None,
        s3proxy_config::SameSite::Lax => SameSite::Lax,
        s3proxy_config::SameSite::Strict => SameSite::Strict,
    });
    frontend.shutdown_timeout = config.shutdown_timeout;
    frontend.client_idle_timeout = config.client_idle_timeout;
    frontend.header_read_timeout = config.header_read_timeout;
    frontend.keepalive_timeout = config.keepalive_timeout;
    frontend.forwarded_hops = config.forwarded_hops;
    frontend.max_connections = max_connections(config.max_connections);
    frontend.content_security_policy = config
        .content_security_policy
        .as_deref()
        .map(HeaderValue::from_str)
        .transpose()
        .map_err(|_| "CONTENT_SECURITY_POLICY: not a valid header value".to_string())?;
    frontend.pkce = config.sso_pkce;
    frontend.sign_out_redirect = config.sign_out_redirect_url.clone();
    // Keyed by the client secret: every instance computes the same binding cookies, and
    // nobody without the secret can.
    frontend.sso_bind_state = config
        .sso_bind_state
        .then(|| StateBinding::new(config.sso_client_secret.as_bytes()));
    frontend.sentry_tracing = config
        .sentry
        .as_ref()
        .is_some_and(|s| s.enable_tracing && s.traces_sample_rate > 0.0);
    Ok(frontend)
}

/// Builds every part, listens, and serves until SIGTERM or SIGINT.
pub async fn run(checked: Checked) -> Result<(), String> {
    let Checked {
        config,
        access_rules,
    } = checked;
    let tls_roots = trust::roots_with_ssl_cert_file()?;
    let sso = sso(&config, &tls_roots)?;
    // An OpenID provider is read in the background until it answers: one that is down
    // at start delays sign-ins, not the service.
    sso.spawn_discovery();
    let tracer = tracer(&config, &tls_roots).await?;
    let mut frontend = frontend(&config)?;
    frontend.access_rules = access_rules;
    frontend.tracer = tracer.clone();
    let app = App::new(
        store(&config, &tls_roots)?,
        sso,
        s3(&config, &tls_roots).await?,
        frontend,
    );
    if let Some(dropped) = tracer.as_ref().and_then(Tracer::xray_dropped) {
        app.metrics().report_xray_dropped(dropped);
    }
    let shutdown = shutdown_broadcast();
    let listener = http_frontend::bind(config.port)
        .await
        .map_err(|e| format!("PORT: cannot listen on port {}: {e}", config.port))?;
    let metrics_listener = match config.metrics_port {
        None => None,
        Some(port) => Some(
            http_frontend::bind(port)
                .await
                .map_err(|e| format!("METRICS_PORT: cannot listen on port {port}: {e}"))?,
        ),
    };
    log::info!(
        "s3proxy listening on port {} for bucket {:?} (prefix {:?}){}",
        config.port,
        config.bucket,
        config.key_prefix,
        config
            .metrics_port
            .map(|p| format!("; metrics on port {p}"))
            .unwrap_or_default()
    );
    if let Some(listener) = metrics_listener {
        tokio::spawn(http_frontend::serve_metrics(
            listener,
            app.metrics().clone(),
            stopped(shutdown.clone()),
        ));
    }
    let served = http_frontend::serve(listener, app, stopped(shutdown)).await;
    if let Some(tracer) = tracer {
        // The SDK's flush blocks; the exports it waits for run on this runtime.
        let _ = tokio::task::spawn_blocking(move || tracer.shutdown(TRACE_FLUSH)).await;
    }
    served.map_err(|e| format!("server failed: {e}"))
}
