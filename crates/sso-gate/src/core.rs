//! The gate's decision for one request: answer it (the callback, a sign-in redirect, a
//! failure), or let it through, with the person it comes from.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use http_input::{decode_path, session_id, CALLBACK_PATH};
use request_trace::{subsegment, Call, Outcome as TraceOutcome};
use session_store::{CacheLookup, Session, SessionStore, StoreError};
use sso_client::{Outcome, Profile, SsoClient};

use crate::failure::{failed, SSO, STORE};
use crate::observer::{Observer, SessionLookup, TokenCheck, Upstream};
use crate::pages::{access_denied, empty};
use crate::person::Person;
use crate::profile;
use crate::settings::GateSettings;
use crate::token_checks::{CheckOutcome, TokenChecks};
use crate::SIGN_OUT_PATH;

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
        if path == SIGN_OUT_PATH[1..] {
            return Decision::Answer(Box::pin(self.sign_out(parts)).await);
        }
        if self.settings.public_paths.contains(&path) {
            return Decision::Pass(None);
        }
        let person = match self.check_session(parts).await {
            Ok(person) => person,
            Err(answer) => return Decision::Answer(answer),
        };
        let rules = &self.settings.access_rules;
        if rules.is_configured() && !rules.allows(&path, person.profile.as_ref()) {
            self.observer.access_denied();
            log::info!("the access rules refuse a signed-in person this path");
            return Decision::Answer(access_denied(parts, person.email()));
        }
        Decision::Pass(Some(person))
    }

    /// Whether sessions keep the person's profile: for access rules, or always with an
    /// OpenID provider (whose ID token says who signed in). Otherwise nothing is fetched
    /// or kept beyond what the Python service kept.
    pub(crate) fn keeps_profiles(&self) -> bool {
        self.settings.access_rules.is_configured() || self.sso.is_oidc()
    }

    /// The session, and its profile when profiles are kept: from the store's cache when
    /// it holds them, else in one round trip (which caches them).
    async fn load(
        &self,
        session_id: &str,
    ) -> Result<Option<(Session, Option<Profile>)>, StoreError> {
        let keeps_profiles = self.keeps_profiles();
        let decoded = |(session, kept): (Session, Option<String>)| {
            (session, kept.as_deref().and_then(profile::decode))
        };
        let cached = if keeps_profiles {
            self.store.cached_session_with_profile(session_id)
        } else {
            self.store
                .cached_session(session_id)
                .map(|session| (session, None))
        };
        // From the store's own cache when it holds the session: no round trip, so not
        // timed as one.
        let lookup = match cached {
            CacheLookup::Hit(loaded) => {
                self.observer.session_lookup(SessionLookup::Hit);
                return Ok(Some(decoded(loaded)));
            }
            CacheLookup::Miss => Some(SessionLookup::Miss),
            CacheLookup::Off => Some(SessionLookup::Off),
            CacheLookup::Uncached => None,
        };
        if let Some(lookup) = lookup {
            self.observer.session_lookup(lookup);
        }
        let loaded = if keeps_profiles {
            self.store_call(self.store.load_session_with_profile(session_id))
                .await?
        } else {
            let session = self.store_call(self.store.load_session(session_id)).await?;
            session.map(|session| (session, None))
        };
        Ok(loaded.map(decoded))
    }

    /// The request's person when its session grants access, else the response to send
    /// instead (a sign-in redirect or an error). One store round trip reads token and
    /// marker; the SSO is asked only once the marker (the grace period) has expired.
    async fn check_session(&self, parts: &Parts) -> Result<Person, Response<Bytes>> {
        let Some(session_id) = session_id(&parts.headers) else {
            return Err(self.start_login(parts).await);
        };
        let (session, mut profile) = match self.load(&session_id).await {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return Err(self.start_login(parts).await),
            Err(e) => {
                return Err(failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    STORE,
                    format!("could not read session: {e}"),
                ))
            }
        };
        // A kept profile that is missing (a session from before the rules, or from the
        // Python service) is fetched like one whose grace period passed.
        let missing_profile = self.keeps_profiles() && profile.is_none();
        if !session.checked || missing_profile {
            let outcome = self
                .token_checks
                .run(&session_id, || {
                    self.check_token(&session_id, &session.token, profile.clone())
                })
                .await;
            match outcome {
                CheckOutcome::Accepted(fresh) => profile = fresh.or(profile),
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
        Ok(Person {
            session_id,
            profile,
        })
    }

    /// Asks the SSO about a session's token — and, when profiles are kept, who its owner
    /// is now, in the same call — and records a yes for the grace period.
    async fn check_token(
        &self,
        session_id: &str,
        token: &str,
        kept: Option<Profile>,
    ) -> CheckOutcome {
        let outcome = if self.keeps_profiles() {
            match self.sso_call(self.sso.profile(token)).await {
                Outcome::Accepted(now) => Outcome::Accepted(Some(match kept {
                    // What the provider leaves out now (some put groups only in the ID
                    // token) is kept.
                    Some(kept) => kept.updated_with(now),
                    None => now,
                })),
                Outcome::Rejected(status) => Outcome::Rejected(status),
                Outcome::Failed(e) => Outcome::Failed(e),
            }
        } else {
            match self.sso_call(self.sso.check_token(token)).await {
                Outcome::Accepted(()) => Outcome::Accepted(None),
                Outcome::Rejected(status) => Outcome::Rejected(status),
                Outcome::Failed(e) => Outcome::Failed(e),
            }
        };
        match outcome {
            Outcome::Accepted(profile) => {
                self.observer.token_check(TokenCheck::Accepted);
                if let Some(profile) = &profile {
                    let encoded = profile::encode(profile);
                    let saved = self
                        .store_call(self.store.save_profile(session_id, &encoded, None))
                        .await;
                    if let Err(e) = saved {
                        log::warn!("could not keep a session's profile: {e}");
                    }
                }
                if let Err(e) = self.store_call(self.store.mark_checked(session_id)).await {
                    // The user is genuine; the SSO will just be asked again next time.
                    log::warn!("could not record token check: {e}");
                }
                CheckOutcome::Accepted(profile)
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
        let trace = subsegment(Call::Redis);
        let result = call.await;
        trace.end(if result.is_ok() {
            TraceOutcome::Ok
        } else {
            TraceOutcome::Failed
        });
        self.observer
            .upstream(Upstream::Store, result.is_ok(), started.elapsed());
        result
    }

    /// An SSO call, timed; a refusal (401, 403) is an answer, only `Failed` an error.
    pub(crate) async fn sso_call<T>(&self, call: impl Future<Output = Outcome<T>>) -> Outcome<T> {
        let started = Instant::now();
        let trace = subsegment(Call::Sso);
        let outcome = call.await;
        trace.end(match &outcome {
            Outcome::Accepted(_) => TraceOutcome::Ok,
            Outcome::Rejected(status) => TraceOutcome::Status(*status),
            Outcome::Failed(_) => TraceOutcome::Failed,
        });
        let ok = !matches!(outcome, Outcome::Failed(_));
        self.observer.upstream(Upstream::Sso, ok, started.elapsed());
        outcome
    }
}
