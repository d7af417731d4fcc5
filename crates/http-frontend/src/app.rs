//! The application: the parts it needs, the checks every request passes before the
//! sign-in gate, and the bookkeeping of each answer (metrics, Sentry, access log).

use std::future::poll_fn;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use http::{header, HeaderMap, HeaderValue, Method as HttpMethod, Request, StatusCode, Uri};
use s3_streamer::S3Streamer;
use s3proxy_metrics::Metrics;
use session_store::SessionStore;
use sso_client::SsoClient;
use sso_gate::{Gate, GateLayer, GateSettings};
use tower_layer::Layer;
use tower_service::Service;

use crate::conn_state::{AnsweringGuard, ConnState};
use crate::objects::{Objects, Shared};
use crate::observer::MetricsObserver;
use crate::report::{self, EventRequest, Failure, RequestTransaction};
use crate::responses::{closing, empty, method_not_allowed, HttpResponse};
use crate::settings::FrontendSettings;
use crate::traces;
use crate::tracking::AccessLog;
use http_input::client_address;

/// Longest request-target answered. Every anonymous request stores its URL for a
/// minute; this bounds what one request can make the store hold.
const MAX_TARGET_BYTES: usize = 8 * 1024;

/// The object service behind the sign-in gate, for one connection.
pub(crate) type ConnService<S> = Gate<Objects, S>;

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
    gate: GateLayer<S>,
    objects: Arc<Shared>,
    settings: FrontendSettings,
    metrics: Arc<Metrics>,
    /// Set at shutdown: every response then closes its connection.
    draining: AtomicBool,
}

impl<S: SessionStore + 'static> App<S> {
    /// The S3 object service behind the sign-in gate (sessions in `store`, sign-in
    /// through `sso`), run as `settings` say.
    pub fn new(store: S, sso: SsoClient, s3: S3Streamer, settings: FrontendSettings) -> App<S> {
        let metrics = Arc::<Metrics>::default();
        let counted = metrics.clone();
        store.report_invalidations(Box::new(move |n| counted.cache_invalidations(n)));
        let gate_settings = GateSettings {
            cookie_samesite: settings.cookie_samesite,
            pkce: settings.pkce,
            // Exactly the healthcheck object, and nothing else, skips the sign-in.
            public_paths: vec![settings.healthcheck_key.clone()],
            bind_state: settings.sso_bind_state.clone(),
            access_rules: settings.access_rules.clone(),
            sign_out_redirect: settings.sign_out_redirect.clone(),
        };
        let gate = GateLayer::observed(store, sso, gate_settings, MetricsObserver(metrics.clone()));
        let objects = Arc::new(Shared {
            s3,
            content_security_policy: settings.content_security_policy.clone(),
            metrics: metrics.clone(),
        });
        App {
            inner: Arc::new(Inner {
                gate,
                objects,
                settings,
                metrics,
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// The settings the app runs with.
    pub fn settings(&self) -> &FrontendSettings {
        &self.inner.settings
    }

    /// The service of one connection: the objects, behind the sign-in gate.
    pub(crate) fn connection_service(&self, conn: Arc<ConnState>) -> ConnService<S> {
        self.inner.gate.layer(Objects {
            shared: self.inner.objects.clone(),
            conn,
        })
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
    pub(crate) async fn handle<B: Send + 'static>(
        &self,
        request: Request<B>,
        service: ConnService<S>,
        peer: IpAddr,
        answering: AnsweringGuard,
    ) -> HttpResponse {
        let inflight = self.inner.metrics.request_started();
        let started = Instant::now();
        let transaction = self
            .inner
            .settings
            .sentry_tracing
            .then(|| RequestTransaction::start(&request));
        let method = metrics_method(request.method());
        // Kept only when an error event could be sent: without an active Sentry client
        // (`SENTRY_DSN` unset) `report::capture` sends nothing, and the copy would be waste.
        let event_request =
            sentry_core::Hub::with_active(|_| true).then(|| EventRequest::of(&request));
        let client = || client_address(request.headers(), self.inner.settings.forwarded_hops, peer);
        // Only gathered when the line will be written.
        let logged = AccessLog::enabled()
            .then(|| (client(), request.method().clone(), request.uri().clone()));
        // The gate and the object service run inside the trace's scope, so their calls
        // to Redis, the SSO and S3 become its subsegments.
        let tracer = self.inner.settings.tracer.as_ref();
        let trace = tracer.map(|t| traces::begin(t, &request, client()));
        let mut response = match &trace {
            Some(trace) => trace.scope(self.route(request, service)).await,
            None => self.route(request, service).await,
        };
        let status = response.status();
        if status.is_server_error() {
            let failure = response.extensions_mut().remove::<Failure>();
            if let Some(event_request) = &event_request {
                report::capture(event_request, status, failure.as_ref());
            }
        }
        self.inner
            .metrics
            .response(method, status.as_u16(), started.elapsed());
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
        let log = logged.map(|(client, method, uri)| AccessLog {
            client,
            method,
            uri,
            status: status.as_u16(),
            started,
        });
        response.body_mut().track(log, inflight, answering);
        response
    }

    /// What no request may do, answered before the sign-in; the rest goes to the gate.
    async fn route<B: Send + 'static>(
        &self,
        request: Request<B>,
        mut service: ConnService<S>,
    ) -> HttpResponse {
        if target_len(request.uri()) > MAX_TARGET_BYTES {
            return empty(StatusCode::URI_TOO_LONG);
        }
        if !matches!(*request.method(), HttpMethod::GET | HttpMethod::HEAD) {
            return method_not_allowed();
        }
        // `GET * HTTP/1.1`: the asterisk-form names no object.
        if request.uri().path() == "*" {
            return empty(StatusCode::BAD_REQUEST);
        }
        // A body on GET or HEAD is either a mistake or an attempt to desync us from the
        // balancer in front: refuse it and close, so no byte of it is read as a request.
        if has_body(request.headers()) {
            return closing(empty(StatusCode::BAD_REQUEST));
        }
        // The object service is always ready; the gate answers with a response.
        let ready = poll_fn(|cx| Service::<Request<B>>::poll_ready(&mut service, cx)).await;
        match ready {
            Ok(()) => match service.call(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Err(never) => match never {},
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
