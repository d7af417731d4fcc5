//! `GET /__sign_out`: the session ends here, on every instance, and at the provider when
//! it offers a sign-out of its own.

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Response, StatusCode};
use http_input::{clear_cookie, session_id, Origin};
use session_store::SessionStore;
use sso_client::IdToken;

use crate::core::Core;
use crate::failure::{failed, STORE};
use crate::pages::{empty, redirect, signed_out};

impl<S: SessionStore> Core<S> {
    /// Deletes the request's session (every key of it), expires its cookie, and sends
    /// the browser on: to the provider's sign-out, to the configured page, or to a "you
    /// are signed out" page. Without a session (or one the store no longer has) the
    /// answer is the same and nothing is deleted.
    pub(crate) async fn sign_out(&self, parts: &Parts) -> Response<Bytes> {
        let Ok(origin) = Origin::of(parts) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        let mut id_token = None;
        if let Some(session_id) = session_id(&parts.headers) {
            if self.sso.is_oidc() {
                id_token = match self.store_call(self.store.load_id_token(&session_id)).await {
                    Ok(token) => token.map(IdToken),
                    Err(e) => return self.store_failed(e),
                };
            }
            if let Err(e) = self
                .store_call(self.store.delete_session(&session_id))
                .await
            {
                return self.store_failed(e);
            }
        }
        self.observer.signed_out();
        let then = self.settings.sign_out_redirect.as_deref();
        let mut response = match self
            .sso
            .end_session_url(id_token.as_ref(), then)
            .or(then.map(str::to_string))
        {
            Some(url) => match HeaderValue::from_str(&url) {
                Ok(location) => redirect(location),
                // The provider's or the configured URL, never the request's: cannot happen
                // with a URL that parsed; a page is still a sign-out.
                Err(_) => signed_out(),
            },
            None => signed_out(),
        };
        let cookie = clear_cookie(origin.https, self.settings.cookie_samesite);
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }

    fn store_failed(&self, e: session_store::StoreError) -> Response<Bytes> {
        failed(
            StatusCode::SERVICE_UNAVAILABLE,
            STORE,
            format!("could not end a session: {e}"),
        )
    }
}
