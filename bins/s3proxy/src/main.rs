//! s3proxy: reads the configuration, builds the parts, runs the server. Nothing else.

use std::process::ExitCode;
use std::time::Duration;

use http_frontend::{App, FrontendSettings, HeaderValue, SameSite};
use s3_streamer::{S3Settings, S3Streamer, StaticKeys};
use s3proxy_config::{Config, ConfigError, Problem, RedisTarget};
use session_store::{AnyStore, MemoryStore, RedisSettings, RedisStore, StoreTtls};
use sso_client::{SsoClient, SsoSettings};

/// Exit status for a configuration or start-up problem.
const EXIT_CONFIG: u8 = 2;

/// Queued log lines get this long to reach stderr at exit.
const LOG_FLUSH: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let log = telemetry::init_logging();
    let code = run_to_exit();
    log.flush(LOG_FLUSH);
    code
}

fn run_to_exit() -> ExitCode {
    let config = match Config::from_env().and_then(check_keys) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("s3proxy: cannot start, the configuration is invalid:\n{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("s3proxy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(config));
    // Downloads cut by the shutdown timeout must not hold the process up.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("s3proxy: {message}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// The healthcheck key is served by name: it gets the checks every request's key gets
/// (they live with the frontend, which the configuration crate does not know).
fn check_keys(config: Config) -> Result<Config, ConfigError> {
    match http_frontend::check_key(&config.healthcheck_key) {
        Ok(_) => Ok(config),
        Err(_) => Err(ConfigError {
            problems: vec![Problem {
                variable: "AWS_S3_HEALTHCHECK_KEY",
                message: "must be a key requests can name: not empty, no leading `/`, no `.` or \
                          `..` segment, no control character"
                    .into(),
            }],
        }),
    }
}

/// The connection cap when `MAX_CONNECTIONS` is unset: half the file descriptors, after
/// raising the soft limit to the hard one. The other half is for S3, Redis and SSO
/// connections and the process's own files.
fn default_max_connections() -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            log::warn!("cannot read or raise the file descriptor limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    };
    usize::try_from(limit / 2).unwrap_or(usize::MAX).max(1)
}

async fn run(config: Config) -> Result<(), String> {
    let ttls = StoreTtls {
        checked: config.sso_token_check_grace_period,
        ..StoreTtls::default()
    };
    let store = match &config.redis {
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
            AnyStore::Redis(
                RedisStore::new(settings)
                    .map_err(|e| format!("REDIS_ENDPOINT/VCAP_SERVICES: {e}"))?,
            )
        }
    };

    let mut sso_settings = SsoSettings::new(
        config.sso_url.clone(),
        config.sso_url_internal.clone(),
        config.sso_client_id.clone(),
        config.sso_client_secret.clone(),
    );
    sso_settings.timeout = config.sso_timeout;
    sso_settings.connect_timeout = config.sso_timeout.min(sso_settings.connect_timeout);
    let sso = SsoClient::new(sso_settings).map_err(|e| format!("SSO client: {e}"))?;

    let mut s3_settings = S3Settings::new(config.aws_region.clone(), config.bucket.clone());
    s3_settings.key_prefix = config.key_prefix.clone();
    s3_settings.response_timeout = config.s3_timeout;
    s3_settings.connect_timeout = config.s3_timeout.min(s3_settings.connect_timeout);
    s3_settings.endpoint = config.s3_local_endpoint.clone();
    s3_settings.static_keys = config.aws_keys.as_ref().map(|k| StaticKeys {
        access_key_id: k.access_key_id.clone(),
        secret_access_key: k.secret_access_key.clone(),
    });
    let s3 = S3Streamer::new(s3_settings)
        .await
        .map_err(|e| format!("S3 client: {e}"))?;

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
    frontend.max_connections = config
        .max_connections
        .unwrap_or_else(default_max_connections);
    frontend.content_security_policy = config
        .content_security_policy
        .as_deref()
        .map(HeaderValue::from_str)
        .transpose()
        .map_err(|_| "CONTENT_SECURITY_POLICY: not a valid header value".to_string())?;

    let listener = http_frontend::bind(config.port)
        .await
        .map_err(|e| format!("PORT: cannot listen on port {}: {e}", config.port))?;
    log::info!(
        "s3proxy listening on port {} for bucket {:?} (prefix {:?})",
        config.port,
        config.bucket,
        config.key_prefix
    );
    let app = App::new(store, sso, s3, frontend);
    http_frontend::serve(listener, app, shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// The first SIGTERM or SIGINT. Later ones change nothing: tokio never uninstalls a
/// handler, so they no longer kill the process while downloads finish.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    log::info!("{name} received");
}
