//! The application: parts it needs, routing, and the session check.

use std::sync::Arc;
use std::time::Instant;

use http::request::Parts;
use http::{Method as HttpMethod, Request, StatusCode};
use s3_streamer::{Method, S3Streamer};
use session_store::SessionStore;
use sso_client::{Outcome, SsoClient};

use crate::responses::{empty, method_not_allowed, HttpResponse};
use crate::settings::FrontendSettings;
use crate::tracking::{AccessLog, ConnActivity, InFlight};
use http_input::{decode_path, guard, session_id, CALLBACK_PATH};

/// Everything a request needs. Cheap to clone.
pub struct App<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        App {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<S> {
    store: S,
    sso: SsoClient,
    s3: S3Streamer,
    settings: FrontendSettings,
    inflight: InFlight,
}

impl<S: SessionStore> App<S> {
    pub fn new(store: S, sso: SsoClient, s3: S3Streamer, settings: FrontendSettings) -> App<S> {
        App {
            inner: Arc::new(Inner {
                store,
                sso,
                s3,
                settings,
                inflight: InFlight::default(),
            }),
        }
    }

    pub fn settings(&self) -> &FrontendSettings {
        &self.inner.settings
    }

    pub(crate) fn store(&self) -> &S {
        &self.inner.store
    }

    pub(crate) fn sso(&self) -> &SsoClient {
        &self.inner.sso
    }

    pub(crate) fn s3(&self) -> &S3Streamer {
        &self.inner.s3
    }

    pub(crate) fn inflight(&self) -> &InFlight {
        &self.inner.inflight
    }

    /// Answers one request; the response's body carries the access log line and the
    /// in-flight count until it is done.
    pub(crate) async fn handle<B>(
        &self,
        request: Request<B>,
        activity: &Arc<ConnActivity>,
    ) -> HttpResponse {
        let inflight = self.inner.inflight.start();
        let started = Instant::now();
        let (parts, _body) = request.into_parts();
        let mut response = self.route(&parts, activity).await;
        let log = AccessLog {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            status: response.status().as_u16(),
            bytes: 0,
            started,
            complete: false,
        };
        response.body_mut().track(log, inflight);
        response
    }

    async fn route(&self, parts: &Parts, activity: &Arc<ConnActivity>) -> HttpResponse {
        let method = match parts.method {
            HttpMethod::GET => Method::Get,
            HttpMethod::HEAD => Method::Head,
            _ => return method_not_allowed(),
        };
        let Ok(key) = decode_path(parts.uri.path()) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        // On the decoded key, so no encoding of the path reaches an object of that name.
        if key == CALLBACK_PATH[1..] {
            return self.callback(parts).await;
        }
        // Exactly the healthcheck object, and nothing else, skips the login.
        if key == self.inner.settings.healthcheck_key {
            return self.proxy(parts, method, &key, activity).await;
        }
        if let Some(refusal) = self.check_session(parts).await {
            return refusal;
        }
        match guard(&key) {
            Ok(key) => self.proxy(parts, method, key, activity).await,
            Err(_) => empty(StatusCode::NOT_FOUND),
        }
    }

    /// `None` when the request's session grants access, else the response to send
    /// instead (a login redirect or an error). One store round trip reads token and
    /// marker; the SSO is asked only once the marker (the grace period) has expired.
    async fn check_session(&self, parts: &Parts) -> Option<HttpResponse> {
        let Some(session_id) = session_id(&parts.headers) else {
            return Some(self.start_login(parts).await);
        };
        let session = match self.inner.store.load_session(&session_id).await {
            Ok(Some(session)) => session,
            Ok(None) => return Some(self.start_login(parts).await),
            Err(e) => {
                log::error!("could not read session: {e}");
                return Some(empty(StatusCode::SERVICE_UNAVAILABLE));
            }
        };
        if session.checked {
            return None;
        }
        match self.inner.sso.check_token(&session.token).await {
            Outcome::Accepted(()) => {
                if let Err(e) = self.inner.store.mark_checked(&session_id).await {
                    // The user is genuine; the SSO will just be asked again next time.
                    log::warn!("could not record token check: {e}");
                }
                None
            }
            Outcome::Rejected(status) => {
                log::info!("SSO no longer accepts a session's token ({status}): signing in again");
                Some(self.start_login(parts).await)
            }
            Outcome::Failed(e) => {
                log::error!("SSO token check failed: {e}");
                Some(empty(StatusCode::INTERNAL_SERVER_ERROR))
            }
        }
    }
}
