//! The application: parts it needs, routing, and the session check.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Method as HttpMethod, Request, StatusCode, Uri};
use s3_streamer::{Method, S3Streamer};
use s3proxy_metrics::{Metrics, TokenCheck};
use session_store::SessionStore;
use sso_client::{Outcome, SsoClient};

use crate::conn_state::{AnsweringGuard, ConnState};
use crate::report::{self, failed, Dependency, Failure, RequestTransaction};
use crate::responses::{closing, empty, explained, method_not_allowed, HttpResponse};
use crate::settings::FrontendSettings;
use crate::token_checks::{CheckOutcome, TokenChecks};
use crate::traces;
use crate::tracking::AccessLog;
use http_input::{client_address, decode_path, guard, session_id, CALLBACK_PATH};

/// Longest request-target answered. Every anonymous request stores its URL for a
/// minute; this bounds what one request can make the store hold.
const MAX_TARGET_BYTES: usize = 8 * 1024;

/// Everything a request needs. Cheap to clone.
pub struct App<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        App {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<S> {
    store: S,
    sso: SsoClient,
    s3: S3Streamer,
    settings: FrontendSettings,
    metrics: Arc<Metrics>,
    token_checks: TokenChecks,
    /// Set at shutdown: every response then closes its connection.
    draining: AtomicBool,
}

impl<S: SessionStore> App<S> {
    pub fn new(store: S, sso: SsoClient, s3: S3Streamer, settings: FrontendSettings) -> App<S> {
        App {
            inner: Arc::new(Inner {
                store,
                sso,
                s3,
                settings,
                metrics: Arc::default(),
                token_checks: TokenChecks::default(),
                draining: AtomicBool::new(false),
            }),
        }
    }

    pub fn settings(&self) -> &FrontendSettings {
        &self.inner.settings
    }

    pub(crate) fn store(&self) -> &S {
        &self.inner.store
    }

    pub(crate) fn sso(&self) -> &SsoClient {
        &self.inner.sso
    }

    pub(crate) fn s3(&self) -> &S3Streamer {
        &self.inner.s3
    }

    /// The service's metrics, for a metrics endpoint to render.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// From now on every response closes its connection (shutdown has begun).
    pub(crate) fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
    }

