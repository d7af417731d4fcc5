//! The tracer: the exporters that are on, their sampling, and the hand-off to them.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use crate::ids::{SpanId, TraceId};
use crate::otlp::Otlp;
use crate::request::{Active, CallRecord, Ending};
use crate::sampling::XrayRule;
use crate::settings::TraceSettings;
use crate::xray::Xray;

/// Why tracing could not start.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The X-Ray daemon's address (the message never repeats it).
    #[error("the X-Ray daemon's address: {0}")]
    XrayDaemon(String),
    /// The OTLP exporter.
    #[error("the OTLP exporter: {0}")]
    Otlp(String),
}

/// Sends request traces to the exporters that are on. Cheap to clone.
#[derive(Clone)]
pub struct Tracer(Arc<Shared>);

struct Shared {
    xray: Option<(Xray, XrayRule)>,
    otlp: Option<Otlp>,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("xray", &self.0.xray.is_some())
            .field("otlp", &self.0.otlp.is_some())
            .finish()
    }
}

impl Tracer {
    /// Starts the exporters of `settings`; `None` when neither is on. Must run inside
    /// the Tokio runtime that will serve requests (OTLP exports run on it).
    pub async fn start(settings: TraceSettings) -> Result<Option<Tracer>, TraceError> {
        if settings.xray.is_none() && settings.otlp.is_none() {
            return Ok(None);
        }
        let xray = match settings.xray {
            Some(x) => Some((Xray::start(x).await?, XrayRule::default())),
            None => None,
        };
        let otlp = settings.otlp.map(Otlp::start).transpose()?;
        Ok(Some(Tracer(Arc::new(Shared { xray, otlp }))))
    }

    /// Segments the X-Ray daemon did not take (the socket refused them); `None` when
    /// X-Ray is off.
    pub fn xray_dropped(&self) -> Option<Arc<AtomicU64>> {
        self.0.xray.as_ref().map(|(x, _)| x.dropped())
    }

    /// Sends the spans still queued for the OTLP collector, for up to `timeout`. Call
    /// it once, at exit, outside the runtime but before it is shut down.
    pub fn shutdown(&self, timeout: Duration) {
        if let Some(otlp) = &self.0.otlp {
            otlp.shutdown(timeout);
        }
    }

    /// X-Ray's decision: the caller's, else the local rule; `None` when X-Ray is off.
    pub(crate) fn xray_decision(&self, decided: Option<bool>, second: u64) -> Option<bool> {
        let (_, rule) = self.0.xray.as_ref()?;
        Some(decided.unwrap_or_else(|| rule.sample(second)))
    }

    /// OpenTelemetry's decision, by the configured sampler; `None` when OTLP is off.
    pub(crate) fn otlp_decision(
        &self,
        trace_id: &TraceId,
        parent: Option<SpanId>,
        decided: Option<bool>,
        route: &str,
    ) -> Option<bool> {
        let otlp = self.0.otlp.as_ref()?;
        Some(otlp.sample(trace_id, parent, decided, route))
    }

    pub(crate) fn export(&self, active: &Active, calls: &[CallRecord], ending: &Ending) {
        if active.xray_sampled {
            if let Some((xray, _)) = &self.0.xray {
                xray.send(active, calls, ending);
            }
        }
        if active.otlp_sampled {
            if let Some(otlp) = &self.0.otlp {
                otlp.export(active, calls, ending);
            }
        }
    }
}
