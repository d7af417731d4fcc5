//! Accepting connections, at most so many at once, and shutting down without cutting
//! downloads or racing the router in front.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use session_store::SessionStore;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::connection::{serve_connection, Phase};

/// Connections still open when the shutdown timeout has passed get this long to close.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// A failed accept (out of file descriptors, say) is retried after this, not spun on.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Serves `listener` until `shutdown` resolves, then drains:
///
/// - the listener closes at once, so new connections are refused;
/// - connections already open stay open for a drain window (`min(2 s, shutdown
///   timeout)`) after their last response, or after the shutdown began if that is
///   later, and a request on them is still served, with `Connection: close` — a router
///   that has not yet stopped sending us requests gets answers, not resets;
/// - downloads in flight run to their end;
///
/// and returns once every connection has closed, or when the shutdown timeout has passed.
pub async fn serve<S>(
    listener: TcpListener,
    app: App<S>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: SessionStore + 'static,
{
    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    let connections = TaskTracker::new();
    // A free slot is taken before accepting, so past the cap connections wait in the
    // kernel's backlog instead of failing on EMFILE.
    let slots = Arc::new(Semaphore::new(app.settings().max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        peer.ip(),
                        app.clone(),
                        phase_rx.clone(),
                        slot,
                    ));
                }
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    }
    drop(listener);

    let started = Instant::now();
    let deadline = started + app.settings().shutdown_timeout;
    app.start_draining();
    let _ = phase_tx.send(Phase::Draining(started.into_std()));
    log::info!(
        "shutting down: no new connections; {} response(s) in flight, open connections \
         drain for {:?} after their last response",
        app.metrics().in_flight(),
        app.settings().drain_window()
    );
    connections.close();
    if tokio::time::timeout_at(deadline, connections.wait())
        .await
        .is_err()
    {
        log::warn!(
            "shutdown timeout reached: cutting {} response(s) still in flight",
            app.metrics().in_flight()
        );
        let _ = phase_tx.send(Phase::Stopped);
        let _ = tokio::time::timeout(CLOSE_GRACE, connections.wait()).await;
    }
    log::info!("shut down");
    Ok(())
}

/// A listener on all IPv4 interfaces, as the service it replaces had.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port)).await
}
