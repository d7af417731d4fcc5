//! The session cache: Redis's client-side caching with server-assisted invalidation, so
//! that a signed-in request costs no round trip while Redis stays the one source of truth.
//!
//! One connection of our own (the *tracking connection*, [`link`]) speaks RESP3 with
//! `CLIENT TRACKING on`. Session reads that miss the cache are sent on it, so Redis
//! remembers that this instance holds those keys and pushes an invalidation on the same
//! connection when one changes (`SET`, `DEL`, `EXPIRE`, expiry, eviction, a flush).
//! An entry holds what one read gets: a session's token, marker and profile (the profile
//! only where profiles are kept); a change to any of the three keys drops it.
//!
//! Ordering, the whole point:
//! - Replies and invalidations arrive in the order Redis wrote them, on one socket, and
//!   are applied in that order under one lock: an entry is made when its read's reply is
//!   decoded, so an invalidation written after that read always lands after the entry.
//! - Before every cache lookup, whatever bytes have already reached the socket are read
//!   and applied (one non-blocking `read`, under the lock). A change that Redis
//!   acknowledged to another client had its invalidation written to our socket in the
//!   same pass of Redis's event loop; once it has arrived, no lookup can miss it, even if
//!   no task has been scheduled to read it yet.
//! - Anything doubtful drops every entry and turns the cache off until a new connection
//!   has tracking on again: the connection closing or failing, a reply not understood,
//!   no answer to a read or a `PING` in time, any error reply, any error of the store
//!   itself (the caller calls [`SessionCache::drop_all`]).
//! - An entry also ends at the earliest expiry of its keys that exist (their `PTTL`s,
//!   read with the values).
//!
//! A [`keeper`] task connects (with back-off), wakes on readability to apply
//! invalidations when no request comes, and pings every second (which also keeps Redis's
//! idle `timeout` away). A server that refuses `HELLO 3` or `CLIENT TRACKING` gets one log
//! line and no cache.

mod entries;
pub(crate) mod keeper;
pub(crate) mod link;
mod protocol;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use redis_protocol::resp3::types::OwnedFrame;
use tokio::sync::{oneshot, Notify};

use self::entries::Entries;
use self::link::{Endpoint, Link, Received};
use self::protocol::{Invalidation, READ_REPLIES};
use crate::keys::session_of_key;
use crate::{CacheLookup, Session, StoreError};

pub use protocol::CONNECTION_NAME;

/// A session and its profile, as the cache holds them.
pub(crate) type Cached = (Session, Option<String>);

type ReadResult = Result<Option<Cached>, StoreError>;

/// Shared by every clone of the store; the keeper holds only a weak reference.
pub(crate) struct SessionCache {
    state: Mutex<State>,
    endpoint: Endpoint,
    timeout: Duration,
    /// Wakes the keeper: the link was dropped, or the cache itself (then it stops).
    wake: Arc<Notify>,
    keeper_started: AtomicBool,
    report: OnceLock<Box<dyn Fn(u64) + Send + Sync>>,
}

struct State {
    live: Option<Live>,
    entries: Entries,
    /// The server refused tracking: no cache, for good.
    refused: bool,
    /// Numbers the links, so the keeper never acts on a newer one than its own.
    links_made: u64,
}

/// An established tracking connection and the replies it still owes.
struct Live {
    link: Link,
    number: u64,
    waiting: VecDeque<Waiting>,
    /// When the unanswered `PING` was sent.
    ping_sent: Option<Instant>,
}

enum Waiting {
    Read(PendingRead),
    Pong,
}

struct PendingRead {
    session_id: Box<str>,
    sent: Instant,
    frames: Vec<OwnedFrame>,
    reply: oneshot::Sender<ReadResult>,
}

impl Drop for SessionCache {
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

impl SessionCache {
    pub fn new(endpoint: Endpoint, capacity: usize, timeout: Duration) -> Arc<SessionCache> {
        Arc::new(SessionCache {
            state: Mutex::new(State {
                live: None,
                entries: Entries::new(capacity),
                refused: false,
                links_made: 0,
            }),
            endpoint,
            timeout,
            wake: Arc::new(Notify::new()),
            keeper_started: AtomicBool::new(false),
            report: OnceLock::new(),
        })
    }

