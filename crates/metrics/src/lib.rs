//! The Prometheus metrics of s3proxy: recorded on the request path with nothing but
//! atomic additions (no lock, no allocation), rendered in the text exposition format on
//! demand.
//!
//! Metric families, with every label value from a fixed set (no path, key or user):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `s3proxy_http_requests_total` | counter | `method` (`GET`, `HEAD`, `other`), `status` |
//! | `s3proxy_http_request_duration_seconds` | histogram, to the response head | `method` |
//! | `s3proxy_http_response_body_bytes_total` | counter of object bytes sent | |
//! | `s3proxy_http_requests_in_flight` | gauge | |
//! | `s3proxy_upstream_request_duration_seconds` | histogram | `upstream` (`s3`, `redis`, `sso`), `outcome` (`ok`, `error`) |
//! | `s3proxy_sso_logins_total` | counter | `stage` (`started`, `completed`, `failed`) |
//! | `s3proxy_sso_token_checks_total` | counter | `result` (`accepted`, `rejected`, `failed`) |
//! | `s3proxy_session_cache_lookups_total` | counter | `result` (`hit`, `miss`, `off`) |
//! | `s3proxy_session_cache_invalidations_total` | counter | |
//! | `s3proxy_xray_segments_dropped_total` | counter, only with X-Ray on | |
//! | `process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds` | gauge, counter, gauge | |
//!
//! Why not a registry crate: the ones that render this format take a lock on every
//! histogram observation, and the request path here must not.
//!
//! ```
//! use std::time::Duration;
//! use s3proxy_metrics::{LoginStage, Method, Metrics, Outcome, Upstream};
//!
//! let metrics = std::sync::Arc::new(Metrics::default());
//! let in_flight = metrics.request_started();
//! metrics.upstream(Upstream::Redis, Outcome::Ok, Duration::from_micros(300));
//! metrics.login(LoginStage::Started);
//! metrics.response(Method::Get, 302, Duration::from_millis(2));
//! drop(in_flight);
//!
//! let text = metrics.render();
//! assert!(text.contains("s3proxy_http_requests_total{method=\"GET\",status=\"302\"} 1\n"));
//! assert!(text.contains("s3proxy_sso_logins_total{stage=\"started\"} 1\n"));
//! assert!(text.contains("s3proxy_http_requests_in_flight 0\n"));
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod histogram;
mod process;
mod render;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use histogram::Histogram;

/// The method label: anything but GET and HEAD is `other` (and answered 405).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// Any other method.
    Other,
}

impl Method {
    const ALL: [Method; 3] = [Method::Get, Method::Head, Method::Other];

    fn label(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Other => "other",
        }
    }
}

/// The upstream label: the services a request may wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// S3 (GetObject, HeadObject).
    S3,
    /// The session store.
    Redis,
    /// The SSO (token exchange and checks).
    Sso,
}

impl Upstream {
    const ALL: [Upstream; 3] = [Upstream::S3, Upstream::Redis, Upstream::Sso];

    fn label(self) -> &'static str {
        match self {
            Upstream::S3 => "s3",
            Upstream::Redis => "redis",
            Upstream::Sso => "sso",
        }
    }
}

/// `Ok`: an answer the proxy can use (S3's 304, 404, 412 and 416, the SSO's 401 and
/// 403 included). `Error`: a timeout, a network failure, an unusable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer the proxy can use.
    Ok,
    /// A timeout, a network failure, an unusable answer.
    Error,
}

impl Outcome {
    const ALL: [Outcome; 2] = [Outcome::Ok, Outcome::Error];

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        }
    }
}

/// Where a sign-in got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStage {
    /// Sent to the SSO.
    Started,
    /// A session was created.
    Completed,
    /// Unknown state, code refused, or the exchange failed.
    Failed,
}

impl LoginStage {
    const ALL: [LoginStage; 3] = [
        LoginStage::Started,
        LoginStage::Completed,
        LoginStage::Failed,
    ];

    fn label(self) -> &'static str {
        match self {
            LoginStage::Started => "started",
            LoginStage::Completed => "completed",
            LoginStage::Failed => "failed",
        }
    }
}

/// What the SSO said of a session's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// The token is still good.
    Accepted,
    /// The SSO refused it (401 or 403): the person signs in again.
    Rejected,
    /// No usable answer from the SSO.
    Failed,
}

impl TokenCheck {
    const ALL: [TokenCheck; 3] = [
        TokenCheck::Accepted,
        TokenCheck::Rejected,
        TokenCheck::Failed,
    ];

    fn label(self) -> &'static str {
        match self {
            TokenCheck::Accepted => "accepted",
            TokenCheck::Rejected => "rejected",
            TokenCheck::Failed => "failed",
        }
    }
}

