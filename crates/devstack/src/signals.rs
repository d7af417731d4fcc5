//! Ctrl-C (SIGINT), SIGTERM and SIGHUP turned into a flag that the waiting loops poll,
//! so that xtask stops what it started instead of dying first.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::Result;

static STOP: AtomicBool = AtomicBool::new(false);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the handlers. A second signal while stopping exits at once (status 130),
/// in case stopping itself hangs.
pub fn install() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // Twice would register the shutdown twice, and the first signal would then trip it.
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // The shutdown must be registered first: it sees the flag before this signal sets it.
        signal_hook::flag::register_conditional_shutdown(signal, 130, &STOP)
            .and_then(|_| signal_hook::flag::register(signal, &STOP))
            .map_err(|e| format!("cannot install a handler for signal {signal}: {e}"))?;
    }
    Ok(())
}

/// Whether a stop was asked for.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
