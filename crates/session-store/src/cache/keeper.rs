//! The task that keeps the tracking connection: connects (again, with back-off, after any
//! loss), applies invalidations when no request comes to do it, and pings.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use super::link::{Endpoint, Link};
use super::{protocol, SessionCache};

/// First wait before connecting again; doubled after each failure, up to `LAST_RETRY`.
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(2);
/// A `PING` this often: a connection that died silently (or a frozen Redis) is noticed
/// within this plus the timeout, and Redis's idle `timeout` never closes ours.
const PING_EVERY: Duration = Duration::from_secs(1);

/// Why a tracking connection could not be made.
enum Failure {
    /// For good: the server does not do RESP3 or tracking (or we may not ask for it).
    Refused(String),
    /// For now: try again.
    Failed(String),
}

/// Runs until the cache is dropped.
pub(crate) async fn keep(cache: Weak<SessionCache>, wake: Arc<Notify>) {
    let mut retry = FIRST_RETRY;
    let mut failing = false;
    loop {
        let Some(strong) = cache.upgrade() else {
            return;
        };
        let (endpoint, timeout) = (strong.endpoint.clone(), strong.timeout);
        drop(strong);
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(timeout, establish(&endpoint)) => attempt
                .unwrap_or_else(|_| Err(Failure::Failed(format!("no answer within {timeout:?}")))),
            () = stopped(&cache, &wake) => return,
        };
        match attempt {
            Ok(link) => {
                let Some(strong) = cache.upgrade() else {
                    return;
                };
                let readiness = link.readiness();
                let number = strong.install(link);
                drop(strong);
                log::info!("session cache on: Redis tracks this instance's session reads");
                failing = false;
                retry = FIRST_RETRY;
                if !watch(&cache, &wake, number, &readiness).await {
                    return;
                }
            }
            Err(Failure::Refused(why)) => {
                log::warn!(
                    "no session cache: Redis refused client-side caching ({why}); every \
                     signed-in request reads Redis"
                );
                if let Some(strong) = cache.upgrade() {
                    strong.refuse();
                }
                return;
            }
            Err(Failure::Failed(why)) => {
                if !failing {
                    log::warn!(
                        "session cache: cannot open its tracking connection ({why}); retrying"
                    );
                    failing = true;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            () = stopped(&cache, &wake) => return,
        }
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Resolves once the cache has been dropped (spurious wake-ups are waited out).
async fn stopped(cache: &Weak<SessionCache>, wake: &Notify) {
    loop {
        wake.notified().await;
        if cache.strong_count() == 0 {
            return;
        }
    }
}

/// Looks after link `number` until it is dropped (`true`: make a new one) or the cache
/// is (`false`).
async fn watch(
    cache: &Weak<SessionCache>,
    wake: &Notify,
    number: u64,
    readiness: &tokio::io::unix::AsyncFd<super::link::Socket>,
) -> bool {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        tokio::select! {
            ready = readiness.readable() => {
                let Some(strong) = cache.upgrade() else { return false };
                match ready {
                    Ok(mut guard) => {
                        if !strong.drain_link(number) {
                            return true;
                        }
                        // Everything was read, up to the socket saying "would block".
                        guard.clear_ready();
                    }
                    Err(e) => {
                        strong.shut_if(number, &format!("cannot wait on the socket: {e}"));
                        return true;
                    }
                }
            }
            _ = ping.tick() => {
                let Some(strong) = cache.upgrade() else { return false };
                if !strong.ping(number) {
                    return true;
                }
            }
            () = wake.notified() => {
                let Some(strong) = cache.upgrade() else { return false };
                if !strong.is_live(number) {
                    return true;
                }
            }
        }
    }
}

/// Connects, authenticates, switches to RESP3 and turns tracking on.
async fn establish(endpoint: &Endpoint) -> Result<Link, Failure> {
    let failed = |e: std::io::Error| Failure::Failed(e.to_string());
    let mut link = Link::connect(&endpoint.target).await.map_err(failed)?;
    let mut steps = vec![("HELLO", protocol::hello(endpoint))];
    if endpoint.db != 0 {
        steps.push(("SELECT", protocol::select(endpoint.db)));
    }
    steps.push(("CLIENT TRACKING", protocol::tracking_on()));
    for (what, command) in steps {
        link.send(&command).map_err(failed)?;
        let reply = link.next_frame_waiting().await.map_err(failed)?;
        if let Some(code) = protocol::error_code(&reply) {
            let why = format!("{what} answered {code}");
            return Err(if protocol::is_transient(&code) {
                Failure::Failed(why)
            } else {
                Failure::Refused(why)
            });
        }
    }
    Ok(link)
}
