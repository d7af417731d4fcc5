//! Calls to Redis, the SSO and S3, timed for the metrics by outcome, and traced as
//! children of the request's trace when one is in scope.

use std::future::Future;
use std::time::Instant;

use request_trace::{subsegment, Call};
use s3_streamer::{FetchError, Method, ObjectRequest, ObjectResponse};
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
        let trace = subsegment(Call::Redis);
        let result = call.await;
        trace.end(if result.is_ok() {
            request_trace::Outcome::Ok
        } else {
            request_trace::Outcome::Failed
        });
        self.timed(Upstream::Redis, result.is_ok(), started);
        result
    }

    /// An SSO call; a refusal (401, 403) is an answer, only `Failed` is an error.
    pub(crate) async fn sso_call<T>(
        &self,
        call: impl Future<Output = sso_client::Outcome<T>>,
    ) -> sso_client::Outcome<T> {
        let started = Instant::now();
        let trace = subsegment(Call::Sso);
        let outcome = call.await;
        trace.end(match &outcome {
            sso_client::Outcome::Accepted(_) => request_trace::Outcome::Ok,
            sso_client::Outcome::Rejected(status) => request_trace::Outcome::Status(*status),
            sso_client::Outcome::Failed(_) => request_trace::Outcome::Failed,
        });
        let ok = !matches!(outcome, sso_client::Outcome::Failed(_));
        self.timed(Upstream::Sso, ok, started);
        outcome
    }

    /// An object request, to S3's response head; 304, 404, 412 and 416 are answers.
    /// It carries the trace's headers, so S3's own segment joins the trace.
    pub(crate) async fn s3_fetch(
        &self,
        mut request: ObjectRequest,
    ) -> Result<ObjectResponse, FetchError> {
        let started = Instant::now();
        let operation = match request.method {
            Method::Get => "GetObject",
            Method::Head => "HeadObject",
        };
        let bucket = self.s3().bucket();
        let trace = subsegment(Call::S3 { operation, bucket });
        request.unsigned_headers = trace.propagation_headers();
        let result = self.s3().fetch(&request).await;
        trace.end(match &result {
            Ok(object) => request_trace::Outcome::Status(object.status.as_u16()),
            Err(FetchError::Failed(_)) => request_trace::Outcome::Failed,
            Err(answer) => request_trace::Outcome::Status(answer.status().as_u16()),
        });
        let ok = !matches!(result, Err(FetchError::Failed(_)));
        self.timed(Upstream::S3, ok, started);
        result
    }
}
