//! OpenTelemetry spans over OTLP/HTTP, with the OpenTelemetry SDK's sampler, batch
//! processor and OTLP exporter.
//!
//! The spans are made from the request's record when it ends, with the trace's own
//! ids (the SDK's tracer would draw new ones), and handed to the batch processor:
//! a bounded queue drained by the SDK's own thread, which drops spans rather than wait
//! when the collector is slow or away. The HTTP calls run on the service's runtime
//! with the workspace's reqwest client.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry::trace::{
    SpanContext, SpanId as OtelSpanId, SpanKind, Status, TraceContextExt, TraceFlags,
    TraceId as OtelTraceId, TraceState,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler as SdkSampler, SamplingDecision, ShouldSample,
    SpanData, SpanEvents, SpanLinks, SpanProcessor,
};
use opentelemetry_sdk::Resource;

use crate::ids::{SpanId, TraceId};
use crate::request::{Active, CallKind, CallRecord, Ending, Outcome};
use crate::settings::{OtlpSettings, Sampler};
use crate::tracer::TraceError;

/// Spans waiting for the collector, at most; beyond, new ones are dropped.
const QUEUE: usize = 2048;
/// Spans sent at least this often (and whenever a batch is full).
const EXPORT_EVERY: Duration = Duration::from_secs(1);
const BATCH: usize = 512;

pub(crate) struct Otlp {
    processor: BatchSpanProcessor,
    sampler: SdkSampler,
    scope: InstrumentationScope,
}