/// Where a signed-in request's session was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheLookup {
    /// In this instance's session cache: no Redis round trip.
    Hit,
    /// Not cached: read from Redis (and cached).
    Miss,
    /// The cache is off until Redis tracking is re-established: read from Redis.
    Off,
}

impl CacheLookup {
    const ALL: [CacheLookup; 3] = [CacheLookup::Hit, CacheLookup::Miss, CacheLookup::Off];

    fn label(self) -> &'static str {
        match self {
            CacheLookup::Hit => "hit",
            CacheLookup::Miss => "miss",
            CacheLookup::Off => "off",
        }
    }
}

/// Status codes 100 to 599 are counted one by one (HTTP has no others).
const FIRST_STATUS: u16 = 100;
const STATUSES: usize = 500;

/// Every metric of the service. Share it in an `Arc`.
pub struct Metrics {
    requests: [[AtomicU64; STATUSES]; 3],
    request_duration: [Histogram; 3],
    body_bytes: AtomicU64,
    in_flight: AtomicI64,
    upstream: [[Histogram; 2]; 3],
    logins: [AtomicU64; 3],
    token_checks: [AtomicU64; 3],
    access_denied: AtomicU64,
    sign_outs: AtomicU64,
    cache_lookups: [AtomicU64; 3],
    cache_invalidations: AtomicU64,
    /// Counted by the X-Ray sender, which knows nothing of this crate.
    xray_dropped: OnceLock<Arc<AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            request_duration: std::array::from_fn(|_| Histogram::default()),
            body_bytes: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
            upstream: std::array::from_fn(|_| std::array::from_fn(|_| Histogram::default())),
            logins: std::array::from_fn(|_| AtomicU64::new(0)),
            token_checks: std::array::from_fn(|_| AtomicU64::new(0)),
            access_denied: AtomicU64::new(0),
            sign_outs: AtomicU64::new(0),
            cache_lookups: std::array::from_fn(|_| AtomicU64::new(0)),
            cache_invalidations: AtomicU64::new(0),
            xray_dropped: OnceLock::new(),
        }
    }
}

