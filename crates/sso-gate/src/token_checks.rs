//! One token check per session at a time, within this process.
//!
//! When a session's "checked" marker expires, a page with fifty images sends fifty
//! requests at once, and each would ask the SSO. Here the first one asks; the others
//! wait for its outcome and share it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use sso_client::Profile;
use tokio::sync::watch;

/// What a token check came to, shareable between the requests that waited for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckOutcome {
    /// With the owner's profile when profiles are kept.
    Accepted(Option<Profile>),
    /// The SSO refused the token with this status.
    Rejected(u16),
    /// No usable answer; the message is for the log.
    Failed(String),
}

type Pending = watch::Receiver<Option<CheckOutcome>>;

#[derive(Default)]
pub(crate) struct TokenChecks {
    running: Mutex<HashMap<String, Pending>>,
}

enum Role {
    /// Another request is checking this session: wait for it.
    Wait(Pending),
    /// This request checks, and publishes the outcome through the sender.
    Check(watch::Sender<Option<CheckOutcome>>),
}

impl TokenChecks {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Pending>> {
        // Each critical section is one lookup or insert: a poisoned map is still whole.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `check`'s outcome for `session_id`: run here, unless a check of that session is
    /// already running, whose outcome is then shared. If that check is abandoned (its
    /// request went away), a waiting request runs one itself.
    pub(crate) async fn run<F, Fut>(&self, session_id: &str, check: F) -> CheckOutcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CheckOutcome>,
    {
        let mut check = Some(check);
        loop {
            let role = {
                let mut running = self.lock();
                match running.get(session_id) {
                    Some(pending) => Role::Wait(pending.clone()),
                    None => {
                        let (tx, rx) = watch::channel(None);
                        running.insert(session_id.to_string(), rx);
                        Role::Check(tx)
                    }
                }
            };
            match role {
                Role::Wait(mut pending) => {
                    if let Ok(outcome) = pending.wait_for(Option::is_some).await {
                        if let Some(outcome) = outcome.clone() {
                            return outcome;
                        }
                    }
                    // The checking request was dropped before it finished: try again.
                }
                Role::Check(tx) => {
                    let _running = Registration {
                        checks: self,
                        session_id,
                    };
                    let Some(check) = check.take() else {
                        // Unreachable: a request checks at most once, then returns.
                        return CheckOutcome::Failed("token check ran twice".into());
                    };
                    let outcome = check().await;
                    let _ = tx.send(Some(outcome.clone()));
                    return outcome;
                }
            }
        }
    }
}

/// Removes a session's entry when its check ends, however it ends.
struct Registration<'a> {
    checks: &'a TokenChecks,
    session_id: &'a str,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.checks.lock().remove(self.session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    async fn slow_check(calls: &AtomicUsize, outcome: CheckOutcome) -> CheckOutcome {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome
    }

    #[tokio::test]
    async fn concurrent_checks_of_one_session_share_one_call() {
        let checks = Arc::new(TokenChecks::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (checks, calls) = (checks.clone(), calls.clone());
                tokio::spawn(async move {
                    checks
                        .run("s1", || slow_check(&calls, CheckOutcome::Rejected(401)))
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), CheckOutcome::Rejected(401));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(checks.lock().is_empty(), "entry left behind");
    }

    #[tokio::test]
    async fn different_sessions_check_separately() {
        let checks = TokenChecks::default();
        let calls = AtomicUsize::new(0);
        let (a, b) = tokio::join!(
            checks.run("a", || slow_check(&calls, CheckOutcome::Accepted(None))),
            checks.run("b", || slow_check(&calls, CheckOutcome::Accepted(None))),
        );
        assert_eq!(
            (a, b),
            (CheckOutcome::Accepted(None), CheckOutcome::Accepted(None))
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_abandoned_check_is_taken_over() {
        let checks = Arc::new(TokenChecks::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let first = tokio::spawn({
            let (checks, calls) = (checks.clone(), calls.clone());
            async move {
                checks
                    .run("s", || slow_check(&calls, CheckOutcome::Accepted(None)))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = tokio::spawn({
            let (checks, calls) = (checks.clone(), calls.clone());
            async move {
                checks
                    .run("s", || slow_check(&calls, CheckOutcome::Failed("x".into())))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        let outcome = tokio::time::timeout(Duration::from_secs(2), second)
            .await
            .expect("the waiter hung")
            .unwrap();
        assert_eq!(outcome, CheckOutcome::Failed("x".into()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
