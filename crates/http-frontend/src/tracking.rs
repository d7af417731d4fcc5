//! What the server keeps count of while responses are out: in-flight responses (for
//! shutdown), per-connection progress (for the idle-client cut) and the access log line.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Counts responses from the moment a request arrives until its body is finished or
/// dropped. Shutdown waits for this to reach zero.
#[derive(Clone, Default)]
pub struct InFlight(Arc<InFlightInner>);

#[derive(Default)]
struct InFlightInner {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    pub fn start(&self) -> InFlightGuard {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.count.load(Ordering::SeqCst)
    }

    /// Resolves once no response is in flight.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            tokio::pin!(notified);
            // Register before checking, so a decrement between the check and the await
            // is not missed.
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Held by a response until its body is done.
pub struct InFlightGuard(Arc<InFlightInner>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Progress of object bodies on one connection: a body that makes no progress for the
/// idle timeout means the client stopped reading (or S3 stopped sending).
pub struct ConnActivity {
    epoch: Instant,
    streaming: AtomicUsize,
    last_progress_ms: AtomicU64,
}

impl ConnActivity {
    pub fn new() -> Arc<ConnActivity> {
        Arc::new(ConnActivity {
            epoch: Instant::now(),
            streaming: AtomicUsize::new(0),
            last_progress_ms: AtomicU64::new(0),
        })
    }

    pub fn body_started(self: &Arc<Self>) -> StreamingGuard {
        self.progress();
        self.streaming.fetch_add(1, Ordering::SeqCst);
        StreamingGuard(self.clone())
    }

    pub fn progress(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_progress_ms.store(ms, Ordering::Relaxed);
    }

    /// A body is out and nothing moved for `limit`.
    pub fn stalled_for(&self, limit: Duration) -> bool {
        if self.streaming.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let last = Duration::from_millis(self.last_progress_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last) >= limit
    }
}

pub struct StreamingGuard(Arc<ConnActivity>);

impl StreamingGuard {
    pub fn progress(&self) {
        self.0.progress();
    }
}

impl Drop for StreamingGuard {
    fn drop(&mut self) {
        self.0.streaming.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One access log line, written when the response is finished (or abandoned), so it can
/// give the bytes sent and the full duration. Holds the path only: queries can carry an
/// authorization code.
pub struct AccessLog {
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
            "{} {} {} {} bytes {:.1} ms{}",
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

    #[tokio::test]
    async fn wait_idle_returns_when_the_last_guard_drops() {
        let inflight = InFlight::default();
        let a = inflight.start();
        let b = inflight.start();
        let waiter = tokio::spawn({
            let inflight = inflight.clone();
            async move { inflight.wait_idle().await }
        });
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn stalls_only_count_while_a_body_is_out() {
        let activity = ConnActivity::new();
        assert!(!activity.stalled_for(Duration::ZERO));
        let guard = activity.body_started();
        assert!(activity.stalled_for(Duration::ZERO));
        assert!(!activity.stalled_for(Duration::from_secs(60)));
        drop(guard);
        assert!(!activity.stalled_for(Duration::ZERO));
    }
}
