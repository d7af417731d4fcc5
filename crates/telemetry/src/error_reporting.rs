//! Errors and request traces to Sentry, with the Python service's variables, and
//! without anything personal or secret.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sentry::protocol::{Event, Request};

/// What the Sentry client needs.
#[derive(Clone)]
pub struct SentrySettings {
    /// Where events go (`SENTRY_DSN`). A secret of sorts: never printed.
    pub dsn: String,
    /// The release events belong to, e.g. `s3proxy@0.1.0`.
    pub release: String,
    /// Tagged on every event (`COPILOT_ENVIRONMENT_NAME` or `APP_ENV` in the service).
    pub environment: String,
    /// Share of requests sent as performance transactions; 0 sends none.
    pub traces_sample_rate: f32,
    /// The ECS task metadata endpoint (`ECS_CONTAINER_METADATA_URI_V4`), whose task ARN
    /// names the instance.
    pub ecs_metadata_uri: Option<String>,
}

impl std::fmt::Debug for SentrySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentrySettings")
            .field("dsn", &"<redacted>")
            .field("release", &self.release)
            .field("environment", &self.environment)
            .field("traces_sample_rate", &self.traces_sample_rate)
            .field("ecs_metadata_uri", &self.ecs_metadata_uri)
            .finish()
    }
}

/// Queued events get this long to be sent when the client closes.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// The ECS metadata endpoint is on the task's own network: a slow answer means none.
const ECS_METADATA_TIMEOUT: Duration = Duration::from_secs(2);

/// The `instance_id` tag: the ECS task id once known, `undefined` until then or without.
static INSTANCE_ID: OnceLock<String> = OnceLock::new();

fn instance_id() -> &'static str {
    INSTANCE_ID.get().map_or("undefined", String::as_str)
}

/// Whether `dsn` is one the Sentry client accepts.
pub fn dsn_is_valid(dsn: &str) -> bool {
    dsn.parse::<sentry::types::Dsn>().is_ok()
}

/// Starts the Sentry client (a background thread sends; capturing never waits for it)
/// with the panic handler installed. Keep the guard for the life of the process, and
/// give it to [`flush_sentry`] at exit.
///
/// Call it before the async runtime starts its threads, and after
/// [`resolve_instance_id`]: each thread's Sentry scope is copied from the main one
/// (with the `instance_id` tag) when the thread first reports.
pub fn init_sentry(settings: &SentrySettings) -> sentry::ClientInitGuard {
    let mut options = sentry::ClientOptions::new();
    options.dsn = settings.dsn.parse().ok();
    options.environment = Some(Cow::Owned(settings.environment.clone()));
    options.release = Some(Cow::Owned(settings.release.clone()));
    options.traces_sampling_strategy =
        sentry::TracesSamplingStrategy::FixedRate(settings.traces_sample_rate.clamp(0.0, 1.0));
    // Unlike the Python service: no IP address, user, cookie or header is sent.
    options.send_default_pii = false;
    options.max_breadcrumbs = 0;
    options.shutdown_timeout = FLUSH_TIMEOUT;
    options.before_send = Some(Arc::new(|event| Some(scrub_event(event))));
    let guard = sentry::init(options);
    sentry::configure_scope(|scope| scope.set_tag("instance_id", instance_id()));
    guard
}

/// Sends what is queued, for up to [`FLUSH_TIMEOUT`], and no longer: the client is not
/// shut down, because that waits for a request in flight to a stuck Sentry, however
/// long; the process exits around it.
pub fn flush_sentry(guard: sentry::ClientInitGuard) {
    if !guard.flush(Some(FLUSH_TIMEOUT)) {
        log::warn!("Sentry did not take every queued event within {FLUSH_TIMEOUT:?}");
    }
    std::mem::forget(guard);
}

/// Reads the task id from the ECS metadata endpoint (`<uri>/task`, the last `/` segment
/// of its `TaskARN`) for the `instance_id` tag, once, at start-up. Never fails the
/// service: without an answer within 2 s the tag stays `undefined`.
pub async fn resolve_instance_id(metadata_uri: &str) {
    match task_id(metadata_uri).await {
        Ok(id) => {
            let _ = INSTANCE_ID.set(id);
        }
        Err(why) => log::warn!("ECS task metadata unavailable, instance_id stays undefined: {why}"),
    }
}

async fn task_id(metadata_uri: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(ECS_METADATA_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{}/task", metadata_uri.trim_end_matches('/'));
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let task: serde_json::Value = response
        .json()
        .await
        .map_err(|e| e.without_url().to_string())?;
    task.get("TaskARN")
        .and_then(|arn| arn.as_str())
        .and_then(|arn| arn.rsplit('/').next())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "no TaskARN in the answer".into())
}

/// Only method and URL without its query (which can hold a code and a state).
fn scrub_request(request: &mut Request) {
    if let Some(url) = &mut request.url {
        url.set_query(None);
        url.set_fragment(None);
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    request.query_string = None;
    request.cookies = None;
    request.data = None;
    request.headers.clear();
    request.env.clear();
}

fn scrub_event(mut event: Event<'static>) -> Event<'static> {
    if let Some(request) = &mut event.request {
        scrub_request(request);
    }
    event.user = None;
    event.breadcrumbs.values.clear();
    event
        .tags
        .insert("instance_id".into(), instance_id().to_string());
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns_are_checked_by_the_clients_own_parser() {
        assert!(dsn_is_valid("https://public@o1.ingest.sentry.io/42"));
        assert!(dsn_is_valid("http://key@127.0.0.1:9999/1"));
        for bad in [
            "",
            "not a dsn",
            "https://o1.ingest.sentry.io/42",
            "https://key@host/",
        ] {
            assert!(!dsn_is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn requests_keep_only_method_and_path() {
        let mut request = Request {
            url: "https://user:pw@assets.example.com/a/b?code=c&state=s#f"
                .parse()
                .ok(),
            method: Some("GET".into()),
            query_string: Some("code=c&state=s".into()),
            cookies: Some("assets_session_id=secret".into()),
            data: Some("body".into()),
            ..Default::default()
        };
        request.headers.insert("cookie".into(), "secret".into());
        scrub_request(&mut request);
        assert_eq!(
            request.url.as_ref().map(|u| u.as_str()),
            Some("https://assets.example.com/a/b")
        );
        assert_eq!(request.method.as_deref(), Some("GET"));
        assert!(request.query_string.is_none() && request.cookies.is_none());
        assert!(request.data.is_none() && request.headers.is_empty());
    }
}
