//! Accepting connections, serving them, and shutting down without cutting downloads.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use session_store::SessionStore;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::tracking::ConnActivity;

/// hyper refuses a smaller read buffer.
const MIN_HEADER_BUFFER: usize = 8192;
/// After the last response, idle keep-alive connections get this long to close.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// Serves `listener` until `shutdown` resolves, then: stops accepting at once (the
/// listener is closed, so new connections are refused), lets responses in flight finish
/// — while any is in flight, requests on open keep-alive connections are still served —
/// and returns once none is left, or when the shutdown timeout has passed.
pub async fn serve<S>(
    listener: TcpListener,
    app: App<S>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: SessionStore + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, app.clone(), stop_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);

    let deadline = Instant::now() + app.settings().shutdown_timeout;
    log::info!(
        "shutting down: no new connections; waiting for {} response(s) in flight",
        app.inflight().count()
    );
    if tokio::time::timeout_at(deadline, app.inflight().wait_idle())
        .await
        .is_err()
    {
        log::warn!(
            "shutdown timeout reached: cutting {} response(s) still in flight",
            app.inflight().count()
        );
    }
    let _ = stop_tx.send(true);
    connections.close();
    let close_by = deadline.max(Instant::now() + CLOSE_GRACE);
    let _ = tokio::time::timeout_at(close_by, connections.wait()).await;
    log::info!("shut down");
    Ok(())
}

async fn serve_connection<S>(stream: TcpStream, app: App<S>, mut stop: watch::Receiver<bool>)
where
    S: SessionStore + 'static,
{
    let _ = stream.set_nodelay(true);
    let settings = app.settings().clone();
    let activity = ConnActivity::new();
    let service = {
        let activity = activity.clone();
        service_fn(move |request| {
            let app = app.clone();
            let activity = activity.clone();
            async move { Ok::<_, Infallible>(app.handle(request, &activity).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(settings.max_header_bytes.max(MIN_HEADER_BUFFER))
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    let idle_limit = settings.client_idle_timeout;
    let mut idle_check = tokio::time::interval(check_period(idle_limit));
    idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    log::debug!("connection closed: {e}");
                }
                break;
            }
            _ = stop.wait_for(|stop| *stop), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = idle_check.tick() => {
                if activity.stalled_for(idle_limit) {
                    log::warn!("client read nothing for {idle_limit:?}: closing its connection");
                    break;
                }
            }
        }
    }
}

/// How often to look for a stalled client: often enough to cut close to the limit.
fn check_period(limit: Duration) -> Duration {
    (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// A listener on all IPv4 interfaces, as the service it replaces had.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port)).await
}
