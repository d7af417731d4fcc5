//! What one client connection is doing, for its watchdog: waiting for a request,
//! reading a request head, or answering; whether its client still reads; and whether
//! everything written has reached the kernel.
//!
//! hyper's own header read timeout also runs while a kept-alive connection waits for its
//! next request, which would close a load balancer's idle connections long before the
//! balancer does (and it would then answer 502 on the race). So the clocks are kept
//! here: the idle clock from the moment the last response's last byte was handed to the
//! kernel, the head clock from the first byte of a request head.
//!
//! hyper drops a response's body as soon as it has taken the last frame, while that frame
//! and its write buffer may still wait for a slow client's socket to take them. So a
//! connection is idle only once a flush has completed after every write ([`WatchedIo`]
//! sees both), and a finished response's bookkeeping (its access line, its bytes) waits
//! for that flush too ([`AnsweringGuard::after_flush`]); a connection closed before it says
//! how many bytes never went out.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// No head is being read.
const NO_HEAD: u64 = u64::MAX;

pub struct ConnState {
    epoch: Instant,
    /// Requests whose response is not finished yet.
    answering: AtomicUsize,
    /// When the connection last became idle: accepted, or its last response's last byte
    /// handed to the kernel.
    idle_since_ms: AtomicU64,
    /// When the first byte of the next request head arrived; `NO_HEAD` when none has.
    head_since_ms: AtomicU64,
    /// Object bodies being sent, and when one last moved (or the socket took bytes).
    streaming: AtomicUsize,
    last_progress_ms: AtomicU64,
    /// hyper holds bytes the kernel has not taken yet: from a write (or a response's last
    /// bytes handed to hyper) until a flush completes.
    unflushed: AtomicBool,
    /// How many bytes hyper holds that the kernel has not taken: what its last write left
    /// over, plus the body bytes handed to it since.
    held: AtomicU64,
    /// Finished responses whose last bytes have not reached the kernel yet.
    tails: Mutex<Vec<Tail>>,
}

/// What happened to a finished response's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// All of them were handed to the kernel.
    Whole,
    /// The connection closed first; `held` bytes of it (at most) never went out.
    Cut { held: u64 },
}

