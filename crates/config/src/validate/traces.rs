//! The tracing variables: X-Ray's (`ENABLE_XRAY`, `AWS_XRAY_*`) and OpenTelemetry's
//! (`OTEL_*`). Read and checked whether or not tracing is on, so a typo shows before
//! the day it is turned on.

use std::time::Duration;

use super::{non_empty, Checker};
use crate::raw::RawEnv;
use crate::{OtlpConfig, TraceSampler, XrayConfig};

const DEFAULT_DAEMON: &str = "127.0.0.1:2000";
const DEFAULT_TRACING_NAME: &str = "S3Proxy";
const DEFAULT_SERVICE_NAME: &str = "s3proxy";
/// OpenTelemetry's default export timeout, and a bound that keeps a typo from meaning
/// "wait a day".
const DEFAULT_OTLP_TIMEOUT_MS: u64 = 10_000;
const MAX_OTLP_TIMEOUT_MS: u64 = 600_000;

/// The tracing variables of the environment, moved out of it.
pub(super) struct TraceVars {
    enable_xray: Option<String>,
    daemon_address: Option<String>,
    tracing_name: Option<String>,
    endpoint: Option<String>,
    traces_endpoint: Option<String>,
    headers: Option<String>,
    traces_headers: Option<String>,
    protocol: Option<String>,
    traces_protocol: Option<String>,
    compression: Option<String>,
    traces_compression: Option<String>,
    timeout: Option<String>,
    traces_timeout: Option<String>,
    service_name: Option<String>,
    sampler: Option<String>,
    sampler_arg: Option<String>,
}

impl TraceVars {
    pub(super) fn take(raw: &mut RawEnv) -> TraceVars {
        TraceVars {
            enable_xray: raw.enable_xray.take(),
            daemon_address: raw.aws_xray_daemon_address.take(),
            tracing_name: raw.aws_xray_tracing_name.take(),
            endpoint: raw.otel_exporter_otlp_endpoint.take(),
            traces_endpoint: raw.otel_exporter_otlp_traces_endpoint.take(),
            headers: raw.otel_exporter_otlp_headers.take(),
            traces_headers: raw.otel_exporter_otlp_traces_headers.take(),
            protocol: raw.otel_exporter_otlp_protocol.take(),
            traces_protocol: raw.otel_exporter_otlp_traces_protocol.take(),
            compression: raw.otel_exporter_otlp_compression.take(),
            traces_compression: raw.otel_exporter_otlp_traces_compression.take(),
            timeout: raw.otel_exporter_otlp_timeout.take(),
            traces_timeout: raw.otel_exporter_otlp_traces_timeout.take(),
            service_name: raw.otel_service_name.take(),
            sampler: raw.otel_traces_sampler.take(),
            sampler_arg: raw.otel_traces_sampler_arg.take(),
        }
    }
}

pub(super) fn xray(c: &mut Checker, vars: &mut TraceVars) -> Option<XrayConfig> {
    let enabled = c.flag("ENABLE_XRAY", vars.enable_xray.take(), false);
    let daemon_address = match non_empty(vars.daemon_address.take()) {
        None => DEFAULT_DAEMON.to_string(),
        Some(v) => daemon_udp_address(&v).unwrap_or_else(|| {
            c.problem(
                "AWS_XRAY_DAEMON_ADDRESS",
                "must be host:port, or \"tcp:host:port udp:host:port\"",
            );
            String::new()
        }),
    };
    let tracing_name = match non_empty(vars.tracing_name.take()) {
        None => DEFAULT_TRACING_NAME.to_string(),
        Some(v) => {
            if !is_segment_name(&v) {
                c.problem(
                    "AWS_XRAY_TRACING_NAME",
                    "must be 1 to 200 letters, digits, spaces or _ . : / % & # = + \\ - @",
                );
            }
            v
        }
    };
    enabled.then_some(XrayConfig {
        daemon_address,
        tracing_name,
    })
}

/// `host:port`, or the SDKs' `tcp:host:port udp:host:port` (either order), whose UDP
/// address is the one segments go to.
fn daemon_udp_address(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let address = match parts.as_slice() {
        [one] if !one.starts_with("tcp:") && !one.starts_with("udp:") => *one,
        [a, b] => {
            let udp = [a, b].into_iter().find_map(|p| p.strip_prefix("udp:"))?;
            let tcp = [a, b].into_iter().find_map(|p| p.strip_prefix("tcp:"))?;
            host_port(tcp)?;
            udp
        }
        _ => return None,
    };
    host_port(address)?;
    Some(address.to_string())
}

/// A host name, an IPv4 address or a bracketed IPv6 address, then a port from 1.
fn host_port(value: &str) -> Option<()> {
    let (host, port) = value.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        }
    };
    (port != 0 && host_ok).then_some(())
}

/// X-Ray's rule for segment names.
fn is_segment_name(name: &str) -> bool {
    (1..=200).contains(&name.chars().count())
        && name
            .chars()
            .all(|ch| ch.is_alphanumeric() || ch.is_whitespace() || "_.:/%&#=+\\-@".contains(ch))
}

