//! Credentials for signing: static keys, or the default AWS chain behind a cache.
//!
//! The chain (environment, profile, web identity, ECS task role, IMDSv2) is asked only
//! when the cached credentials near their expiry, and a source that hangs or fails can
//! neither wedge the service nor be flooded by it:
//! - every load is bounded by its own timeout ([`Timing::load_timeout`]) and runs in a
//!   task of its own, so a request that gives up does not cancel it;
//! - one load at a time: every request that needs its outcome waits for that load and
//!   gets the outcome, a failure included;
//! - after a failure, requests that need credentials fail at once for a back-off
//!   ([`Timing::backoff`]) instead of each starting a load;
//! - credentials that are still valid are used while a refresh behind them fails or
//!   hangs; only missing or expired ones make a request wait.
//!
//! No lock is held across an await: the state sits behind a plain mutex taken for
//! moments, and a load's outcome reaches its waiters through a watch channel.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::identity::Identity;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::FetchError;

/// Refresh in the background this long before expiry (or at three quarters of a
/// shorter life).
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// Closer than this to expiry, credentials are not used: a request signed now could
/// reach S3 after they expired.
const USABLE_MARGIN: Duration = Duration::from_secs(10);
/// The longest a load may take, as the SDK's own identity cache allows.
const MAX_LOAD_TIMEOUT: Duration = Duration::from_secs(5);
/// After a failed load, requests fail at once for this long.
const BACKOFF: Duration = Duration::from_secs(2);
/// A waiter gives up this long after the load's own timeout, should the load's task
/// never report (starved, or gone).
const WAIT_GRACE: Duration = Duration::from_secs(1);

/// How long loads may take and how long a failure stands.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) load_timeout: Duration,
    pub(crate) backoff: Duration,
}

impl Timing {
    /// For S3 requests that wait `response_timeout` for S3: a load gets half of that, at
    /// most 5 s, so a request that waited for one still has time for S3.
    pub(crate) fn for_response_timeout(response_timeout: Duration) -> Timing {
        Timing {
            load_timeout: (response_timeout / 2).min(MAX_LOAD_TIMEOUT),
            backoff: BACKOFF,
        }
    }

    /// The bound given to the SDK's own clients (STS, SSO): four fifths of the load
    /// timeout, so a hung source is cut where it hangs, the load timeout behind it.
    pub(crate) fn source_timeout(&self) -> Duration {
        self.load_timeout * 4 / 5
    }
}

#[derive(Clone)]
pub(crate) enum Signing {
    Static(Identity),
    Chain(Arc<Cache>),
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signing::Static(_) => "Signing::Static",
            Signing::Chain(_) => "Signing::Chain",
        })
    }
}

impl Signing {
    pub(crate) fn static_keys(access_key_id: &str, secret_access_key: &str) -> Signing {
        Signing::Static(Identity::from(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "s3proxy-static-keys",
        )))
    }

    /// The default chain for `region`, behind the cache. Its SDK clients (STS for web
    /// identity and assumed roles, SSO) are bounded by [`Timing::source_timeout`]; the
    /// ECS and IMDS providers bring bounds of their own (2 s to connect, 5 s to read,
    /// retried; 1 s and 1 s, retried), and the load timeout bounds them all.
    pub(crate) async fn default_chain(
        region: &str,
        connect_timeout: Duration,
        timing: Timing,
    ) -> Result<Signing, FetchError> {
        let within = timing.source_timeout();
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(connect_timeout.min(within))
            .read_timeout(within)
            .operation_attempt_timeout(within)
            .operation_timeout(within)
            .build();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .timeout_config(timeouts)
            .load()
            .await;
        let provider = config.credentials_provider().ok_or_else(|| {
            FetchError::Failed("the AWS credential chain is not available".into())
        })?;
        Ok(Signing::Chain(Arc::new(Cache::new(provider, timing))))
    }

    /// The identity to sign with now.
    pub(crate) async fn identity(&self) -> Result<Identity, FetchError> {
        match self {
            Signing::Static(identity) => Ok(identity.clone()),
            Signing::Chain(cache) => Cache::identity(cache).await,
        }
    }
}

/// What a load gives its waiters: the identity, or why there is none.
type Outcome = Result<Identity, Arc<str>>;

