//! The signal that starts the shutdown.

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

/// Shutdown, for every listener: each waits on its own receiver. The handlers are
/// installed by this call, so call it before listening: a SIGTERM that arrives as soon
/// as the port accepts connections must start a clean shutdown, not kill the process.
pub fn shutdown_broadcast() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    tokio::spawn(async move {
        match handlers {
            (Ok(term), Ok(int)) => first_signal(term, int).await,
            _ => {
                log::error!("cannot install signal handlers; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
        let _ = tx.send(true);
    });
    rx
}

/// The first SIGTERM or SIGINT. Later ones change nothing: tokio never uninstalls a
/// handler, so they no longer kill the process while downloads finish.
async fn first_signal(mut term: Signal, mut int: Signal) {
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    log::info!("{name} received");
}

/// Resolves once shutdown has begun.
pub async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