pub(super) fn otlp(c: &mut Checker, vars: TraceVars) -> Option<OtlpConfig> {
    let traces_endpoint = match (non_empty(vars.traces_endpoint), non_empty(vars.endpoint)) {
        (Some(traces), base) => {
            if let Some(base) = base {
                c.http_url("OTEL_EXPORTER_OTLP_ENDPOINT", base);
            }
            Some(c.http_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces))
        }
        // The base URL gets the signal's path, as the specification says.
        (None, Some(base)) => {
            let base = c.http_url("OTEL_EXPORTER_OTLP_ENDPOINT", base);
            Some(format!("{}/v1/traces", base.trim_end_matches('/')))
        }
        (None, None) => None,
    };
    let headers = {
        let general = non_empty(vars.headers)
            .map(|v| headers(c, "OTEL_EXPORTER_OTLP_HEADERS", &v))
            .unwrap_or_default();
        match non_empty(vars.traces_headers) {
            Some(v) => headers(c, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", &v),
            None => general,
        }
    };
    for (variable, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", vars.protocol),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", vars.traces_protocol),
    ] {
        if non_empty(value).is_some_and(|v| v.trim() != "http/protobuf") {
            c.problem(variable, "only http/protobuf is supported");
        }
    }
    // The exporter reads these itself and would ignore a value it cannot honour.
    for (variable, value) in [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", vars.compression),
        (
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            vars.traces_compression,
        ),
    ] {
        if non_empty(value).is_some_and(|v| !v.trim().eq_ignore_ascii_case("none")) {
            c.problem(
                variable,
                "only none is supported (spans are sent uncompressed)",
            );
        }
    }
    let timeout = {
        let general = timeout_ms(c, "OTEL_EXPORTER_OTLP_TIMEOUT", vars.timeout);
        timeout_ms(c, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", vars.traces_timeout)
            .or(general)
            .unwrap_or(Duration::from_millis(DEFAULT_OTLP_TIMEOUT_MS))
    };
    let service_name =
        non_empty(vars.service_name).unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string());
    let sampler = sampler(c, vars.sampler, vars.sampler_arg);
    Some(OtlpConfig {
        traces_endpoint: traces_endpoint?,
        headers,
        service_name,
        sampler,
        timeout,
    })
}

/// `name=value,name=value`, values percent-decoded (W3C Baggage's form, as the
/// specification says). The message names the entry by position: values are secrets.
fn headers(c: &mut Checker, variable: &'static str, value: &str) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for (n, entry) in value.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let parsed = entry.split_once('=').and_then(|(name, value)| {
            let name = name.trim();
            if !escapes_well_formed(value) {
                return None;
            }
            let value = percent_encoding::percent_decode_str(value.trim())
                .decode_utf8()
                .ok()?;
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            let value_ok = value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
            (name_ok && value_ok).then(|| (name.to_string(), value.into_owned()))
        });
        match parsed {
            Some(header) => headers.push(header),
            None => c.problem(
                variable,
                format!(
                    "entry {} must be name=value (a header name, a printable value, %-escapes allowed)",
                    n + 1
                ),
            ),
        }
    }
    headers
}

/// Every `%` starts a two-digit hex escape (the OTLP exporter drops a header otherwise).
fn escapes_well_formed(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

fn timeout_ms(c: &mut Checker, variable: &'static str, value: Option<String>) -> Option<Duration> {
    let v = non_empty(value)?;
    match v.trim().parse::<u64>() {
        Ok(ms) if (1..=MAX_OTLP_TIMEOUT_MS).contains(&ms) => Some(Duration::from_millis(ms)),
        _ => {
            c.problem(
                variable,
                format!("must be a whole number of milliseconds from 1 to {MAX_OTLP_TIMEOUT_MS}"),
            );
            None
        }
    }
}

fn sampler(c: &mut Checker, name: Option<String>, arg: Option<String>) -> TraceSampler {
    let name = non_empty(name).map(|n| n.trim().to_ascii_lowercase());
    match name.as_deref() {
        None | Some("parentbased_always_on") => TraceSampler::ParentBasedAlwaysOn,
        Some("always_on") => TraceSampler::AlwaysOn,
        Some("always_off") => TraceSampler::AlwaysOff,
        Some("traceidratio") => TraceSampler::TraceIdRatio(ratio(c, arg)),
        Some("parentbased_always_off") => TraceSampler::ParentBasedAlwaysOff,
        Some("parentbased_traceidratio") => TraceSampler::ParentBasedTraceIdRatio(ratio(c, arg)),
        Some(_) => {
            c.problem(
                "OTEL_TRACES_SAMPLER",
                "must be one of always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off, parentbased_traceidratio",
            );
            TraceSampler::ParentBasedAlwaysOn
        }
    }
}

/// `OTEL_TRACES_SAMPLER_ARG` of a ratio sampler (other samplers ignore it, as the
/// specification says).
fn ratio(c: &mut Checker, arg: Option<String>) -> f64 {
    match non_empty(arg) {
        None => 1.0,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                c.problem("OTEL_TRACES_SAMPLER_ARG", "must be a number from 0 to 1");
                1.0
            }
        },
    }
}