/// What a finished response still has to do once its last byte is out, or never will be.
pub type Tail = Box<dyn FnOnce(Delivery) + Send>;

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
            unflushed: AtomicBool::new(false),
            held: AtomicU64::new(0),
            tails: Mutex::new(Vec::new()),
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

    /// hyper was handed body bytes: they are held until a write takes them.
    pub(crate) fn queued(&self, bytes: u64) {
        self.held.fetch_add(bytes, Ordering::Relaxed);
    }

    /// How many bytes hyper holds that the kernel has not taken (see `held`).
    pub(crate) fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Bytes wait to be written: the stall clock starts now, unless it already runs.
    fn unflushed_from_now(&self) {
        if !self.unflushed.swap(true, Ordering::AcqRel) {
            self.progress();
        }
    }

    /// hyper offered `offered` bytes (all it holds) to the socket, which took `taken`.
    fn wrote(&self, offered: usize, taken: usize) {
        if offered == 0 {
            return;
        }
        self.unflushed_from_now();
        if taken > 0 {
            self.progress();
        }
        self.held
            .store(offered.saturating_sub(taken) as u64, Ordering::Relaxed);
    }

    /// Everything written reached the kernel: finished responses are delivered, and a
    /// connection with nothing left to answer is idle from now.
    fn flushed(&self) {
        if !self.unflushed.swap(false, Ordering::AcqRel) {
            return;
        }
        self.held.store(0, Ordering::Relaxed);
        if self.answering.load(Ordering::Acquire) == 0 {
            self.idle_since_ms.store(self.now_ms(), Ordering::Relaxed);
        }
        let tails = std::mem::take(&mut *self.lock_tails());
        for tail in tails {
            tail(Delivery::Whole);
        }
    }

    fn lock_tails(&self) -> std::sync::MutexGuard<'_, Vec<Tail>> {
        // A tail that panicked leaves nothing half-done that the others depend on.
        self.tails.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the connection should be closed now, and why. `draining`: since when the
    /// server has been shutting down, and how long a connection may stay after its last
    /// response (or after the shutdown began, whichever is later).
    ///
    /// A connection that is answering, or whose written bytes have not all reached the
    /// kernel, is never idle nor drained: it is only cut when its client reads nothing
    /// for the stalled-body limit (or by the shutdown timeout, outside this verdict).
    pub fn verdict(
        &self,
        limits: &Limits,
        draining: Option<(Instant, Duration)>,
    ) -> Option<CloseReason> {
        let unflushed = self.unflushed.load(Ordering::Acquire);
        if unflushed || self.answering.load(Ordering::Acquire) > 0 {
            let moving = unflushed || self.streaming.load(Ordering::Acquire) > 0;
            let stalled = moving
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

impl Drop for ConnState {
    /// The connection is gone: responses still waiting for their last bytes were cut.
    fn drop(&mut self) {
        let held = self.held();
        let tails = std::mem::take(&mut *self.lock_tails());
        for tail in tails {
            tail(Delivery::Cut { held });
        }
    }
}

/// Counts a request as being answered until dropped; then the idle clock starts (once
/// what was written is flushed).
pub struct AnsweringGuard(Arc<ConnState>);

impl AnsweringGuard {
    /// hyper was handed `bytes` of this response's body.
    pub fn queued(&self, bytes: u64) {
        self.0.queued(bytes);
    }

    /// Bytes hyper holds that the kernel has not taken (see `ConnState::held`).
    pub fn held(&self) -> u64 {
        self.0.held()
    }

    /// The response is whole in hyper's hands: `tail` runs once its last byte reaches the
    /// kernel (at the next completed flush), or when the connection closes before that.
    pub fn after_flush(&self, tail: Tail) {
        let state = &self.0;
        state.lock_tails().push(tail);
        state.unflushed_from_now();
    }
}

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

/// The client socket, telling the connection's state when bytes arrive, what each write
/// left in hyper's hands, and when a flush completes.
pub struct WatchedIo<T> {
    inner: T,
    state: Arc<ConnState>,
}

impl<T> WatchedIo<T> {
    pub fn new(inner: T, state: Arc<ConnState>) -> WatchedIo<T> {
        WatchedIo { inner, state }
    }

    /// hyper offers all it holds on each write (its buffer is a few slices at most).
    fn wrote(&self, offered: usize, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Ready(Ok(taken)) => self.state.wrote(offered, *taken),
            Poll::Pending => self.state.wrote(offered, 0),
            // The connection fails with it; what was held stays counted as held.
            Poll::Ready(Err(_)) => {}
        }
    }

    fn done(&self, polled: &Poll<io::Result<()>>) {
        if let Poll::Ready(Ok(())) = polled {
            self.state.flushed();
        }
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
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(buf.len(), &polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(bufs.iter().map(|b| b.len()).sum(), &polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.done(&polled);
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.done(&polled);
        polled
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

    /// A tail that records how it ended.
    fn recorded() -> (Tail, Arc<Mutex<Option<Delivery>>>) {
        let seen = Arc::new(Mutex::new(None));
        let into = seen.clone();
        let tail: Tail = Box::new(move |d| *into.lock().unwrap() = Some(d));
        (tail, seen)
    }

    /// Found in review (issue 15): the body was dropped, so the connection counted as
    /// idle, while its last bytes still waited for the client's socket.
    #[test]
    fn a_response_not_yet_flushed_keeps_the_connection_from_idling_or_draining() {
        let limits = Limits {
            keepalive: Duration::from_millis(2 * STEP),
            stalled_body: Duration::from_millis(60 * STEP),
            ..LIMITS
        };
        let state = ConnState::new();
        let drain = Some((Instant::now(), Duration::from_millis(STEP)));
        let answering = state.request_started();
        answering.queued(1000);
        let (tail, seen) = recorded();
        answering.after_flush(tail);
        drop(answering);
        state.wrote(1200, 200);
        steps(3);
        assert_eq!(state.verdict(&limits, None), None, "idle while unflushed");
        assert_eq!(
            state.verdict(&limits, drain),
            None,
            "drained while unflushed"
        );
        assert_eq!(*seen.lock().unwrap(), None, "delivered before the flush");
        state.wrote(1000, 1000);
        state.flushed();
        assert_eq!(*seen.lock().unwrap(), Some(Delivery::Whole));
        assert_eq!(state.held(), 0);
        assert_eq!(
            state.verdict(&limits, None),
            None,
            "idle clock not from the flush"
        );
        steps(3);
        assert_eq!(state.verdict(&limits, None), Some(CloseReason::Idle));
        assert_eq!(state.verdict(&limits, drain), Some(CloseReason::Idle));
    }

    #[test]
    fn a_flush_that_makes_no_progress_is_a_stall() {
        let state = ConnState::new();
        let answering = state.request_started();
        let (tail, _) = recorded();
        answering.after_flush(tail);
        drop(answering);
        state.wrote(5000, 0);
        steps(1);
        state.wrote(5000, 1000);
        steps(1);
        assert_eq!(state.verdict(&LIMITS, None), None, "the socket took bytes");
        steps(2);
        assert_eq!(state.verdict(&LIMITS, None), Some(CloseReason::Stalled));
    }

    /// The access line of a cut response gives the bytes that went out: those handed to
    /// hyper less those it still held.
    #[test]
    fn a_connection_closed_before_the_flush_reports_what_was_held() {
        let state = ConnState::new();
        let answering = state.request_started();
        answering.queued(4096);
        state.wrote(4096 + 200, 1000);
        answering.queued(512);
        assert_eq!(answering.held(), 3296 + 512);
        let (tail, seen) = recorded();
        answering.after_flush(tail);
        drop(answering);
        drop(state);
        assert_eq!(*seen.lock().unwrap(), Some(Delivery::Cut { held: 3808 }));
    }
}