impl Otlp {
    pub fn start(settings: OtlpSettings) -> Result<Otlp, TraceError> {
        let failed = |e: &dyn std::fmt::Display| TraceError::Otlp(e.to_string());
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| failed(&e))?;
        let mut client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)));
        if let Some(roots) = &settings.tls_roots {
            let roots = roots
                .iter()
                .map(|der| reqwest::Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| failed(&e))?;
            client = client.tls_certs_only(roots);
        }
        let client = client.build().map_err(|e| failed(&e))?;
        let headers: HashMap<String, String> = settings.headers.into_iter().collect();
        let endpoint = settings.traces_endpoint;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(OnRuntime { client, runtime })
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(settings.timeout)
            .with_headers(headers)
            .build()
            // The SDK's messages never hold a header's value, but may quote the endpoint,
            // which can carry credentials.
            .map_err(|e| failed(&e.to_string().replace(&endpoint, "<endpoint>")))?;
        let batches = BatchConfigBuilder::default()
            .with_max_queue_size(QUEUE)
            .with_max_export_batch_size(BATCH)
            .with_scheduled_delay(EXPORT_EVERY)
            .build();
        let mut processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batches)
            .build();
        processor.set_resource(
            &Resource::builder_empty()
                .with_service_name(settings.service_name)
                .build(),
        );
        Ok(Otlp {
            processor,
            sampler: sdk_sampler(settings.sampler),
            scope: InstrumentationScope::builder("s3proxy")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        })
    }

    /// The configured sampler's decision, given the caller's when it made one.
    pub fn sample(
        &self,
        trace_id: &TraceId,
        parent: Option<SpanId>,
        decided: Option<bool>,
        route: &str,
    ) -> bool {
        let parent_context = match (parent, decided) {
            (Some(parent), Some(sampled)) => {
                Context::new().with_remote_span_context(SpanContext::new(
                    otel_trace_id(trace_id),
                    otel_span_id(&parent),
                    if sampled {
                        TraceFlags::SAMPLED
                    } else {
                        TraceFlags::default()
                    },
                    true,
                    TraceState::NONE,
                ))
            }
            // No decision to follow: the sampler's root rule decides.
            _ => Context::new(),
        };
        let result = self.sampler.should_sample(
            Some(&parent_context),
            otel_trace_id(trace_id),
            route,
            &SpanKind::Server,
            &[],
            &[],
        );
        result.decision == SamplingDecision::RecordAndSample
    }

    /// The request's server span and a client span per call, to the batch queue.
    pub fn export(&self, a: &Active, calls: &[CallRecord], ending: &Ending) {
        let Some(fields) = &a.fields else {
            return;
        };
        let trace_id = otel_trace_id(&a.trace_id);
        let mut attributes = vec![
            KeyValue::new("http.request.method", fields.method.clone()),
            KeyValue::new("url.full", fields.url.clone()),
            KeyValue::new("http.route", fields.route),
            KeyValue::new("client.address", fields.client_ip.to_string()),
            KeyValue::new("http.response.status_code", i64::from(ending.status)),
        ];
        if let Some(agent) = &fields.user_agent {
            attributes.push(KeyValue::new("user_agent.original", agent.clone()));
        }
        if let Some(length) = ending.content_length {
            attributes.push(KeyValue::new(
                "http.response.body.size",
                i64::try_from(length).unwrap_or(i64::MAX),
            ));
        }
        // A server span is an error for 5xx only: a 4xx is the client's.
        let status = if ending.status >= 500 {
            Status::error("")
        } else {
            Status::Unset
        };
        self.processor.on_end(self.span(SpanParts {
            trace_id,
            id: &a.id,
            parent: a.parent.as_ref(),
            parent_is_remote: true,
            kind: SpanKind::Server,
            name: format!("{} {}", fields.method, fields.route).into(),
            start: a.start,
            end: ending.end,
            attributes,
            status,
        }));
        for call in calls {
            self.processor.on_end(self.call_span(trace_id, &a.id, call));
        }
    }

    fn call_span(&self, trace_id: OtelTraceId, parent: &SpanId, call: &CallRecord) -> SpanData {
        let (name, mut attributes): (Cow<'static, str>, Vec<KeyValue>) = match &call.kind {
            CallKind::S3 { operation, bucket } => (
                format!("S3.{operation}").into(),
                vec![
                    KeyValue::new("rpc.system", "aws-api"),
                    KeyValue::new("rpc.service", "S3"),
                    KeyValue::new("rpc.method", *operation),
                    KeyValue::new("aws.s3.bucket", bucket.clone()),
                ],
            ),
            CallKind::Redis => (
                "redis".into(),
                vec![KeyValue::new("db.system.name", "redis")],
            ),
            CallKind::Sso => ("SSO".into(), vec![KeyValue::new("peer.service", "sso")]),
        };
        // A client span is an error for any refusal (4xx) or failure.
        let status = match call.outcome {
            Outcome::Status(status) => {
                attributes.push(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
                if status >= 400 {
                    Status::error("")
                } else {
                    Status::Unset
                }
            }
            Outcome::Ok => Status::Unset,
            Outcome::Failed => Status::error(""),
        };
        self.span(SpanParts {
            trace_id,
            id: &call.id,
            parent: Some(parent),
            parent_is_remote: false,
            kind: SpanKind::Client,
            name,
            start: call.start,
            end: call.end,
            attributes,
            status,
        })
    }

    fn span(&self, p: SpanParts<'_>) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                p.trace_id,
                otel_span_id(p.id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: p.parent.map_or(OtelSpanId::INVALID, otel_span_id),
            parent_span_is_remote: p.parent.is_some() && p.parent_is_remote,
            span_kind: p.kind,
            name: p.name,
            start_time: p.start,
            end_time: p.end,
            attributes: p.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: p.status,
            instrumentation_scope: self.scope.clone(),
        }
    }

    pub fn shutdown(&self, timeout: Duration) {
        if let Err(e) = self.processor.shutdown_with_timeout(timeout) {
            log::warn!("OTLP spans not all sent at exit: {e}");
        }
    }
}

struct SpanParts<'a> {
    trace_id: OtelTraceId,
    id: &'a SpanId,
    parent: Option<&'a SpanId>,
    parent_is_remote: bool,
    kind: SpanKind,
    name: Cow<'static, str>,
    start: std::time::SystemTime,
    end: std::time::SystemTime,
    attributes: Vec<KeyValue>,
    status: Status,
}

fn otel_trace_id(id: &TraceId) -> OtelTraceId {
    OtelTraceId::from_bytes(id.0)
}

fn otel_span_id(id: &SpanId) -> OtelSpanId {
    OtelSpanId::from_bytes(id.0)
}

fn sdk_sampler(sampler: Sampler) -> SdkSampler {
    match sampler {
        Sampler::AlwaysOn => SdkSampler::AlwaysOn,
        Sampler::AlwaysOff => SdkSampler::AlwaysOff,
        Sampler::TraceIdRatio(ratio) => SdkSampler::TraceIdRatioBased(ratio),
        Sampler::ParentBasedAlwaysOn => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOn)),
        Sampler::ParentBasedAlwaysOff => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOff)),
        Sampler::ParentBasedTraceIdRatio(ratio) => {
            SdkSampler::ParentBased(Box::new(SdkSampler::TraceIdRatioBased(ratio)))
        }
    }
}

/// The exporter's HTTP calls, on the service's runtime: the SDK's batch thread has no
/// runtime of its own, and waits on the spawned call instead.
#[derive(Debug)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}
