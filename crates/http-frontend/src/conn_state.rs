//! What one client connection is doing, for its watchdog: waiting for a request,
//! reading a request head, or answering; and whether its client still reads.
//!
//! hyper's own header read timeout also runs while a kept-alive connection waits for its
//! next request, which would close a load balancer's idle connections long before the
//! balancer does (and it would then answer 502 on the race). So the clocks are kept
//! here: the idle clock from the end of the last response, the head clock from the
//! first byte of a request head.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// No head is being read.
const NO_HEAD: u64 = u64::MAX;

pub struct ConnState {
    epoch: Instant,
    /// Requests whose response is not finished yet.
    answering: AtomicUsize,
    /// When the connection last became idle: accepted, or its last response finished.
    idle_since_ms: AtomicU64,
    /// When the first byte of the next request head arrived; `NO_HEAD` when none has.
    head_since_ms: AtomicU64,
    /// Object bodies being sent, and when one last moved.
    streaming: AtomicUsize,
    last_progress_ms: AtomicU64,
}

/// The limits a connection's watchdog enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Idle between requests (or before the first).
    pub keepalive: Duration,
    /// From the first byte of a request head to the whole head.
    pub header_read: Duration,
    /// A body that does not move (the client stopped reading).
    pub stalled_body: Duration,
}

/// Why the watchdog closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// No request within the keep-alive timeout.
    Idle,
    /// A request head started and did not finish within the header read timeout.
    SlowHead,
    /// A body was out and the client read nothing of it for the idle-client timeout.
    Stalled,
    /// Shutting down, and the drain window after this connection's last response passed.
    Drained,
}

