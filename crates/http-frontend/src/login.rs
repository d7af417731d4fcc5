//! The OAuth2 authorization-code flow: sending anonymous users to the SSO, and the
//! callback that turns a code into a session.

use std::time::SystemTime;

use base64::Engine;
use http::request::Parts;
use http::{header, HeaderValue, StatusCode};
use rand::RngCore;
use session_store::SessionStore;
use sso_client::Outcome;

use crate::app::App;
use crate::responses::{empty, redirect, state_expired, HttpResponse};
use http_input::{callback_params, request_target, set_cookie, CallbackParams, Origin};

/// States are ours (64 hex characters); anything much longer is not worth a lookup.
const MAX_STATE_LEN: usize = 256;

/// 32 bytes from the CSPRNG, hex.
fn new_state() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// 64 bytes from the CSPRNG, URL-safe base64 without padding (like Python's
/// `secrets.token_urlsafe(64)`).
fn new_session_id() -> String {
    let mut bytes = [0u8; 64];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl<S: SessionStore> App<S> {
    /// Remembers where the user wanted to go and sends them to the SSO.
    pub(crate) async fn start_login(&self, parts: &Parts) -> HttpResponse {
        let Ok(origin) = Origin::of(parts) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        let state = new_state();
        let original_url = origin.url(request_target(parts));
        if let Err(e) = self.store().save_state(&state, &original_url).await {
            log::error!("could not save login state: {e}");
            return empty(StatusCode::SERVICE_UNAVAILABLE);
        }
        let location = self.sso().authorize_url(&state, &origin.callback_url());
        match HeaderValue::from_str(&location) {
            Ok(location) => redirect(location),
            Err(_) => empty(StatusCode::BAD_REQUEST),
        }
    }

    /// `GET /__redirect_from_sso?code=…&state=…`.
    pub(crate) async fn callback(&self, parts: &Parts) -> HttpResponse {
        // Missing, empty, or a code no SSO would send (over 1 KiB): refused before the
        // store or the SSO is asked anything.
        let Some(CallbackParams { code, state }) = callback_params(parts.uri.query().unwrap_or(""))
        else {
            return empty(StatusCode::BAD_REQUEST);
        };
        let Ok(origin) = Origin::of(parts) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        if state.len() > MAX_STATE_LEN {
            return state_expired();
        }
        let original_url = match self.store().load_state(&state).await {
            Ok(Some(url)) => url,
            Ok(None) => return state_expired(),
            Err(e) => {
                log::error!("could not read login state: {e}");
                return empty(StatusCode::SERVICE_UNAVAILABLE);
            }
        };
        // The URL was built from the Host of whoever started the login, which anyone can
        // forge: a sign-in only ever returns to the origin it completes on.
        if !origin.is_origin_of(&original_url) {
            log::warn!("login state points to another origin than its callback: refused");
            return empty(StatusCode::BAD_REQUEST);
        }
        let token = match self
            .sso()
            .exchange_code(&code, &origin.callback_url())
            .await
        {
            Outcome::Accepted(token) => token,
            Outcome::Rejected(status) => {
                log::info!("SSO refused the authorization code ({status})");
                return empty(StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN));
            }
            Outcome::Failed(e) => {
                log::error!("SSO token exchange failed: {e}");
                return empty(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        // Always a new id: one the client brought could have been planted (fixation).
        let session_id = new_session_id();
        if let Err(e) = self.store().save_session(&session_id, &token.0).await {
            log::error!("could not save session: {e}");
            return empty(StatusCode::SERVICE_UNAVAILABLE);
        }
        let Ok(location) = HeaderValue::from_str(&original_url) else {
            log::error!("stored original URL is not a valid Location");
            return empty(StatusCode::BAD_REQUEST);
        };
        let cookie = set_cookie(
            &session_id,
            origin.https,
            self.settings().cookie_samesite,
            SystemTime::now(),
        );
        let mut response = redirect(location);
        match HeaderValue::from_str(&cookie) {
            Ok(cookie) => {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
                response
            }
            Err(_) => empty(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_session_ids_have_the_contract_shape() {
        let state = new_state();
        assert_eq!(state.len(), 64);
        assert!(state.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(state, new_state());
        let id = new_session_id();
        assert_eq!(id.len(), 86, "64 bytes in unpadded base64");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