pub(crate) struct Cache {
    provider: SharedCredentialsProvider,
    timing: Timing,
    /// Taken for moments, never across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Arc<Current>>,
    /// The load under way: its outcome arrives here.
    loading: Option<watch::Receiver<Option<Outcome>>>,
    /// The last load, when it failed: the back-off runs from its end.
    last_failure: Option<Failure>,
    /// Loads failed in a row.
    failures: u32,
    /// Whether the expiry of `current` without a replacement was logged.
    expiry_logged: bool,
}

struct Failure {
    at: Instant,
    cause: Arc<str>,
}

struct Current {
    identity: Identity,
    /// From here a background refresh starts.
    refresh_at: Option<SystemTime>,
    /// From here these may not be used.
    unusable_at: Option<SystemTime>,
}

impl Current {
    fn new(credentials: Credentials, now: SystemTime) -> Current {
        let expiry = credentials.expiry();
        let (refresh_at, unusable_at) = match expiry {
            None => (None, None),
            Some(expiry) => {
                let life = expiry.duration_since(now).unwrap_or(Duration::ZERO);
                let ahead = REFRESH_AHEAD.min(life / 4);
                let margin = USABLE_MARGIN.min(life / 10);
                (Some(expiry - ahead), Some(expiry - margin))
            }
        };
        Current {
            identity: Identity::from(credentials),
            refresh_at,
            unusable_at,
        }
    }

    fn usable(&self, now: SystemTime) -> bool {
        self.unusable_at.is_none_or(|t| now < t)
    }

    fn due(&self, now: SystemTime) -> bool {
        self.refresh_at.is_some_and(|t| now >= t)
    }

    /// How much longer they may be used; `None` once they may not.
    fn usable_for(&self, now: SystemTime) -> Option<Duration> {
        match self.unusable_at {
            None => Some(Duration::MAX),
            Some(t) => t.duration_since(now).ok().filter(|d| !d.is_zero()),
        }
    }
}

/// What a request does: go on with this, or wait for the load under way.
enum Step {
    Ready(Result<Identity, FetchError>),
    Wait(watch::Receiver<Option<Outcome>>),
}

fn no_credentials(cause: &str) -> FetchError {
    FetchError::NoCredentials(format!("no AWS credentials: {cause}"))
}

