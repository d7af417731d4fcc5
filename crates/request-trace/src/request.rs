//! One request's trace: begun from its headers, made current for the request's future
//! (a task-local), given a child for every call the request makes, and sent when the
//! response head is ready.

use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};

use crate::ids::{SpanId, TraceId};
use crate::propagation::{self, TRACEPARENT, XRAY_HEADER};
use crate::tracer::Tracer;

tokio::task_local! {
    static CURRENT: Arc<Active>;
}

/// What the trace records of a request. Nothing here may hold a secret: the URL is
/// without its query, and no header but `User-Agent` is read.
pub struct RequestInfo<'a> {
    /// For `X-Amzn-Trace-Id` and `traceparent` (and `User-Agent`).
    pub headers: &'a HeaderMap,
    /// The request's method.
    pub method: &'a str,
    /// Scheme, host and path; never the query. Called only when the request is
    /// sampled: most are not, and need no URL.
    pub url: &'a dyn Fn() -> String,
    /// The route's template (`/{key}`), for span names that do not grow with keys.
    pub route: &'static str,
    /// The client's address, as the caller determined it (the access log's).
    pub client_ip: IpAddr,
}

/// What a call to another service is.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    /// An S3 operation (`GetObject`, `HeadObject`) on a bucket.
    S3 {
        /// `GetObject` or `HeadObject`.
        operation: &'static str,
        /// The bucket asked.
        bucket: &'a str,
    },
    /// A Redis command (the session store).
    Redis,
    /// A call to the SSO (token exchange, token check, profile).
    Sso,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A usable answer, with no status worth recording.
    Ok,
    /// The service answered with this HTTP status (4xx are errors, 5xx faults).
    Status(u16),
    /// No usable answer: a timeout, a network failure.
    Failed,
}

#[derive(Debug, Clone)]
pub(crate) enum CallKind {
    S3 {
        operation: &'static str,
        bucket: String,
    },
    Redis,
    Sso,
}

#[derive(Debug, Clone)]
pub(crate) struct CallRecord {
    pub id: SpanId,
    pub kind: CallKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub outcome: Outcome,
}

/// The request's fields, kept only when some exporter will send them.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub method: String,
    pub url: String,
    pub route: &'static str,
    pub client_ip: IpAddr,
    pub user_agent: Option<String>,
}

/// A request being traced.
pub(crate) struct Active {
    pub tracer: Tracer,
    pub trace_id: TraceId,
    pub id: SpanId,
    pub parent: Option<SpanId>,
    /// The segment goes to the X-Ray daemon.
    pub xray_sampled: bool,
    /// The spans go to the OTLP collector.
    pub otlp_sampled: bool,
    /// The decision written in `X-Amzn-Trace-Id` (X-Ray's when it is on) and in
    /// `traceparent` (OpenTelemetry's when it is on).
    pub xray_header_sampled: bool,
    pub w3c_sampled: bool,
    /// The caller sent `Sampled=?` and gets the decision back.
    asks_decision: bool,
    pub start: SystemTime,
    started: Instant,
    /// `None` when nothing is sent.
    pub fields: Option<Fields>,
    calls: Mutex<Vec<CallRecord>>,
}

impl Active {
    fn recording(&self) -> bool {
        self.xray_sampled || self.otlp_sampled
    }

    /// Wall-clock time now, on the request's monotonic clock (no jumps within a trace).
    fn now(&self) -> SystemTime {
        self.start + self.started.elapsed()
    }
}

/// A request's trace, from [`Tracer::begin`]. Run the request's future in
/// [`RequestTrace::scope`], then [`RequestTrace::finish`] it at the response head.
pub struct RequestTrace {
    active: Arc<Active>,
}

/// The request as it ended, for the exporters.
pub(crate) struct Ending {
    pub end: SystemTime,
    pub status: u16,
    pub content_length: Option<u64>,
}

