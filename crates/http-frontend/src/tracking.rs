//! What the server keeps count of while responses are out: in-flight responses (for
//! shutdown) and the access log line.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Counts responses from the moment a request arrives until its body is finished or
/// dropped.
#[derive(Clone, Default)]
pub struct InFlight(Arc<InFlightInner>);

#[derive(Default)]
struct InFlightInner {
    count: AtomicUsize,
}

impl InFlight {
    pub fn start(&self) -> InFlightGuard {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.count.load(Ordering::SeqCst)
    }
}

/// Held by a response until its body is done.
pub struct InFlightGuard(Arc<InFlightInner>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One access log line, written when the response is finished (or abandoned), so it can
/// give the bytes sent and the full duration. Holds the path only: queries can carry an
/// authorization code.
pub struct AccessLog {
    /// The client as the trusted balancer saw it (see `FORWARDED_HOPS`).
    pub client: IpAddr,
    pub method: http::Method,
    pub path: String,
    pub status: u16,
    pub bytes: u64,
    pub started: Instant,
    pub complete: bool,
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        log::info!(
            target: "access",
            "{} {} {} {} {} bytes {:.1} ms{}",
            self.client,
            self.method,
            self.path.escape_debug(),
            self.status,
            self.bytes,
            self.started.elapsed().as_secs_f64() * 1000.0,
            if self.complete { "" } else { " (incomplete)" },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_responses_until_their_guard_drops() {
        let inflight = InFlight::default();
        let a = inflight.start();
        let b = inflight.start();
        assert_eq!(inflight.count(), 2);
        drop(a);
        assert_eq!(inflight.count(), 1);
        drop(b);
        assert_eq!(inflight.count(), 0);
    }
}