impl Cache {
    pub(crate) fn new(provider: SharedCredentialsProvider, timing: Timing) -> Cache {
        Cache {
            provider,
            timing,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing that can panic runs under the lock; should it, the state is still
        // whole (every change is one assignment).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn identity(this: &Arc<Cache>) -> Result<Identity, FetchError> {
        let mut load = match this.now_or_load() {
            Step::Ready(result) => return result,
            Step::Wait(load) => load,
        };
        let limit = this.timing.load_timeout + WAIT_GRACE;
        let outcome = match tokio::time::timeout(limit, load.wait_for(Option::is_some)).await {
            Ok(Ok(outcome)) => (*outcome).clone(),
            // Its task ended without an outcome (it panicked), or never reported.
            Ok(Err(_)) | Err(_) => None,
        };
        match outcome {
            Some(Ok(identity)) => Ok(identity),
            Some(Err(cause)) => Err(no_credentials(&cause)),
            None => Err(no_credentials("the credential load gave no outcome")),
        }
    }

    /// Under the lock, without waiting: the identity, a failure, or a load to wait for.
    fn now_or_load(self: &Arc<Cache>) -> Step {
        let now = SystemTime::now();
        let mut state = self.lock();
        if let Some(current) = state.current.clone() {
            if current.usable(now) {
                if current.due(now) && state.loading.is_none() && !self.backing_off(&state) {
                    self.start_load(&mut state);
                }
                return Step::Ready(Ok(current.identity.clone()));
            }
            if state.failures > 0 {
                log_expiry(&mut state);
            }
        }
        if let Some(load) = &state.loading {
            return Step::Wait(load.clone());
        }
        if let Some(failure) = state
            .last_failure
            .as_ref()
            .filter(|_| self.backing_off(&state))
        {
            let ago = failure.at.elapsed().as_millis();
            return Step::Ready(Err(no_credentials(&format!(
                "{} (the last load failed {ago} ms ago; the next starts after the {} ms back-off)",
                failure.cause,
                self.timing.backoff.as_millis()
            ))));
        }
        Step::Wait(self.start_load(&mut state))
    }

    fn backing_off(&self, state: &State) -> bool {
        state
            .last_failure
            .as_ref()
            .is_some_and(|f| f.at.elapsed() < self.timing.backoff)
    }

    /// Starts a load in a task of its own; its outcome arrives on the receiver.
    fn start_load(self: &Arc<Cache>, state: &mut State) -> watch::Receiver<Option<Outcome>> {
        let (done, load) = watch::channel(None);
        state.loading = Some(load.clone());
        let guard = LoadGuard {
            cache: Arc::clone(self),
            done: Some(done),
        };
        tokio::spawn(async move {
            let loaded = guard.cache.load().await;
            guard.finish(loaded);
        });
        load
    }

    /// One call of the chain, bounded.
    async fn load(&self) -> Result<Credentials, String> {
        let limit = self.timing.load_timeout;
        match tokio::time::timeout(limit, self.provider.provide_credentials()).await {
            Ok(Ok(credentials)) => Ok(credentials),
            Ok(Err(e)) => Err(error_chain(&e)),
            Err(_) => Err(format!(
                "the credential chain gave no answer within {} ms",
                limit.as_millis()
            )),
        }
    }

    /// Records a load's result and says what its waiters get.
    fn finish(&self, loaded: Result<Credentials, String>) -> Outcome {
        let now = SystemTime::now();
        let mut state = self.lock();
        state.loading = None;
        let loaded = loaded.and_then(|credentials| {
            let current = Current::new(credentials, now);
            if current.usable(now) {
                Ok(current)
            } else {
                Err("the credential chain gave credentials that expire within seconds".into())
            }
        });
        match loaded {
            Ok(current) => {
                if state.failures > 0 {
                    log::info!(
                        "AWS credentials loaded again after {} failed attempt(s)",
                        state.failures
                    );
                }
                state.failures = 0;
                state.last_failure = None;
                state.expiry_logged = false;
                let identity = current.identity.clone();
                state.current = Some(Arc::new(current));
                Ok(identity)
            }
            Err(cause) => {
                let cause: Arc<str> = cause.into();
                self.failed(&mut state, cause.clone());
                Err(cause)
            }
        }
    }

    /// A failed load: the back-off starts; the first of a run is a warning, and the
    /// current credentials expired without replacement an error.
    fn failed(&self, state: &mut State, cause: Arc<str>) {
        let now = SystemTime::now();
        state.failures += 1;
        let usable_for = state.current.as_ref().and_then(|c| c.usable_for(now));
        match (state.failures, usable_for) {
            (1, Some(left)) => log::warn!(
                "loading AWS credentials failed; the current ones stay in use for {} s more, \
                 and a new load starts after a {} ms back-off: {cause}",
                left.as_secs(),
                self.timing.backoff.as_millis()
            ),
            (1, None) => log::warn!(
                "loading AWS credentials failed; S3 requests fail (503) until a load \
                 succeeds, the next after a {} ms back-off: {cause}",
                self.timing.backoff.as_millis()
            ),
            (n, _) => log::debug!("loading AWS credentials failed again ({n} in a row): {cause}"),
        }
        state.last_failure = Some(Failure {
            at: Instant::now(),
            cause,
        });
        if usable_for.is_none() && state.current.is_some() {
            log_expiry(state);
        }
    }
}

/// A load's task: it reports its outcome once, a failure if it ends without one (its
/// provider panicked, or the runtime is shutting down), so no load stays under way.
struct LoadGuard {
    cache: Arc<Cache>,
    done: Option<watch::Sender<Option<Outcome>>>,
}

impl LoadGuard {
    fn finish(mut self, loaded: Result<Credentials, String>) {
        self.report(loaded);
    }

    fn report(&mut self, loaded: Result<Credentials, String>) {
        if let Some(done) = self.done.take() {
            let outcome = self.cache.finish(loaded);
            // Nobody may be waiting; the state has the outcome anyway.
            let _ = done.send(Some(outcome));
        }
    }
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        self.report(Err("the credential load stopped without an outcome".into()));
    }
}