    /// Starts the keeper if it is not running and a runtime is at hand.
    pub fn start(self: &Arc<Self>) {
        if self.keeper_started.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.keeper_started.swap(true, Ordering::AcqRel) {
            runtime.spawn(keeper::keep(Arc::downgrade(self), self.wake.clone()));
        }
    }

    /// `report` is called with the number of entries each invalidation from Redis drops.
    /// Only the first call counts.
    pub fn report_invalidations(&self, report: Box<dyn Fn(u64) + Send + Sync>) {
        let _ = self.report.set(report);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Each critical section leaves the state whole (at worst the link is dropped).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session and its profile, from memory only, after applying whatever
    /// invalidations have arrived.
    pub fn lookup(self: &Arc<Self>, session_id: &str) -> CacheLookup<Cached> {
        self.start();
        let mut state = self.lock();
        self.drain(&mut state);
        if state.refused {
            return CacheLookup::Uncached;
        }
        if state.live.is_none() {
            return CacheLookup::Off;
        }
        match state.entries.get(session_id, Instant::now()) {
            Some(cached) => CacheLookup::Hit(cached),
            None => CacheLookup::Miss,
        }
    }

    /// Reads a session and its profile on the tracking connection (one round trip),
    /// leaving an entry when it has a token. `None` when the cache is off, or the connection was lost before
    /// answering: the caller reads Redis itself.
    pub async fn read(self: &Arc<Self>, session_id: &str) -> Option<ReadResult> {
        self.start();
        let (receiver, number) = {
            let mut state = self.lock();
            self.drain(&mut state);
            let live = state.live.as_mut()?;
            let (reply, receiver) = oneshot::channel();
            let sent = Instant::now();
            if let Err(e) = live.link.send(&protocol::read_session(session_id)) {
                self.shut(&mut state, &format!("cannot send: {e}"));
                return None;
            }
            live.waiting.push_back(Waiting::Read(PendingRead {
                session_id: session_id.into(),
                sent,
                frames: Vec::with_capacity(READ_REPLIES),
                reply,
            }));
            (receiver, live.number)
        };
        match tokio::time::timeout(self.timeout, receiver).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(_lost)) => None,
            Err(_) => {
                self.shut_if(number, "no answer to a session read in time");
                Some(Err(StoreError::Timeout(self.timeout)))
            }
        }
    }

    /// This instance changed the session's keys: its entry goes at once (Redis's
    /// invalidation follows, and finds nothing).
    pub fn forget(&self, session_id: &str) {
        self.lock().entries.remove(session_id);
    }

    /// Something went wrong with Redis: every entry goes, and the cache stays off until a
    /// new tracking connection is up.
    pub fn drop_all(&self, why: &str) {
        let mut state = self.lock();
        self.shut(&mut state, why);
    }

