//! The Prometheus text exposition format.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::histogram::{Histogram, BOUNDS};
use crate::{
    process, CacheLookup, LoginStage, Method, Metrics, Outcome, TokenCheck, Upstream, FIRST_STATUS,
};

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A counter without labels: its header and its one line.
fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

/// One histogram's lines; `labels` is `k="v",...` (without braces), possibly empty.
fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let s = h.snapshot();
    let sep = if labels.is_empty() { "" } else { "," };
    for (bound, count) in BOUNDS.iter().zip(s.cumulative) {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", s.count);
    let braces = |l: &str| {
        if l.is_empty() {
            String::new()
        } else {
            format!("{{{l}}}")
        }
    };
    let _ = writeln!(out, "{name}_sum{} {}", braces(labels), s.sum_seconds);
    let _ = writeln!(out, "{name}_count{} {}", braces(labels), s.count);
}

pub(crate) fn render(m: &Metrics) -> String {
    let mut out = String::with_capacity(8 * 1024);

    header(
        &mut out,
        "s3proxy_http_requests_total",
        "counter",
        "Requests answered, by method and status.",
    );
    for method in Method::ALL {
        for (i, counter) in m.requests[method as usize].iter().enumerate() {
            let n = counter.load(Ordering::Relaxed);
            if n > 0 {
                let status = FIRST_STATUS as usize + i;
                let _ = writeln!(
                    out,
                    "s3proxy_http_requests_total{{method=\"{}\",status=\"{status}\"}} {n}",
                    method.label()
                );
            }
        }
    }

    let name = "s3proxy_http_request_duration_seconds";
    header(
        &mut out,
        name,
        "histogram",
        "Time from a request's arrival to its response head.",
    );
    for method in Method::ALL {
        let labels = format!("method=\"{}\"", method.label());
        histogram(
            &mut out,
            name,
            &labels,
            &m.request_duration[method as usize],
        );
    }

    counter(
        &mut out,
        "s3proxy_http_response_body_bytes_total",
        "Object body bytes sent to clients.",
        m.body_bytes.load(Ordering::Relaxed),
    );

    header(
        &mut out,
        "s3proxy_http_requests_in_flight",
        "gauge",
        "Requests whose response is not finished.",
    );
    let _ = writeln!(out, "s3proxy_http_requests_in_flight {}", m.in_flight());

    let name = "s3proxy_upstream_request_duration_seconds";
    header(
        &mut out,
        name,
        "histogram",
        "Calls to S3, Redis and the SSO, by outcome (error: timeout, network failure or unusable answer).",
    );
    for upstream in Upstream::ALL {
        for outcome in Outcome::ALL {
            let labels = format!(
                "upstream=\"{}\",outcome=\"{}\"",
                upstream.label(),
                outcome.label()
            );
            histogram(
                &mut out,
                name,
                &labels,
                &m.upstream[upstream as usize][outcome as usize],
            );
        }
    }

    header(
        &mut out,
        "s3proxy_sso_logins_total",
        "counter",
        "Sign-ins by stage: started (sent to the SSO), completed (session created), failed.",
    );
    for stage in LoginStage::ALL {
        let _ = writeln!(
            out,
            "s3proxy_sso_logins_total{{stage=\"{}\"}} {}",
            stage.label(),
            m.logins[stage as usize].load(Ordering::Relaxed)
        );
    }

    header(
        &mut out,
        "s3proxy_sso_token_checks_total",
        "counter",
        "Checks of a session's token with the SSO, by result.",
    );
    for result in TokenCheck::ALL {
        let _ = writeln!(
            out,
            "s3proxy_sso_token_checks_total{{result=\"{}\"}} {}",
            result.label(),
            m.token_checks[result as usize].load(Ordering::Relaxed)
        );
    }

    counter(
        &mut out,
        "s3proxy_access_denied_total",
        "Signed-in requests the access rules refused (403).",
        m.access_denied.load(Ordering::Relaxed),
    );

    counter(
        &mut out,
        "s3proxy_sign_outs_total",
        "Requests to /__sign_out.",
        m.sign_outs.load(Ordering::Relaxed),
    );

    header(
        &mut out,
        "s3proxy_session_cache_lookups_total",
        "counter",
        "Sessions of signed-in requests, by where they were found: hit (this instance's cache, no Redis round trip), miss (read from Redis, then cached), off (cache off until Redis tracking is back: read from Redis).",
    );
    for result in CacheLookup::ALL {
        let _ = writeln!(
            out,
            "s3proxy_session_cache_lookups_total{{result=\"{}\"}} {}",
            result.label(),
            m.cache_lookups[result as usize].load(Ordering::Relaxed)
        );
    }

    counter(
        &mut out,
        "s3proxy_session_cache_invalidations_total",
        "Cached sessions dropped because Redis said their keys changed, expired or were flushed.",
        m.cache_invalidations.load(Ordering::Relaxed),
    );

    if let Some(dropped) = m.xray_dropped.get() {
        counter(
            &mut out,
            "s3proxy_xray_segments_dropped_total",
            "X-Ray segments the socket refused (the daemon absent, or too slow).",
            dropped.load(Ordering::Relaxed),
        );
    }

    let p = process::read();
    if let Some(bytes) = p.resident_bytes {
        header(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
    if let Some(seconds) = p.cpu_seconds {
        header(
            &mut out,
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
        );
        let _ = writeln!(out, "process_cpu_seconds_total {seconds}");
    }
    if let Some(fds) = p.open_fds {
        header(
            &mut out,
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
        );
        let _ = writeln!(out, "process_open_fds {fds}");
    }
    out
}
