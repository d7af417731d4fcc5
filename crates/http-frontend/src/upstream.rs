//! Calls to Redis, the SSO and S3, timed for the metrics by outcome.

use std::future::Future;
use std::time::Instant;

use s3_streamer::{FetchError, ObjectRequest, ObjectResponse};
use s3proxy_metrics::{Outcome, Upstream};
use session_store::{SessionStore, StoreError};

use crate::app::App;

impl<S: SessionStore> App<S> {
    fn timed(&self, upstream: Upstream, ok: bool, started: Instant) {
        let outcome = if ok { Outcome::Ok } else { Outcome::Error };
        self.metrics()
            .upstream(upstream, outcome, started.elapsed());
    }

    /// A store operation; any error is a Redis error.
    pub(crate) async fn redis<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        self.timed(Upstream::Redis, result.is_ok(), started);
        result
    }

    /// An SSO call; a refusal (401, 403) is an answer, only `Failed` is an error.
    pub(crate) async fn sso_call<T>(
        &self,
        call: impl Future<Output = sso_client::Outcome<T>>,
    ) -> sso_client::Outcome<T> {
        let started = Instant::now();
        let outcome = call.await;
        let ok = !matches!(outcome, sso_client::Outcome::Failed(_));
        self.timed(Upstream::Sso, ok, started);
        outcome
    }

    /// An object request, to S3's response head; 304, 404, 412 and 416 are answers.
    pub(crate) async fn s3_fetch(
        &self,
        request: &ObjectRequest,
    ) -> Result<ObjectResponse, FetchError> {
        let started = Instant::now();
        let result = self.s3().fetch(request).await;
        let ok = !matches!(
            result,
            Err(FetchError::Failed(_) | FetchError::NoCredentials(_))
        );
        self.timed(Upstream::S3, ok, started);
        result
    }
}
