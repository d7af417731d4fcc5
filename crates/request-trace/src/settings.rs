//! What the tracer is told at start-up; the binary fills it from the configuration.

use std::time::Duration;

/// Both exporters are optional; with neither, no tracer is built at all.
#[derive(Debug, Clone, Default)]
pub struct TraceSettings {
    /// Segments to the X-Ray daemon, when on.
    pub xray: Option<XraySettings>,
    /// Spans over OTLP/HTTP, when on.
    pub otlp: Option<OtlpSettings>,
}

/// Segments to the X-Ray daemon.
#[derive(Debug, Clone)]
pub struct XraySettings {
    /// The daemon's UDP address, `host:port` (a name is resolved once, at start).
    pub daemon: String,
    /// The segment name: the service in X-Ray's service map.
    pub segment_name: String,
}

impl XraySettings {
    /// To the daemon at `daemon` (`host:port`), segments named `segment_name`.
    pub fn new(daemon: impl Into<String>, segment_name: impl Into<String>) -> XraySettings {
        XraySettings {
            daemon: daemon.into(),
            segment_name: segment_name.into(),
        }
    }
}

/// Spans over OTLP/HTTP (protobuf).
#[derive(Clone)]
pub struct OtlpSettings {
    /// The full URL spans are posted to (`…/v1/traces`).
    pub traces_endpoint: String,
    /// Sent with every export (often an API key: never logged).
    pub headers: Vec<(String, String)>,
    /// `service.name` of the resource.
    pub service_name: String,
    /// Which traces are exported.
    pub sampler: Sampler,
    /// Bound on one export call.
    pub timeout: Duration,
    /// DER roots trusted for an https endpoint; `None`: the system's.
    pub tls_roots: Option<Vec<Vec<u8>>>,
}

impl OtlpSettings {
    /// To `traces_endpoint`, with the defaults: no headers, `service.name` s3proxy,
    /// parent-based always-on sampling, a 10 s export timeout, the system's roots.
    pub fn new(traces_endpoint: impl Into<String>) -> OtlpSettings {
        OtlpSettings {
            traces_endpoint: traces_endpoint.into(),
            headers: Vec::new(),
            service_name: "s3proxy".into(),
            sampler: Sampler::ParentBasedAlwaysOn,
            timeout: Duration::from_secs(10),
            tls_roots: None,
        }
    }
}

impl std::fmt::Debug for OtlpSettings {
    // Header values are credentials; an endpoint may hold some too.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSettings")
            .field("traces_endpoint", &"<redacted>")
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("service_name", &self.service_name)
            .field("sampler", &self.sampler)
            .field("timeout", &self.timeout)
            .field("tls_roots", &self.tls_roots.as_ref().map(Vec::len))
            .finish()
    }
}

/// OpenTelemetry's standard samplers (`OTEL_TRACES_SAMPLER`), for the OTLP spans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// `always_on`: every trace.
    AlwaysOn,
    /// `always_off`: none.
    AlwaysOff,
    /// `traceidratio`: this share of traces (0 to 1), chosen by trace id.
    TraceIdRatio(f64),
    /// `parentbased_always_on` (the default): the caller's decision, else every trace.
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`: the caller's decision, else none.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`: the caller's decision, else this share of traces.
    ParentBasedTraceIdRatio(f64),
}
