//! Per-request traces: an AWS X-Ray segment per request, sent over UDP to the X-Ray
//! daemon, and the same trace as OpenTelemetry spans over OTLP/HTTP.
//!
//! A [`Tracer`] is started once with the exporters that are on. For each request,
//! [`Tracer::begin`] reads the trace the caller sent (`X-Amzn-Trace-Id`, else W3C
//! `traceparent`: same trace id, the caller's segment as parent, its sampling decision)
//! or starts a new one whose id is X-Ray compatible (its first 4 bytes are the epoch
//! second), so a trace looks alike in X-Ray whichever way it went. The request's future
//! runs in [`RequestTrace::scope`]; anything it calls, in any crate, can then open a
//! child with [`subsegment`] without being handed anything, and gets the headers that
//! make the service it calls join the trace. [`RequestTrace::finish`] sends it all.
//!
//! Sending never waits: X-Ray datagrams go out on a non-blocking socket (one the kernel
//! refuses is counted, see [`Tracer::xray_dropped`]), OTLP spans through the SDK's
//! bounded batch queue. Without a traced request in scope, [`subsegment`] costs one
//! task-local lookup.
//!
//! Nothing secret is recorded: of a request, the method, the URL without its query,
//! the route, the client's address and the user agent; of a call, what it was, its
//! times and its status.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use http::HeaderMap;
//! use request_trace::{subsegment, Call, Outcome, RequestInfo, TraceSettings, Tracer, XraySettings};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
//! let settings = TraceSettings {
//!     xray: Some(XraySettings::new(daemon.local_addr().unwrap().to_string(), "S3Proxy")),
//!     otlp: None,
//! };
//! let tracer = Tracer::start(settings).await.unwrap().unwrap();
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".parse().unwrap());
//! let trace = tracer.begin(RequestInfo {
//!     headers: &headers,
//!     method: "GET",
//!     url: &|| "https://assets.example.com/a.txt".into(),
//!     route: "/{key}",
//!     client_ip: Ipv4Addr::LOCALHOST.into(),
//! });
//! trace
//!     .scope(async {
//!         let call = subsegment(Call::S3 { operation: "GetObject", bucket: "my-bucket" });
//!         let headers = call.propagation_headers(); // for the S3 request
//!         assert!(headers["x-amzn-trace-id"].to_str().unwrap().starts_with("Root=1-5759e988-"));
//!         call.end(Outcome::Status(200));
//!     })
//!     .await;
//! trace.finish(200, Some(2));
//!
//! let mut datagram = [0u8; 4096];
//! let n = daemon.recv(&mut datagram).unwrap();
//! let text = std::str::from_utf8(&datagram[..n]).unwrap();
//! assert!(text.starts_with("{\"format\": \"json\", \"version\": 1}\n"));
//! assert!(text.contains("\"trace_id\":\"1-5759e988-bd862e3fe1be46a994272793\""));
//! # }
//! ```

#![warn(missing_docs)]

// The README's examples are compiled and run with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod ids;
mod otlp;
mod propagation;
mod request;
mod sampling;
mod settings;
mod tracer;
mod xray;

pub use propagation::{TRACEPARENT, XRAY_HEADER};
pub use request::{subsegment, Call, Outcome, RequestInfo, RequestTrace, Subsegment};
pub use settings::{OtlpSettings, Sampler, TraceSettings, XraySettings};
pub use tracer::{TraceError, Tracer};
