//! One client connection: hyper's HTTP/1.1, with a watchdog for the clocks hyper does
//! not keep the way a server behind a load balancer needs them.

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use session_store::SessionStore;
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit};

use crate::app::App;
use crate::conn_state::{CloseReason, ConnState, Limits, WatchedIo};

/// hyper refuses a smaller read buffer.
const MIN_HEADER_BUFFER: usize = 8192;

/// Where the server is in its life, as each connection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    /// Shutting down since then: connections close once drained.
    Draining(Instant),
    /// The shutdown timeout passed: close now, whatever is in flight.
    Stopped,
}

/// Serves one connection until the client closes it, a limit closes it, or the server
/// stops. `_slot` is its place under the connection cap, given back on return.
pub async fn serve_connection<S>(
    stream: TcpStream,
    peer: IpAddr,
    app: App<S>,
    mut phase: watch::Receiver<Phase>,
    _slot: OwnedSemaphorePermit,
) where
    S: SessionStore + 'static,
{
    let _ = stream.set_nodelay(true);
    let settings = app.settings();
    let limits = Limits {
        keepalive: settings.keepalive_timeout,
        header_read: settings.header_read_timeout,
        stalled_body: settings.client_idle_timeout,
    };
    let drain_window = settings.drain_window();
    let max_buf_size = settings.max_header_bytes.max(MIN_HEADER_BUFFER);
    let state = ConnState::new();
    let service = {
        let state = state.clone();
        let app = app.clone();
        let objects = app.connection_service(state.clone());
        service_fn(move |request| {
            let answering = state.request_started();
            let app = app.clone();
            let objects = objects.clone();
            async move { Ok::<_, Infallible>(app.handle(request, objects, peer, answering).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // Ours counts from a head's first byte; hyper's would also cut idle keep-alives.
        .header_read_timeout(None)
        .max_buf_size(max_buf_size)
        .keep_alive(true);
    let io = TokioIo::new(WatchedIo::new(stream, state.clone()));
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);

    let mut draining = None;
    loop {
        match *phase.borrow_and_update() {
            Phase::Running => {}
            Phase::Draining(since) => draining = Some((since, drain_window)),
            Phase::Stopped => break,
        }
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    log::debug!("connection closed: {e}");
                }
                break;
            }
            changed = phase.changed() => {
                if changed.is_err() {
                    // The server is gone: nothing is left to serve for.
                    break;
                }
            }
            _ = tokio::time::sleep(check_period(&limits, draining.is_some())) => {
                // Idle and drained only once all written bytes are in the kernel: closing
                // then cuts nothing (the kernel still delivers what it holds).
                if let Some(reason) = state.verdict(&limits, draining) {
                    log_close(reason, &limits);
                    break;
                }
            }
        }
    }
}

fn log_close(reason: CloseReason, limits: &Limits) {
    match reason {
        CloseReason::Stalled => log::warn!(
            "client read nothing for {:?}: closing its connection",
            limits.stalled_body
        ),
        CloseReason::SlowHead => log::info!(
            "request head not complete {:?} after its first byte: closing the connection",
            limits.header_read
        ),
        CloseReason::Idle => log::debug!("connection idle for {:?}: closing it", limits.keepalive),
        CloseReason::Drained => log::debug!("shutting down: closing a drained connection"),
    }
}

/// How often the watchdog looks: often enough to act close to each limit, rarely enough
/// that idle connections cost next to nothing.
fn check_period(limits: &Limits, draining: bool) -> Duration {
    let shortest = limits
        .keepalive
        .min(limits.header_read)
        .min(limits.stalled_body);
    let period = (shortest / 8).clamp(Duration::from_millis(50), Duration::from_millis(500));
    if draining {
        period.min(Duration::from_millis(100))
    } else {
        period
    }
}
