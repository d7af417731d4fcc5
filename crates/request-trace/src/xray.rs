//! X-Ray segments, as JSON documents in UDP datagrams to the daemon.
//!
//! The socket is non-blocking and connected: a send never waits, and a datagram the
//! kernel cannot take (buffer full, too large, or refused because nothing listens) is
//! counted as dropped and forgotten.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::ids::SpanId;

use crate::request::{Active, CallKind, CallRecord, Ending, Outcome};
use crate::settings::XraySettings;
use crate::tracer::TraceError;

/// What the daemon expects before each segment document.
pub(crate) const DATAGRAM_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

pub(crate) struct Xray {
    socket: UdpSocket,
    segment_name: String,
    dropped: Arc<AtomicU64>,
}

impl Xray {
    pub async fn start(settings: XraySettings) -> Result<Xray, TraceError> {
        let failed = |what: &str, e: std::io::Error| TraceError::XrayDaemon(format!("{what}: {e}"));
        let daemon: SocketAddr = tokio::net::lookup_host(&settings.daemon)
            .await
            .map_err(|e| failed("cannot resolve it", e))?
            .next()
            .ok_or_else(|| TraceError::XrayDaemon("it resolves to no address".into()))?;
        let local: SocketAddr = if daemon.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(|e| failed("cannot open a socket", e))?;
        socket
            .connect(daemon)
            .map_err(|e| failed("cannot address it", e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| failed("cannot make the socket non-blocking", e))?;
        Ok(Xray {
            socket,
            segment_name: settings.segment_name,
            dropped: Arc::default(),
        })
    }

    pub fn dropped(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    pub fn send(&self, active: &Active, calls: &[CallRecord], ending: &Ending) {
        let datagram = datagram(&self.segment_name, active, calls, ending);
        if self.socket.send(&datagram).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The header line and the segment.
pub(crate) fn datagram(
    name: &str,
    active: &Active,
    calls: &[CallRecord],
    ending: &Ending,
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1024);
    bytes.extend_from_slice(DATAGRAM_HEADER.as_bytes());
    // Written straight from these structs: building a `serde_json::Value` first cost
    // five times as much. Serialising them into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut bytes, &segment(name, active, calls, ending));
    bytes
}

#[derive(Serialize)]
struct Segment<'a> {
    name: &'a str,
    id: String,
    trace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    start_time: f64,
    end_time: f64,
    http: Http<'a>,
    #[serde(flatten)]
    flags: Flags,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subsegments: Vec<Subsegment<'a>>,
}

#[derive(Serialize)]
struct Http<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<HttpRequest<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<HttpResponse>,
}

#[derive(Serialize)]
struct HttpRequest<'a> {
    method: &'a str,
    url: &'a str,
    client_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
}

#[derive(Serialize)]
struct HttpResponse {
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_length: Option<u64>,
}

/// X-Ray's flags, written only when set.
#[derive(Serialize, Default)]
struct Flags {
    #[serde(skip_serializing_if = "is_false")]
    error: bool,
    #[serde(skip_serializing_if = "is_false")]
    throttle: bool,
    #[serde(skip_serializing_if = "is_false")]
    fault: bool,
}

#[derive(Serialize)]
struct Subsegment<'a> {
    id: String,
    name: &'static str,
    namespace: &'static str,
    start_time: f64,
    end_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws: Option<Aws<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<Http<'a>>,
    #[serde(flatten)]
    flags: Flags,
}

#[derive(Serialize)]
struct Aws<'a> {
    operation: &'static str,
    bucket_name: &'a str,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn segment<'a>(
    name: &'a str,
    a: &'a Active,
    calls: &'a [CallRecord],
    ending: &Ending,
) -> Segment<'a> {
    let request = a.fields.as_ref().map(|f| HttpRequest {
        method: &f.method,
        url: &f.url,
        client_ip: f.client_ip.to_string(),
        user_agent: f.user_agent.as_deref(),
    });
    Segment {
        name,
        id: a.id.hex(),
        trace_id: a.trace_id.xray(),
        parent_id: a.parent.as_ref().map(SpanId::hex),
        start_time: seconds(a.start),
        end_time: seconds(ending.end),
        http: Http {
            request,
            response: Some(HttpResponse {
                status: ending.status,
                content_length: ending.content_length,
            }),
        },
        flags: flags(Some(ending.status)),
        subsegments: calls.iter().map(subsegment).collect(),
    }
}

fn subsegment(call: &CallRecord) -> Subsegment<'_> {
    let (name, namespace, aws) = match &call.kind {
        CallKind::S3 { operation, bucket } => (
            "S3",
            "aws",
            Some(Aws {
                operation,
                bucket_name: bucket,
            }),
        ),
        CallKind::Redis => ("Redis", "remote", None),
        CallKind::Sso => ("SSO", "remote", None),
    };
    let (status, flags) = match call.outcome {
        Outcome::Status(status) => (Some(status), flags(Some(status))),
        Outcome::Ok => (None, Flags::default()),
        Outcome::Failed => (
            None,
            Flags {
                fault: true,
                ..Flags::default()
            },
        ),
    };
    Subsegment {
        id: call.id.hex(),
        name,
        namespace,
        start_time: seconds(call.start),
        end_time: seconds(call.end),
        aws,
        http: status.map(|status| Http {
            request: None,
            response: Some(HttpResponse {
                status,
                content_length: None,
            }),
        }),
        flags,
    }
}

/// X-Ray's flags for an HTTP status: `error` for 4xx, with `throttle` for 429; `fault`
/// for 5xx.
fn flags(status: Option<u16>) -> Flags {
    match status {
        Some(429) => Flags {
            error: true,
            throttle: true,
            fault: false,
        },
        Some(400..=499) => Flags {
            error: true,
            ..Flags::default()
        },
        Some(500..) => Flags {
            fault: true,
            ..Flags::default()
        },
        _ => Flags::default(),
    }
}

/// Epoch seconds with microseconds, as X-Ray's SDKs write them.
fn seconds(at: SystemTime) -> f64 {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() as f64 + f64::from(d.subsec_micros()) / 1e6
}
