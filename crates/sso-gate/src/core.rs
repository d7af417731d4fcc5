//! The gate's decision for one request: answer it (the callback, a sign-in redirect, a
//! failure), or let it through, with the person it comes from.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use http_input::{decode_path, session_id, CALLBACK_PATH};
use session_store::{SessionStore, StoreError};
use sso_client::{Outcome, SsoClient};

use crate::failure::{failed, SSO, STORE};
use crate::observer::{Observer, TokenCheck, Upstream};
use crate::pages::empty;
use crate::person::Person;
use crate::settings::GateSettings;
use crate::token_checks::{CheckOutcome, TokenChecks};

/// What the gate does with a request.
pub(crate) enum Decision {
    /// Let it through: signed in (with the person), or a public path (`None`).
    Pass(Option<Person>),
    /// Answer it here.
    Answer(Response<Bytes>),
}

/// Everything the gate needs, shared by all its clones.
pub(crate) struct Core<S> {
    pub(crate) store: S,
    pub(crate) sso: SsoClient,
    pub(crate) settings: GateSettings,
    pub(crate) observer: Arc<dyn Observer>,
    token_checks: TokenChecks,
}

impl<S: SessionStore> Core<S> {
    pub(crate) fn new(
        store: S,
        sso: SsoClient,
        settings: GateSettings,
        observer: Arc<dyn Observer>,
    ) -> Core<S> {
        Core {
            store,
            sso,
            settings,
            observer,
            token_checks: TokenChecks::default(),
        }
    }

    pub(crate) async fn decide(&self, parts: &Parts) -> Decision {
        let Ok(path) = decode_path(parts.uri.path()) else {
            return Decision::Answer(empty(StatusCode::BAD_REQUEST));
        };
        // On the decoded path, so no encoding of it reaches the service behind under
        // the reserved name. Boxed: the callback's future is large, and most requests
        // never take that branch.
        if path == CALLBACK_PATH[1..] {
            return Decision::Answer(Box::pin(self.callback(parts)).await);
        }
        if self.settings.public_paths.contains(&path) {
            return Decision::Pass(None);
        }
        match self.check_session(parts).await {
            Ok(person) => Decision::Pass(Some(person)),
            Err(answer) => Decision::Answer(answer),
        }
    }

    /// The request's person when its session grants access, else the response to send
    /// instead (a sign-in redirect or an error). One store round trip reads token and
    /// marker; the SSO is asked only once the marker (the grace period) has expired.
    async fn check_session(&self, parts: &Parts) -> Result<Person, Response<Bytes>> {
        let Some(session_id) = session_id(&parts.headers) else {
            return Err(self.start_login(parts).await);
        };
        let session = match self.store_call(self.store.load_session(&session_id)).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(self.start_login(parts).await),
            Err(e) => {
                return Err(failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    STORE,
                    format!("could not read session: {e}"),
                ))
            }
        };
        if !session.checked {
            let outcome = self
                .token_checks
                .run(&session_id, || {
                    self.check_token(&session_id, &session.token)
                })
                .await;
            match outcome {
                CheckOutcome::Accepted => {}
                CheckOutcome::Rejected(status) => {
                    log::info!(
                        "SSO no longer accepts a session's token ({status}): signing in again"
                    );
                    return Err(self.start_login(parts).await);
                }
                CheckOutcome::Failed(e) => {
                    return Err(failed(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        SSO,
                        format!("SSO token check failed: {e}"),
                    ))
                }
            }
        }
        Ok(Person { session_id })
    }

    /// Asks the SSO about a session's token, and records a yes for the grace period.
    async fn check_token(&self, session_id: &str, token: &str) -> CheckOutcome {
        match self.sso_call(self.sso.check_token(token)).await {
            Outcome::Accepted(()) => {
                self.observer.token_check(TokenCheck::Accepted);
                if let Err(e) = self.store_call(self.store.mark_checked(session_id)).await {
                    // The user is genuine; the SSO will just be asked again next time.
                    log::warn!("could not record token check: {e}");
                }
                CheckOutcome::Accepted
            }
            Outcome::Rejected(status) => {
                self.observer.token_check(TokenCheck::Rejected);
                CheckOutcome::Rejected(status)
            }
            Outcome::Failed(e) => {
                self.observer.token_check(TokenCheck::Failed);
                CheckOutcome::Failed(e.to_string())
            }
        }
    }

    /// A session store operation, timed; any error is the store's.
    pub(crate) async fn store_call<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        self.observer
            .upstream(Upstream::Store, result.is_ok(), started.elapsed());
        result
    }

    /// An SSO call, timed; a refusal (401, 403) is an answer, only `Failed` an error.
    pub(crate) async fn sso_call<T>(&self, call: impl Future<Output = Outcome<T>>) -> Outcome<T> {
        let started = Instant::now();
        let outcome = call.await;
        let ok = !matches!(outcome, Outcome::Failed(_));
        self.observer.upstream(Upstream::Sso, ok, started.elapsed());
        outcome
    }
}
