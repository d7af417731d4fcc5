//! The gate as a `tower` layer: in front of any service of `http::Request`s.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use session_store::SessionStore;
use sso_client::SsoClient;
use tower_layer::Layer;
use tower_service::Service;

use crate::core::{Core, Decision};
use crate::observer::{NoObserver, Observer};
use crate::pages::explained;
use crate::settings::GateSettings;

/// Puts [`Gate`] in front of a service. Cheap to clone: clones share the session store,
/// the SSO client and the token checks under way.
pub struct GateLayer<S> {
    core: Arc<Core<S>>,
}

impl<S> Clone for GateLayer<S> {
    fn clone(&self) -> Self {
        GateLayer {
            core: self.core.clone(),
        }
    }
}

impl<S: SessionStore> GateLayer<S> {
    /// A gate that keeps sessions in `store` and signs people in through `sso`.
    pub fn new(store: S, sso: SsoClient, settings: GateSettings) -> GateLayer<S> {
        GateLayer::observed(store, sso, settings, NoObserver)
    }

    /// The same, telling `observer` of sign-ins, token checks and its calls' timings.
    pub fn observed(
        store: S,
        sso: SsoClient,
        settings: GateSettings,
        observer: impl Observer,
    ) -> GateLayer<S> {
        GateLayer {
            core: Arc::new(Core::new(store, sso, settings, Arc::new(observer))),
        }
    }
}

impl<S, I> Layer<I> for GateLayer<S> {
    type Service = Gate<I, S>;

    fn layer(&self, inner: I) -> Gate<I, S> {
        Gate {
            core: self.core.clone(),
            inner,
        }
    }
}

/// A service behind the sign-in: requests with a valid session reach `inner` with a
/// [`Person`](crate::Person) in their extensions, as do requests for the public paths
/// (without one); the gate answers everything else itself — the callback, sign-in
/// redirects, refusals and failures (5xx, tagged with a [`Failure`](crate::Failure)).
pub struct Gate<I, S> {
    core: Arc<Core<S>>,
    inner: I,
}

impl<I: Clone, S> Clone for Gate<I, S> {
    fn clone(&self) -> Self {
        Gate {
            core: self.core.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<I, S, ReqBody, ResBody> Service<Request<ReqBody>> for Gate<I, S>
where
    I: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    I::Future: Send,
    S: SessionStore + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = I::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, I::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), I::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let core = self.core.clone();
        // The service that was polled ready serves this request; the clone stays for the
        // next (tower's documented pattern).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match core.decide(&parts).await {
                Decision::Pass(person) => {
                    if let Some(person) = person {
                        parts.extensions.insert(person);
                    }
                    inner.call(Request::from_parts(parts, body)).await
                }
                Decision::Answer(response) => Ok(explained(response, &parts).map(ResBody::from)),
            }
        })
    }
}