/// Counts a request in flight until dropped.
pub struct InFlightGuard(Arc<Metrics>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl InFlightGuard {
    /// Object body bytes sent for this request.
    pub fn body_sent(&self, bytes: u64) {
        if bytes > 0 {
            self.0.body_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

impl Metrics {
    /// A request arrived; it is in flight until the guard drops.
    pub fn request_started(self: &Arc<Self>) -> InFlightGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(self.clone())
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// A response head is ready, `elapsed` after the request arrived.
    pub fn response(&self, method: Method, status: u16, elapsed: Duration) {
        let m = method as usize;
        if let Some(counter) = status
            .checked_sub(FIRST_STATUS)
            .and_then(|i| self.requests[m].get(usize::from(i)))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.request_duration[m].observe(elapsed);
    }

    /// A call to S3, Redis or the SSO took `elapsed`.
    pub fn upstream(&self, upstream: Upstream, outcome: Outcome, elapsed: Duration) {
        self.upstream[upstream as usize][outcome as usize].observe(elapsed);
    }

    /// A sign-in reached `stage`.
    pub fn login(&self, stage: LoginStage) {
        self.logins[stage as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A session's token was checked with the SSO.
    pub fn token_check(&self, result: TokenCheck) {
        self.token_checks[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The access rules refused a signed-in request.
    pub fn access_denied(&self) {
        self.access_denied.fetch_add(1, Ordering::Relaxed);
    }

    /// A request to `/__sign_out`.
    pub fn signed_out(&self) {
        self.sign_outs.fetch_add(1, Ordering::Relaxed);
    }

    /// A signed-in request's session was looked up in the session cache.
    pub fn cache_lookup(&self, result: CacheLookup) {
        self.cache_lookups[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Redis's invalidations dropped `entries` cached sessions.
    pub fn cache_invalidations(&self, entries: u64) {
        self.cache_invalidations
            .fetch_add(entries, Ordering::Relaxed);
    }

    /// Renders `counter` as `s3proxy_xray_segments_dropped_total` from now on (set
    /// once, at start-up, when X-Ray is on).
    pub fn report_xray_dropped(&self, counter: Arc<AtomicU64>) {
        let _ = self.xray_dropped.set(counter);
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        render::render(self)
    }
}

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_method_and_status() {
        let m = Metrics::default();
        m.response(Method::Get, 200, Duration::from_millis(3));
        m.response(Method::Get, 200, Duration::from_millis(3));
        m.response(Method::Head, 404, Duration::from_millis(1));
        m.response(Method::Other, 405, Duration::ZERO);
        m.response(Method::Get, 42, Duration::ZERO);
        let text = m.render();
        assert!(text.contains("s3proxy_http_requests_total{method=\"GET\",status=\"200\"} 2\n"));
        assert!(text.contains("s3proxy_http_requests_total{method=\"HEAD\",status=\"404\"} 1\n"));
        assert!(text.contains("s3proxy_http_requests_total{method=\"other\",status=\"405\"} 1\n"));
        assert!(!text.contains("status=\"42\""));
        assert!(text.contains("s3proxy_http_request_duration_seconds_count{method=\"GET\"} 3\n"));
    }

    #[test]
    fn session_cache_lookups_and_invalidations_are_counted() {
        let m = Metrics::default();
        m.cache_lookup(CacheLookup::Hit);
        m.cache_lookup(CacheLookup::Hit);
        m.cache_lookup(CacheLookup::Miss);
        m.cache_invalidations(3);
        m.cache_invalidations(1);
        let text = m.render();
        assert!(text.contains("s3proxy_session_cache_lookups_total{result=\"hit\"} 2\n"));
        assert!(text.contains("s3proxy_session_cache_lookups_total{result=\"miss\"} 1\n"));
        assert!(text.contains("s3proxy_session_cache_lookups_total{result=\"off\"} 0\n"));
        assert!(text.contains("s3proxy_session_cache_invalidations_total 4\n"));
    }

    #[test]
    fn in_flight_and_body_bytes() {
        let m = Arc::new(Metrics::default());
        let a = m.request_started();
        let b = m.request_started();
        assert!(m.render().contains("s3proxy_http_requests_in_flight 2\n"));
        a.body_sent(1000);
        b.body_sent(24);
        drop((a, b));
        let text = m.render();
        assert!(text.contains("s3proxy_http_requests_in_flight 0\n"));
        assert!(text.contains("s3proxy_http_response_body_bytes_total 1024\n"));
    }

    #[test]
    fn every_label_set_of_the_small_families_is_present_from_the_start() {
        let text = Metrics::default().render();
        for stage in ["started", "completed", "failed"] {
            assert!(text.contains(&format!(
                "s3proxy_sso_logins_total{{stage=\"{stage}\"}} 0\n"
            )));
        }
        for result in ["accepted", "rejected", "failed"] {
            assert!(text.contains(&format!(
                "s3proxy_sso_token_checks_total{{result=\"{result}\"}} 0\n"
            )));
        }
        for result in ["hit", "miss", "off"] {
            assert!(text.contains(&format!(
                "s3proxy_session_cache_lookups_total{{result=\"{result}\"}} 0\n"
            )));
        }
        assert!(text.contains("s3proxy_session_cache_invalidations_total 0\n"));
        for upstream in ["s3", "redis", "sso"] {
            for outcome in ["ok", "error"] {
                assert!(text.contains(&format!(
                    "s3proxy_upstream_request_duration_seconds_count{{upstream=\"{upstream}\",outcome=\"{outcome}\"}} 0\n"
                )));
            }
        }
    }

    #[test]
    fn the_xray_counter_shows_only_once_given() {
        let m = Metrics::default();
        assert!(!m.render().contains("s3proxy_xray_segments_dropped_total"));
        let counter = Arc::new(AtomicU64::new(0));
        m.report_xray_dropped(counter.clone());
        counter.fetch_add(3, Ordering::Relaxed);
        let text = m.render();
        assert!(text.contains("# TYPE s3proxy_xray_segments_dropped_total counter\n"));
        assert!(text.contains("\ns3proxy_xray_segments_dropped_total 3\n"));
    }

    #[test]
    fn each_family_has_help_and_type() {
        let text = Metrics::default().render();
        for (name, kind) in [
            ("s3proxy_http_requests_total", "counter"),
            ("s3proxy_http_request_duration_seconds", "histogram"),
            ("s3proxy_http_response_body_bytes_total", "counter"),
            ("s3proxy_http_requests_in_flight", "gauge"),
            ("s3proxy_upstream_request_duration_seconds", "histogram"),
            ("s3proxy_sso_logins_total", "counter"),
            ("s3proxy_sso_token_checks_total", "counter"),
            ("s3proxy_access_denied_total", "counter"),
            ("s3proxy_sign_outs_total", "counter"),
            ("s3proxy_session_cache_lookups_total", "counter"),
            ("s3proxy_session_cache_invalidations_total", "counter"),
            ("process_resident_memory_bytes", "gauge"),
            ("process_cpu_seconds_total", "counter"),
            ("process_open_fds", "gauge"),
        ] {
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
    }
}
