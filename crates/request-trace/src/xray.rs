//! X-Ray segments, as JSON documents in UDP datagrams to the daemon.
//!
//! The socket is non-blocking and connected: a send never waits, and a datagram the
//! kernel cannot take (buffer full, too large, or refused because nothing listens) is
//! counted as dropped and forgotten.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

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

    pub fn send(&self, active: &Active, ending: &Ending) {
        let datagram = datagram(&self.segment_name, active, ending);
        if self.socket.send(&datagram).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The header line and the segment.
pub(crate) fn datagram(name: &str, active: &Active, ending: &Ending) -> Vec<u8> {
    let mut bytes = DATAGRAM_HEADER.as_bytes().to_vec();
    // Serialising a `Value` cannot fail.
    let _ = serde_json::to_writer(&mut bytes, &segment(name, active, ending));
    bytes
}

fn segment(name: &str, a: &Active, ending: &Ending) -> Value {
    let mut request = Map::new();
    if let Some(f) = &a.fields {
        request.insert("method".into(), json!(f.method));
        request.insert("url".into(), json!(f.url));
        request.insert("client_ip".into(), json!(f.client_ip.to_string()));
        if let Some(agent) = &f.user_agent {
            request.insert("user_agent".into(), json!(agent));
        }
    }
    let mut response = Map::new();
    response.insert("status".into(), json!(ending.status));
    if let Some(length) = ending.content_length {
        response.insert("content_length".into(), json!(length));
    }
    let mut doc = Map::new();
    doc.insert("name".into(), json!(name));
    doc.insert("id".into(), json!(a.id.hex()));
    doc.insert("trace_id".into(), json!(a.trace_id.xray()));
    if let Some(parent) = &a.parent {
        doc.insert("parent_id".into(), json!(parent.hex()));
    }
    doc.insert("start_time".into(), json!(seconds(a.start)));
    doc.insert("end_time".into(), json!(seconds(ending.end)));
    doc.insert(
        "http".into(),
        json!({ "request": request, "response": response }),
    );
    flags(&mut doc, Some(ending.status));
    let subsegments: Vec<Value> = a.calls().iter().map(subsegment).collect();
    if !subsegments.is_empty() {
        doc.insert("subsegments".into(), Value::Array(subsegments));
    }
    Value::Object(doc)
}

fn subsegment(call: &CallRecord) -> Value {
    let mut doc = Map::new();
    doc.insert("id".into(), json!(call.id.hex()));
    let (name, namespace) = match &call.kind {
        CallKind::S3 { .. } => ("S3", "aws"),
        CallKind::Redis => ("Redis", "remote"),
        CallKind::Sso => ("SSO", "remote"),
    };
    doc.insert("name".into(), json!(name));
    doc.insert("namespace".into(), json!(namespace));
    doc.insert("start_time".into(), json!(seconds(call.start)));
    doc.insert("end_time".into(), json!(seconds(call.end)));
    if let CallKind::S3 { operation, bucket } = &call.kind {
        doc.insert(
            "aws".into(),
            json!({ "operation": operation, "bucket_name": bucket }),
        );
    }
    let status = match call.outcome {
        Outcome::Status(status) => {
            doc.insert("http".into(), json!({ "response": { "status": status } }));
            Some(status)
        }
        Outcome::Ok => None,
        Outcome::Failed => {
            doc.insert("fault".into(), json!(true));
            None
        }
    };
    flags(&mut doc, status);
    Value::Object(doc)
}

/// X-Ray's flags for an HTTP status: `error` for 4xx, with `throttle` for 429; `fault`
/// for 5xx.
fn flags(doc: &mut Map<String, Value>, status: Option<u16>) {
    match status {
        Some(400..=499) => {
            doc.insert("error".into(), json!(true));
            if status == Some(429) {
                doc.insert("throttle".into(), json!(true));
            }
        }
        Some(500..) => {
            doc.insert("fault".into(), json!(true));
        }
        _ => {}
    }
}

/// Epoch seconds with microseconds, as X-Ray's SDKs write them.
fn seconds(at: SystemTime) -> f64 {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() as f64 + f64::from(d.subsec_micros()) / 1e6
}