/// Once per set of credentials that expires without a replacement.
fn log_expiry(state: &mut State) {
    if state.expiry_logged {
        return;
    }
    state.expiry_logged = true;
    let cause = state
        .last_failure
        .as_ref()
        .map_or("none yet", |f| &*f.cause);
    log::error!(
        "AWS credentials expired and could not be replaced; S3 requests fail (503) until a \
         load succeeds. Last failure: {cause}"
    );
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Mode {
        Answer,
        Hang,
        Fail,
        /// Credentials that expired a minute ago (IMDS hands its last ones out so).
        Stale,
        Panic,
    }

    /// A provider handing out credentials that live `life` after `delay`, or hanging,
    /// failing or panicking, counting the calls.
    #[derive(Debug)]
    struct TestProvider {
        life: Duration,
        delay: Duration,
        mode: Arc<Mutex<Mode>>,
        calls: Arc<AtomicUsize>,
    }

    impl ProvideCredentials for TestProvider {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            aws_credential_types::provider::future::ProvideCredentials::new(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                let mode = *self.mode.lock().unwrap();
                tokio::time::sleep(self.delay).await;
                let expiry =
                    match mode {
                        Mode::Answer => SystemTime::now() + self.life,
                        Mode::Stale => SystemTime::now() - Duration::from_secs(60),
                        Mode::Hang => std::future::pending().await,
                        Mode::Fail => return Err(
                            aws_credential_types::provider::error::CredentialsError::provider_error(
                                "the test provider fails",
                            ),
                        ),
                        Mode::Panic => panic!("the test provider panics"),
                    };
                Ok(Credentials::new(
                    format!("AKID{n}"),
                    "secret",
                    Some(format!("token{n}")),
                    Some(expiry),
                    "test",
                ))
            })
        }
    }

    const TIMING: Timing = Timing {
        load_timeout: Duration::from_millis(300),
        backoff: Duration::from_millis(500),
    };

    struct Fixture {
        signing: Signing,
        calls: Arc<AtomicUsize>,
        mode: Arc<Mutex<Mode>>,
    }

    impl Fixture {
        fn new(life: Duration, delay: Duration, mode: Mode) -> Fixture {
            let calls = Arc::new(AtomicUsize::new(0));
            let mode = Arc::new(Mutex::new(mode));
            let provider = SharedCredentialsProvider::new(TestProvider {
                life,
                delay,
                mode: mode.clone(),
                calls: calls.clone(),
            });
            Fixture {
                signing: Signing::Chain(Arc::new(Cache::new(provider, TIMING))),
                calls,
                mode,
            }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }

        fn set_mode(&self, mode: Mode) {
            *self.mode.lock().unwrap() = mode;
        }

        async fn key(&self) -> Result<String, FetchError> {
            self.signing.identity().await.map(|i| access_key(&i))
        }

        /// `n` requests at once: their results, and how long the slowest took.
        async fn burst(&self, n: usize) -> (Vec<Result<String, FetchError>>, Duration) {
            let started = std::time::Instant::now();
            let all = futures_util::future::join_all((0..n).map(|_| self.key())).await;
            (all, started.elapsed())
        }
    }

    fn access_key(identity: &Identity) -> String {
        identity
            .data::<Credentials>()
            .map(|c| c.access_key_id().to_string())
            .unwrap_or_default()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn concurrent_first_requests_share_one_call() {
        let f = Fixture::new(HOUR, Duration::from_millis(100), Mode::Answer);
        let (all, _) = f.burst(20).await;
        assert!(all.iter().all(|r| r.as_ref().is_ok_and(|k| k == "AKID0")));
        assert_eq!(f.calls(), 1);
        // Fresh credentials are reused without asking again.
        f.key().await.unwrap();
        assert_eq!(f.calls(), 1);
    }

    #[tokio::test]
    async fn credentials_near_expiry_are_refreshed_in_the_background() {
        let f = Fixture::new(
            Duration::from_millis(800),
            Duration::from_millis(200),
            Mode::Answer,
        );
        assert_eq!(f.key().await.unwrap(), "AKID0");
        // Past three quarters of their life, still usable: served at once, refreshed
        // behind.
        tokio::time::sleep(Duration::from_millis(650)).await;
        let started = std::time::Instant::now();
        assert_eq!(f.key().await.unwrap(), "AKID0");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(f.key().await.unwrap(), "AKID1");
        assert_eq!(f.calls(), 2);
    }

    #[tokio::test]
    async fn expired_credentials_are_never_used() {
        let f = Fixture::new(Duration::from_millis(200), Duration::ZERO, Mode::Answer);
        assert_eq!(f.key().await.unwrap(), "AKID0");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(f.key().await.unwrap(), "AKID1");
        assert_eq!(f.calls(), 2);
    }

    /// A hung source: one load, cut at the load timeout, its failure shared by every
    /// request that waited for it.
    #[tokio::test]
    async fn a_hung_load_is_cut_and_its_failure_shared() {
        let f = Fixture::new(HOUR, Duration::ZERO, Mode::Hang);
        let (all, slowest) = f.burst(20).await;
        assert!(
            all.iter()
                .all(|r| matches!(r, Err(FetchError::NoCredentials(m)) if m.contains("no answer within 300 ms"))),
            "{all:?}"
        );
        assert!(slowest < TIMING.load_timeout + WAIT_GRACE, "{slowest:?}");
        assert_eq!(f.calls(), 1);
    }

    /// After a failure, requests fail at once for the back-off without a new load;
    /// after it, one load again, which recovers.
    #[tokio::test]
    async fn after_a_failure_requests_fail_fast_for_the_backoff() {
        let f = Fixture::new(HOUR, Duration::from_millis(50), Mode::Fail);
        assert!(matches!(f.key().await, Err(FetchError::NoCredentials(_))));
        assert_eq!(f.calls(), 1);
        let (all, _) = f.burst(20).await;
        assert!(
            all.iter()
                .all(|r| matches!(r, Err(FetchError::NoCredentials(m)) if m.contains("back-off"))),
            "{all:?}"
        );
        assert_eq!(f.calls(), 1, "a load during the back-off");

        f.set_mode(Mode::Answer);
        tokio::time::sleep(TIMING.backoff).await;
        let (all, _) = f.burst(20).await;
        assert!(
            all.iter().all(|r| r.as_ref().is_ok_and(|k| k == "AKID1")),
            "{all:?}"
        );
        assert_eq!(f.calls(), 2);
    }

    /// Valid credentials are used while the refresh behind them hangs, and no second
    /// refresh starts while one runs; once they expire, requests fail (no waiting on
    /// the hung load beyond its timeout).
    #[tokio::test]
    async fn valid_credentials_are_used_while_a_refresh_hangs() {
        let f = Fixture::new(Duration::from_millis(1600), Duration::ZERO, Mode::Answer);
        assert_eq!(f.key().await.unwrap(), "AKID0");
        f.set_mode(Mode::Hang);
        // Refresh point at 1200 ms, unusable from 1440 ms.
        tokio::time::sleep(Duration::from_millis(1250)).await;
        for _ in 0..5 {
            let started = std::time::Instant::now();
            assert_eq!(f.key().await.unwrap(), "AKID0");
            assert!(started.elapsed() < Duration::from_millis(100));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(f.calls(), 2, "one refresh at a time");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (all, slowest) = f.burst(10).await;
        assert!(all.iter().all(|r| r.is_err()), "{all:?}");
        assert!(slowest < TIMING.load_timeout + WAIT_GRACE, "{slowest:?}");
    }

    /// A load started by a request that gave up runs on, and its credentials serve the
    /// next request.
    #[tokio::test]
    async fn a_load_outlives_the_request_that_started_it() {
        let f = Fixture::new(HOUR, Duration::from_millis(150), Mode::Answer);
        let gave_up = tokio::time::timeout(Duration::from_millis(20), f.key()).await;
        assert!(gave_up.is_err());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(f.key().await.unwrap(), "AKID0");
        assert_eq!(f.calls(), 1);
    }

    /// Credentials that expired already (IMDS's "static stability" hands out the last
    /// ones when it fails) are a failed load, not a set to use.
    #[tokio::test]
    async fn expired_credentials_from_the_chain_are_a_failure() {
        let f = Fixture::new(HOUR, Duration::ZERO, Mode::Stale);
        let result = f.key().await;
        assert!(
            matches!(&result, Err(FetchError::NoCredentials(m)) if m.contains("expire")),
            "{result:?}"
        );
        assert_eq!(f.calls(), 1);
    }

    /// A load whose task panics is a failure for its waiters, and loads go on after
    /// the back-off.
    #[tokio::test]
    async fn a_panicking_load_is_a_failure_and_loads_go_on() {
        let f = Fixture::new(HOUR, Duration::ZERO, Mode::Panic);
        assert!(matches!(f.key().await, Err(FetchError::NoCredentials(_))));
        f.set_mode(Mode::Answer);
        tokio::time::sleep(TIMING.backoff).await;
        assert_eq!(f.key().await.unwrap(), "AKID1");
    }

    #[test]
    fn loads_get_half_the_s3_timeout_at_most_five_seconds() {
        let t = |s| Timing::for_response_timeout(Duration::from_secs(s)).load_timeout;
        assert_eq!(t(1), Duration::from_millis(500));
        assert_eq!(t(4), Duration::from_secs(2));
        assert_eq!(t(10), Duration::from_secs(5));
        assert_eq!(t(3600), Duration::from_secs(5));
        let timing = Timing::for_response_timeout(Duration::from_secs(10));
        assert!(timing.source_timeout() < timing.load_timeout);
    }
}