    /// Applies whatever has arrived on the tracking connection.
    fn drain(&self, state: &mut State) {
        let Some(live) = state.live.as_mut() else {
            return;
        };
        let received = live.link.receive();
        let mut dropped = 0;
        let mut failure = None;
        // What arrived before a close is applied first (it is at worst more invalidations).
        loop {
            match live.link.next_frame() {
                Ok(Some(frame)) => {
                    if let Err(why) = apply(frame, live, &mut state.entries, &mut dropped) {
                        failure = Some(why);
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        if dropped > 0 {
            if let Some(report) = self.report.get() {
                report(dropped);
            }
        }
        let failure = failure.or(match received {
            Ok(Received::Open) => None,
            Ok(Received::Closed) => Some("Redis closed the connection".into()),
            Err(e) => Some(e.to_string()),
        });
        if let Some(why) = failure {
            self.shut(state, &why);
        }
    }

    /// Turns the cache off: the link closes, every entry goes, and reads still waiting
    /// for it are told so (by their reply channel closing).
    fn shut(&self, state: &mut State, why: &str) {
        state.entries.clear();
        if state.live.take().is_none() {
            return;
        }
        log::warn!("session cache off until tracking is re-established: {why}");
        self.wake.notify_one();
    }

    fn shut_if(&self, number: u64, why: &str) {
        let mut state = self.lock();
        if state
            .live
            .as_ref()
            .is_some_and(|live| live.number == number)
        {
            self.shut(&mut state, why);
        }
    }

    /// The keeper's: a new link, tracking on, with an empty cache.
    fn install(&self, link: Link) -> u64 {
        let mut state = self.lock();
        state.links_made += 1;
        let number = state.links_made;
        state.entries.clear();
        state.live = Some(Live {
            link,
            number,
            waiting: VecDeque::new(),
            ping_sent: None,
        });
        number
    }

    /// The keeper's: the server refuses tracking.
    fn refuse(&self) {
        self.lock().refused = true;
    }

    /// The keeper's: applies what arrived; whether link `number` is still the live one.
    fn drain_link(&self, number: u64) -> bool {
        let mut state = self.lock();
        if !is_live(&state, number) {
            return false;
        }
        self.drain(&mut state);
        is_live(&state, number)
    }

    /// The keeper's: sends a `PING` unless one is unanswered; drops the link when that
    /// one is overdue. Whether link `number` is still the live one.
    fn ping(&self, number: u64) -> bool {
        let mut state = self.lock();
        if !is_live(&state, number) {
            return false;
        }
        self.drain(&mut state);
        let Some(live) = state.live.as_mut() else {
            return false;
        };
        match live.ping_sent {
            Some(sent) if sent.elapsed() > self.timeout => {
                self.shut(&mut state, "no answer to PING in time");
                false
            }
            Some(_) => true,
            None => {
                if let Err(e) = live.link.send(&protocol::ping()) {
                    self.shut(&mut state, &format!("cannot send: {e}"));
                    return false;
                }
                live.ping_sent = Some(Instant::now());
                live.waiting.push_back(Waiting::Pong);
                true
            }
        }
    }

    fn is_live(&self, number: u64) -> bool {
        is_live(&self.lock(), number)
    }
}

fn is_live(state: &State, number: u64) -> bool {
    state
        .live
        .as_ref()
        .is_some_and(|live| live.number == number)
}

/// One frame from the tracking connection: an invalidation, or the next reply owed.
fn apply(
    frame: OwnedFrame,
    live: &mut Live,
    entries: &mut Entries,
    dropped: &mut u64,
) -> Result<(), String> {
    if let OwnedFrame::Push { data, .. } = &frame {
        match protocol::invalidation(data) {
            Some(Invalidation::All) => *dropped += entries.clear() as u64,
            Some(Invalidation::Keys(keys)) => {
                for key in keys {
                    if session_of_key(&key).is_some_and(|id| entries.remove(id)) {
                        *dropped += 1;
                    }
                }
            }
            None => {}
        }
        return Ok(());
    }
    match live.waiting.front_mut() {
        None => Err("a reply nobody asked for".into()),
        Some(Waiting::Pong) => {
            live.waiting.pop_front();
            live.ping_sent = None;
            match protocol::error_code(&frame) {
                Some(code) => Err(format!("PING answered {code}")),
                None => Ok(()),
            }
        }
        Some(Waiting::Read(read)) => {
            read.frames.push(frame);
            if read.frames.len() < READ_REPLIES {
                return Ok(());
            }
            let Some(Waiting::Read(read)) = live.waiting.pop_front() else {
                return Err("reply queue out of order".into());
            };
            match protocol::session_read(&read.frames, read.sent) {
                Ok(outcome) => {
                    if let (true, Some(session)) = (outcome.cacheable, &outcome.session) {
                        let profile = outcome.profile.as_deref();
                        entries.insert(&read.session_id, session, profile, outcome.expires);
                    }
                    let profile = outcome.profile;
                    let _ = read
                        .reply
                        .send(Ok(outcome.session.map(|session| (session, profile))));
                    Ok(())
                }
                Err(code) => {
                    let why = format!("a session read answered {code}");
                    let _ = read.reply.send(Err(read_error(&code)));
                    Err(why)
                }
            }
        }
    }
}

/// A refused read, as the store reports errors (a failover's codes are outages).
fn read_error(code: &str) -> StoreError {
    if matches!(code, "LOADING" | "MASTERDOWN" | "READONLY") {
        StoreError::Unavailable(format!(
            "{code}: this server is not a usable primary now (failover?)"
        ))
    } else {
        StoreError::Command(format!("session read refused: {code}"))
    }
}