    /// Answers one request; the response's body carries the access log line, the
    /// in-flight count and the connection's "answering" mark until it is done.
    pub(crate) async fn handle<B>(
        &self,
        request: Request<B>,
        conn: &Arc<ConnState>,
        peer: IpAddr,
        answering: AnsweringGuard,
    ) -> HttpResponse {
        let inflight = self.inner.metrics.request_started();
        let started = Instant::now();
        let (parts, _body) = request.into_parts();
        let transaction = self
            .inner
            .settings
            .sentry_tracing
            .then(|| RequestTransaction::start(&parts));
        let client = || client_address(&parts.headers, self.inner.settings.forwarded_hops, peer);
        let tracer = self.inner.settings.tracer.as_ref();
        let trace = tracer.map(|t| traces::begin(t, &parts, client()));
        let mut response = match &trace {
            Some(trace) => trace.scope(self.route(&parts, conn)).await,
            None => self.route(&parts, conn).await,
        };
        let status = response.status();
        if status.is_server_error() {
            let failure = response.extensions_mut().remove::<Failure>();
            report::capture(&parts, status, failure.as_ref());
        }
        let mut response = explained(response, &parts);
        self.inner.metrics.response(
            metrics_method(&parts.method),
            status.as_u16(),
            started.elapsed(),
        );
        if let Some(transaction) = transaction {
            transaction.finish(&response);
        }
        if let Some(trace) = trace {
            traces::finish(trace, &mut response);
        }
        if self.inner.draining.load(Ordering::Relaxed) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let log = AccessLog::enabled().then(|| AccessLog {
            client: client(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            status: status.as_u16(),
            started,
        });
        response.body_mut().track(log, inflight, answering);
        response
    }

    async fn route(&self, parts: &Parts, conn: &Arc<ConnState>) -> HttpResponse {
        if target_len(&parts.uri) > MAX_TARGET_BYTES {
            return empty(StatusCode::URI_TOO_LONG);
        }
        let method = match parts.method {
            HttpMethod::GET => Method::Get,
            HttpMethod::HEAD => Method::Head,
            _ => return method_not_allowed(),
        };
        // `GET * HTTP/1.1`: the asterisk-form names no object.
        if parts.uri.path() == "*" {
            return empty(StatusCode::BAD_REQUEST);
        }
        // A body on GET or HEAD is either a mistake or an attempt to desync us from the
        // balancer in front: refuse it and close, so no byte of it is read as a request.
        if has_body(&parts.headers) {
            return closing(empty(StatusCode::BAD_REQUEST));
        }
        let Ok(key) = decode_path(parts.uri.path()) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        // On the decoded key, so no encoding of the path reaches an object of that name.
        // The two large branches are boxed: hyper moves the request's future (and each
        // level moves the one it awaits) by value, and inline they made it kilobytes.
        if key == CALLBACK_PATH[1..] {
            return Box::pin(self.callback(parts)).await;
        }
        // Exactly the healthcheck object, and nothing else, skips the login.
        if key == self.inner.settings.healthcheck_key {
            return Box::pin(self.proxy(parts, method, &key, conn)).await;
        }
        if let Some(refusal) = self.check_session(parts).await {
            return refusal;
        }
        match guard(&key) {
            Ok(key) => Box::pin(self.proxy(parts, method, key, conn)).await,
            Err(_) => empty(StatusCode::NOT_FOUND),
        }
    }

    /// `None` when the request's session grants access, else the response to send
    /// instead (a login redirect or an error). One store round trip reads token and
    /// marker; the SSO is asked only once the marker (the grace period) has expired.
    async fn check_session(&self, parts: &Parts) -> Option<HttpResponse> {
        let Some(session_id) = session_id(&parts.headers) else {
            return Some(self.start_login(parts).await);
        };
        let session = match self.redis(self.inner.store.load_session(&session_id)).await {
            Ok(Some(session)) => session,
            Ok(None) => return Some(self.start_login(parts).await),
            Err(e) => {
                return Some(failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Dependency::Redis,
                    format!("could not read session: {e}"),
                ))
            }
        };
        if session.checked {
            return None;
        }
        let outcome = self
            .inner
            .token_checks
            .run(&session_id, || {
                self.check_token(&session_id, &session.token)
            })
            .await;
        match outcome {
            CheckOutcome::Accepted => None,
            CheckOutcome::Rejected(status) => {
                log::info!("SSO no longer accepts a session's token ({status}): signing in again");
                Some(self.start_login(parts).await)
            }
            CheckOutcome::Failed(e) => Some(failed(
                StatusCode::INTERNAL_SERVER_ERROR,
                Dependency::Sso,
                format!("SSO token check failed: {e}"),
            )),
        }
    }

    /// Asks the SSO about a session's token, and records a yes for the grace period.
    async fn check_token(&self, session_id: &str, token: &str) -> CheckOutcome {
        let metrics = &self.inner.metrics;
        match self.sso_call(self.inner.sso.check_token(token)).await {
            Outcome::Accepted(()) => {
                metrics.token_check(TokenCheck::Accepted);
                if let Err(e) = self.redis(self.inner.store.mark_checked(session_id)).await {
                    // The user is genuine; the SSO will just be asked again next time.
                    log::warn!("could not record token check: {e}");
                }
                CheckOutcome::Accepted
            }
            Outcome::Rejected(status) => {
                metrics.token_check(TokenCheck::Rejected);
                CheckOutcome::Rejected(status)
            }
            Outcome::Failed(e) => {
                metrics.token_check(TokenCheck::Failed);
                CheckOutcome::Failed(e.to_string())
            }
        }
    }
}

fn metrics_method(method: &HttpMethod) -> s3proxy_metrics::Method {
    match *method {
        HttpMethod::GET => s3proxy_metrics::Method::Get,
        HttpMethod::HEAD => s3proxy_metrics::Method::Head,
        _ => s3proxy_metrics::Method::Other,
    }
}

/// The request-target's length as sent (origin-form, or absolute-form with its authority).
fn target_len(uri: &Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + 3);
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let rest = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    scheme + authority + rest
}

/// `Content-Length` above zero (or unreadable) or any `Transfer-Encoding`.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get_all(header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}