impl Tracer {
    /// Begins a request's trace: the trace of its `X-Amzn-Trace-Id` or `traceparent`
    /// when it has one (and the caller's sampling decision), else a new one.
    pub fn begin(&self, request: RequestInfo<'_>) -> RequestTrace {
        let start = SystemTime::now();
        let started = Instant::now();
        let incoming = propagation::incoming(request.headers);
        let trace_id = incoming.map_or_else(|| TraceId::new(start), |i| i.trace_id);
        let parent = incoming.and_then(|i| i.parent);
        let decided = incoming.and_then(|i| i.sampled);
        let second = start.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let xray = self.xray_decision(decided, second);
        let otlp = self.otlp_decision(&trace_id, parent, decided, request.route);
        let xray_sampled = xray.unwrap_or(false);
        let otlp_sampled = otlp.unwrap_or(false);
        let fields = (xray_sampled || otlp_sampled).then(|| Fields {
            method: request.method.to_string(),
            url: (request.url)(),
            route: request.route,
            client_ip: request.client_ip,
            user_agent: request
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
        RequestTrace {
            active: Arc::new(Active {
                tracer: self.clone(),
                trace_id,
                id: SpanId::new(),
                parent,
                xray_sampled,
                otlp_sampled,
                xray_header_sampled: xray.or(otlp).unwrap_or(false),
                w3c_sampled: otlp.or(xray).unwrap_or(false),
                asks_decision: incoming.is_some_and(|i| i.asks_decision),
                start,
                started,
                fields,
                calls: Mutex::default(),
            }),
        }
    }
}

impl RequestTrace {
    /// Runs `request` with this trace current, so [`subsegment`] finds it.
    pub async fn scope<F: Future>(&self, request: F) -> F::Output {
        CURRENT.scope(self.active.clone(), request).await
    }

    /// `X-Amzn-Trace-Id` for the response: the trace's root, and the sampling decision
    /// when the caller asked for it (`Sampled=?`), as the X-Ray SDKs answer.
    pub fn response_header(&self) -> Option<HeaderValue> {
        let a = &self.active;
        let decision = a.asks_decision.then_some(a.xray_header_sampled);
        HeaderValue::try_from(propagation::response_header(&a.trace_id, decision)).ok()
    }

    /// Ends the request's segment and span with the response's status and length, and
    /// hands them to the exporters (which never block).
    pub fn finish(self, status: u16, content_length: Option<u64>) {
        let a = &self.active;
        if !a.recording() {
            return;
        }
        let ending = Ending {
            end: a.now(),
            status,
            content_length,
        };
        // Taken once, for both exporters: the trace is finished, and a call that ends
        // later was never sent.
        let calls = a
            .calls
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        a.tracer.export(a, &calls, &ending);
    }
}

/// A call to another service, timed as a child of the current request's trace (an
/// X-Ray subsegment, an OpenTelemetry client span). Does nothing, at the cost of one
/// task-local lookup, when no traced request is running.
pub fn subsegment(call: Call<'_>) -> Subsegment {
    let open = CURRENT.try_with(|active| {
        let kind = active.recording().then(|| match call {
            Call::S3 { operation, bucket } => CallKind::S3 {
                operation,
                bucket: bucket.to_string(),
            },
            Call::Redis => CallKind::Redis,
            Call::Sso => CallKind::Sso,
        });
        Open {
            active: active.clone(),
            id: SpanId::new(),
            kind,
            start: active.now(),
        }
    });
    Subsegment(open.ok())
}

/// An open call; [`Subsegment::end`] records it.
pub struct Subsegment(Option<Open>);

struct Open {
    active: Arc<Active>,
    id: SpanId,
    /// `None` when the request is not recorded.
    kind: Option<CallKind>,
    start: SystemTime,
}

impl Subsegment {
    /// The trace headers for this call's request (`X-Amzn-Trace-Id`, `traceparent`),
    /// naming this call as the parent: the service called joins the trace. Empty when
    /// nothing is traced.
    pub fn propagation_headers(&self) -> HeaderMap {
        let Some(open) = &self.0 else {
            return HeaderMap::new();
        };
        let mut headers = HeaderMap::with_capacity(2);
        let a = &open.active;
        let xray = propagation::xray_header(&a.trace_id, &open.id, a.xray_header_sampled);
        let w3c = propagation::traceparent(&a.trace_id, &open.id, a.w3c_sampled);
        for (name, value) in [(XRAY_HEADER, xray), (TRACEPARENT, w3c)] {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
        headers
    }

    /// Records the call with its outcome.
    pub fn end(self, outcome: Outcome) {
        let Some(Open {
            active,
            id,
            kind: Some(kind),
            start,
        }) = self.0
        else {
            return;
        };
        let record = CallRecord {
            id,
            kind,
            start,
            end: active.now(),
            outcome,
        };
        if let Ok(mut calls) = active.calls.lock() {
            calls.push(record);
        };
    }
}