impl ConnState {
    pub fn new() -> Arc<ConnState> {
        Arc::new(ConnState {
            epoch: Instant::now(),
            answering: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            head_since_ms: AtomicU64::new(NO_HEAD),
            streaming: AtomicUsize::new(0),
            last_progress_ms: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn since(&self, ms: u64) -> Duration {
        self.epoch
            .elapsed()
            .saturating_sub(Duration::from_millis(ms))
    }

    /// Bytes arrived from the client. While nothing is being answered they are the start
    /// of a request head, which starts the head clock.
    fn bytes_read(&self) {
        if self.answering.load(Ordering::Acquire) == 0
            && self.head_since_ms.load(Ordering::Relaxed) == NO_HEAD
        {
            self.head_since_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// A request head was read whole and is being answered; held until the response is
    /// finished (or dropped).
    pub fn request_started(self: &Arc<Self>) -> AnsweringGuard {
        self.answering.fetch_add(1, Ordering::AcqRel);
        self.head_since_ms.store(NO_HEAD, Ordering::Relaxed);
        AnsweringGuard(self.clone())
    }

    /// An object body starts streaming; held until it is finished (or dropped).
    pub fn body_started(self: &Arc<Self>) -> StreamingGuard {
        self.progress();
        self.streaming.fetch_add(1, Ordering::AcqRel);
        StreamingGuard(self.clone())
    }

    fn progress(&self) {
        self.last_progress_ms
            .store(self.now_ms(), Ordering::Relaxed);
    }

    /// Whether the connection should be closed now, and why. `draining`: since when the
    /// server has been shutting down, and how long a connection may stay after its last
    /// response (or after the shutdown began, whichever is later).
    pub fn verdict(
        &self,
        limits: &Limits,
        draining: Option<(Instant, Duration)>,
    ) -> Option<CloseReason> {
        if self.answering.load(Ordering::Acquire) > 0 {
            let stalled = self.streaming.load(Ordering::Acquire) > 0
                && self.since(self.last_progress_ms.load(Ordering::Relaxed)) >= limits.stalled_body;
            return stalled.then_some(CloseReason::Stalled);
        }
        let head = self.head_since_ms.load(Ordering::Relaxed);
        if head != NO_HEAD {
            return (self.since(head) >= limits.header_read).then_some(CloseReason::SlowHead);
        }
        let idle_since = self.idle_since_ms.load(Ordering::Relaxed);
        let idle_for = self.since(idle_since);
        if idle_for >= limits.keepalive {
            return Some(CloseReason::Idle);
        }
        if let Some((drain_start, window)) = draining {
            let idle_at = self.epoch + Duration::from_millis(idle_since);
            if Instant::now() >= drain_start.max(idle_at) + window {
                return Some(CloseReason::Drained);
            }
        }
        None
    }
}

/// Counts a request as being answered until dropped; then the idle clock starts.
pub struct AnsweringGuard(Arc<ConnState>);

impl Drop for AnsweringGuard {
    fn drop(&mut self) {
        let state = &self.0;
        state.idle_since_ms.store(state.now_ms(), Ordering::Relaxed);
        state.answering.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts an object body as being sent until dropped.
pub struct StreamingGuard(Arc<ConnState>);

impl StreamingGuard {
    /// The body moved.
    pub fn progress(&self) {
        self.0.progress();
    }
}

impl Drop for StreamingGuard {
    fn drop(&mut self) {
        self.0.streaming.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client socket, telling the connection's state when bytes arrive.
pub struct WatchedIo<T> {
    inner: T,
    state: Arc<ConnState>,
}

impl<T> WatchedIo<T> {
    pub fn new(inner: T, state: Arc<ConnState>) -> WatchedIo<T> {
        WatchedIo { inner, state }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.state.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generous steps, so a busy machine's late wake-ups do not flip a verdict.
    const STEP: u64 = 100;

    const LIMITS: Limits = Limits {
        keepalive: Duration::from_millis(6 * STEP),
        header_read: Duration::from_millis(2 * STEP),
        stalled_body: Duration::from_millis(2 * STEP),
    };

    fn steps(n: u64) {
        std::thread::sleep(Duration::from_millis(n * STEP));
    }

    #[test]
    fn idle_connections_get_the_keepalive_timeout_not_the_head_timeout() {
        let state = ConnState::new();
        steps(3);
        assert_eq!(
            state.verdict(&LIMITS, None),
            None,
            "head clock ran while idle"
        );
        steps(4);
        assert_eq!(state.verdict(&LIMITS, None), Some(CloseReason::Idle));
    }

    #[test]
    fn the_head_clock_starts_at_the_first_byte_and_stops_when_answering() {
        let state = ConnState::new();
        steps(3);
        state.bytes_read();
        assert_eq!(state.verdict(&LIMITS, None), None);
        steps(3);
        assert_eq!(state.verdict(&LIMITS, None), Some(CloseReason::SlowHead));
        let answering = state.request_started();
        steps(3);
        assert_eq!(
            state.verdict(&LIMITS, None),
            None,
            "a slow answer is no slow head"
        );
        // Bytes of a pipelined request while answering do not start the head clock.
        state.bytes_read();
        drop(answering);
        steps(3);
        assert_eq!(state.verdict(&LIMITS, None), None);
    }

    #[test]
    fn a_body_that_does_not_move_is_a_stall() {
        let state = ConnState::new();
        let _answering = state.request_started();
        let body = state.body_started();
        steps(1);
        body.progress();
        assert_eq!(state.verdict(&LIMITS, None), None);
        steps(3);
        assert_eq!(state.verdict(&LIMITS, None), Some(CloseReason::Stalled));
        drop(body);
        assert_eq!(state.verdict(&LIMITS, None), None);
    }

    #[test]
    fn draining_counts_from_the_later_of_shutdown_and_last_response() {
        let limits = Limits {
            keepalive: Duration::from_secs(60),
            ..LIMITS
        };
        let state = ConnState::new();
        let window = Duration::from_millis(3 * STEP);
        let drain = Some((Instant::now(), window));
        assert_eq!(state.verdict(&limits, drain), None);
        let answering = state.request_started();
        steps(4);
        assert_eq!(state.verdict(&limits, drain), None, "cut while answering");
        drop(answering);
        steps(1);
        assert_eq!(
            state.verdict(&limits, drain),
            None,
            "window not counted from the last response"
        );
        steps(3);
        assert_eq!(state.verdict(&limits, drain), Some(CloseReason::Drained));
    }
}
