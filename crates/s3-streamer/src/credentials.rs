//! Credentials for signing: static keys, or the default AWS chain behind a cache.
//!
//! The chain (environment, profile, web identity, ECS task role, IMDSv2) is asked only
//! when the cached credentials are about to expire, and then by one request at a time:
//! while they are still valid, a refresh runs in the background and requests go on with
//! the current ones; only credentials that have expired (or none yet) make requests
//! wait, all for the same single refresh.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::error::FetchError;

/// Refresh in the background this long before expiry (or at three quarters of a
/// shorter life).
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// Closer than this to expiry, credentials are not used: a request signed now could
/// reach S3 after they expired.
const USABLE_MARGIN: Duration = Duration::from_secs(10);

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

pub(crate) struct Cache {
    provider: SharedCredentialsProvider,
    current: ArcSwapOption<Current>,
    /// One refresh at a time.
    refresh: tokio::sync::Mutex<()>,
    background: AtomicBool,
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

    pub(crate) fn chain(provider: SharedCredentialsProvider) -> Signing {
        Signing::Chain(Arc::new(Cache {
            provider,
            current: ArcSwapOption::empty(),
            refresh: tokio::sync::Mutex::new(()),
            background: AtomicBool::new(false),
        }))
    }

    /// The identity to sign with now.
    pub(crate) async fn identity(&self) -> Result<Identity, FetchError> {
        match self {
            Signing::Static(identity) => Ok(identity.clone()),
            Signing::Chain(cache) => Cache::identity(cache).await,
        }
    }
}

impl Cache {
    async fn identity(this: &Arc<Cache>) -> Result<Identity, FetchError> {
        let now = SystemTime::now();
        if let Some(current) = this.current.load_full() {
            let usable = current.unusable_at.is_none_or(|t| now < t);
            if usable {
                if current.refresh_at.is_some_and(|t| now >= t) {
                    Cache::refresh_in_background(this);
                }
                return Ok(current.identity.clone());
            }
        }
        this.refresh().await
    }

    fn refresh_in_background(this: &Arc<Cache>) {
        if this.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = this.clone();
        tokio::spawn(async move {
            if let Err(e) = cache.refresh().await {
                log::warn!(
                    "refreshing AWS credentials failed (the current ones are still valid): {e}"
                );
            }
            cache.background.store(false, Ordering::Release);
        });
    }

    /// Asks the chain, unless another refresh just did.
    async fn refresh(&self) -> Result<Identity, FetchError> {
        let _one_at_a_time = self.refresh.lock().await;
        let now = SystemTime::now();
        if let Some(current) = self.current.load_full() {
            if current.refresh_at.is_none_or(|t| now < t) {
                return Ok(current.identity.clone());
            }
        }
        let credentials =
            self.provider.provide_credentials().await.map_err(|e| {
                FetchError::Failed(format!("no AWS credentials: {}", error_chain(&e)))
            })?;
        let current = Current::new(credentials, now);
        let identity = current.identity.clone();
        self.current.store(Some(Arc::new(current)));
        Ok(identity)
    }
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
    use std::sync::atomic::AtomicUsize;

    /// A provider handing out credentials that live `life`, counting the calls.
    #[derive(Debug)]
    struct Expiring {
        life: Duration,
        calls: Arc<AtomicUsize>,
        delay: Duration,
    }

    impl ProvideCredentials for Expiring {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            aws_credential_types::provider::future::ProvideCredentials::new(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                Ok(Credentials::new(
                    format!("AKID{n}"),
                    "secret",
                    Some(format!("token{n}")),
                    Some(SystemTime::now() + self.life),
                    "test",
                ))
            })
        }
    }

    fn chain(life: Duration, delay: Duration) -> (Signing, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = SharedCredentialsProvider::new(Expiring {
            life,
            calls: calls.clone(),
            delay,
        });
        (Signing::chain(provider), calls)
    }

    fn access_key(identity: &Identity) -> String {
        identity
            .data::<Credentials>()
            .map(|c| c.access_key_id().to_string())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn concurrent_first_requests_share_one_call() {
        let (signing, calls) = chain(Duration::from_secs(3600), Duration::from_millis(100));
        let all = futures_util::future::join_all((0..20).map(|_| signing.identity())).await;
        assert!(all
            .iter()
            .all(|r| r.as_ref().is_ok_and(|i| access_key(i) == "AKID0")));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Fresh credentials are reused without asking again.
        signing.identity().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn credentials_near_expiry_are_refreshed_in_the_background() {
        let (signing, calls) = chain(Duration::from_millis(800), Duration::from_millis(200));
        assert_eq!(access_key(&signing.identity().await.unwrap()), "AKID0");
        // Past three quarters of their life, still usable: served at once, refreshed
        // behind.
        tokio::time::sleep(Duration::from_millis(650)).await;
        let started = std::time::Instant::now();
        assert_eq!(access_key(&signing.identity().await.unwrap()), "AKID0");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(access_key(&signing.identity().await.unwrap()), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn expired_credentials_are_never_used() {
        let (signing, calls) = chain(Duration::from_millis(200), Duration::ZERO);
        assert_eq!(access_key(&signing.identity().await.unwrap()), "AKID0");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(access_key(&signing.identity().await.unwrap()), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
