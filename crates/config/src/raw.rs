//! The variables as strings, before any validation.

use serde::Deserialize;

use crate::validate::{ConfigError, Problem};

/// Every variable is optional here so that envy never stops at the first missing one:
/// validation then names all problems at once. (envy matches variable names lowercased.)
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawEnv {
    pub port: Option<String>,
    pub vcap_services: Option<String>,
    pub redis_endpoint: Option<String>,
    pub sso_url: Option<String>,
    pub sso_url_internal: Option<String>,
    pub sso_client_id: Option<String>,
    pub sso_client_secret: Option<String>,
    pub sso_token_check_grace_period: Option<String>,
    pub aws_default_region: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_s3_bucket: Option<String>,
    pub aws_s3_healthcheck_key: Option<String>,
    pub key_prefix: Option<String>,
    pub s3_use_local: Option<String>,
    pub s3_endpoint_url: Option<String>,
    pub cookie_samesite: Option<String>,
    pub shutdown_timeout: Option<String>,
    pub client_idle_timeout: Option<String>,
    pub sso_timeout: Option<String>,
    pub s3_timeout: Option<String>,
    pub redis_timeout: Option<String>,
    pub session_cache_entries: Option<String>,
    pub header_read_timeout: Option<String>,
    pub keepalive_timeout: Option<String>,
    pub max_connections: Option<String>,
    pub forwarded_hops: Option<String>,
    pub content_security_policy: Option<String>,
    pub metrics_port: Option<String>,
    pub sso_pkce: Option<String>,
    pub sso_bind_state: Option<String>,
    pub allowed_emails: Option<String>,
    pub allowed_email_domains: Option<String>,
    pub allowed_groups: Option<String>,
    pub access_rules_file: Option<String>,
    pub sign_out_redirect_url: Option<String>,
    pub sso_provider: Option<String>,
    pub oidc_scopes: Option<String>,
    pub oidc_groups_claim: Option<String>,
    pub sentry_dsn: Option<String>,
    pub sentry_enable_tracing: Option<String>,
    pub sentry_traces_sample_rate: Option<String>,
    pub copilot_environment_name: Option<String>,
    pub app_env: Option<String>,
    pub ecs_container_metadata_uri_v4: Option<String>,
    pub enable_xray: Option<String>,
    pub aws_xray_daemon_address: Option<String>,
    pub aws_xray_tracing_name: Option<String>,
    pub otel_exporter_otlp_endpoint: Option<String>,
    pub otel_exporter_otlp_traces_endpoint: Option<String>,
    pub otel_exporter_otlp_headers: Option<String>,
    pub otel_exporter_otlp_traces_headers: Option<String>,
    pub otel_exporter_otlp_protocol: Option<String>,
    pub otel_exporter_otlp_traces_protocol: Option<String>,
    pub otel_exporter_otlp_compression: Option<String>,
    pub otel_exporter_otlp_traces_compression: Option<String>,
    pub otel_exporter_otlp_timeout: Option<String>,
    pub otel_exporter_otlp_traces_timeout: Option<String>,
    pub otel_service_name: Option<String>,
    pub otel_traces_sampler: Option<String>,
    pub otel_traces_sampler_arg: Option<String>,
}

impl RawEnv {
    pub(crate) fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<RawEnv, ConfigError> {
        // Only our own names reach envy: an unrelated variable can never make parsing fail.
        envy::from_iter(vars).map_err(|e| ConfigError {
            problems: vec![Problem::new("environment", format!("unreadable: {e}"))],
        })
    }
}
