//! The OAuth2 authorization-code flow: sending anonymous users to the SSO, and the
//! callback that turns a code into a session.

use std::time::SystemTime;

use base64::Engine;
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Response, StatusCode};
use http_input::{callback_params, request_target, set_cookie, CallbackParams, Origin};
use rand::RngCore;
use session_store::{LoginState, SessionStore};
use sso_client::{Outcome, PkceVerifier};

use crate::core::Core;
use crate::failure::{failed, SSO, STORE};
use crate::observer::LoginStage;
use crate::pages::{empty, redirect, state_expired};

/// States are ours (64 hex characters); anything much longer is not worth a lookup.
const MAX_STATE_LEN: usize = 256;

/// Made by the gate itself (nothing outside failed).
const GATE: &str = "proxy";

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

impl<S: SessionStore> Core<S> {
    /// Remembers where the user wanted to go and sends them to the SSO.
    pub(crate) async fn start_login(&self, parts: &Parts) -> Response<Bytes> {
        let Ok(origin) = Origin::of(parts) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        let state = new_state();
        let pkce = self.settings.pkce.then(PkceVerifier::generate);
        let login = LoginState::new(
            origin.url(request_target(parts)),
            pkce.as_ref().map(|v| v.as_str().to_string()),
        );
        if let Err(e) = self.store_call(self.store.save_state(&state, &login)).await {
            return failed(
                StatusCode::SERVICE_UNAVAILABLE,
                STORE,
                format!("could not save login state: {e}"),
            );
        }
        let location = self
            .sso
            .authorize_url(&state, &origin.callback_url(), pkce.as_ref());
        match HeaderValue::from_str(&location) {
            Ok(location) => {
                self.observer.login(LoginStage::Started);
                redirect(location)
            }
            Err(_) => empty(StatusCode::BAD_REQUEST),
        }
    }

    /// `GET /__redirect_from_sso?code=…&state=…`.
    pub(crate) async fn callback(&self, parts: &Parts) -> Response<Bytes> {
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
            self.observer.login(LoginStage::Failed);
            return state_expired();
        }
        let login = match self.store_call(self.store.load_state(&state)).await {
            Ok(Some(login)) => login,
            Ok(None) => {
                self.observer.login(LoginStage::Failed);
                return state_expired();
            }
            Err(e) => {
                return failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    STORE,
                    format!("could not read login state: {e}"),
                )
            }
        };
        // The URL was built from the Host of whoever started the login, which anyone can
        // forge: a sign-in only ever returns to the origin it completes on.
        if !origin.is_origin_of(&login.original_url) {
            log::warn!("login state points to another origin than its callback: refused");
            self.observer.login(LoginStage::Failed);
            return empty(StatusCode::BAD_REQUEST);
        }
        // A sign-in started without PKCE (PKCE off, or by a Python instance during the
        // switch-over) is finished without it.
        let pkce = login.pkce_verifier.map(PkceVerifier::from_saved);
        let exchanged = self
            .sso_call(
                self.sso
                    .exchange_code(&code, &origin.callback_url(), pkce.as_ref()),
            )
            .await;
        let token = match exchanged {
            Outcome::Accepted(token) => token,
            Outcome::Rejected(status) => {
                log::info!("SSO refused the authorization code ({status})");
                self.observer.login(LoginStage::Failed);
                return empty(StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN));
            }
            Outcome::Failed(e) => {
                self.observer.login(LoginStage::Failed);
                return failed(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    SSO,
                    format!("SSO token exchange failed: {e}"),
                );
            }
        };
        // Always a new id: one the client brought could have been planted (fixation).
        let session_id = new_session_id();
        if let Err(e) = self
            .store_call(self.store.save_session(&session_id, &token.0))
            .await
        {
            return failed(
                StatusCode::SERVICE_UNAVAILABLE,
                STORE,
                format!("could not save session: {e}"),
            );
        }
        let Ok(location) = HeaderValue::from_str(&login.original_url) else {
            log::error!("stored original URL is not a valid Location");
            return empty(StatusCode::BAD_REQUEST);
        };
        let cookie = set_cookie(
            &session_id,
            origin.https,
            self.settings.cookie_samesite,
            SystemTime::now(),
        );
        let Ok(cookie) = HeaderValue::from_str(&cookie) else {
            return failed(
                StatusCode::INTERNAL_SERVER_ERROR,
                GATE,
                "the session cookie is not a valid header value".into(),
            );
        };
        let mut response = redirect(location);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
        self.observer.login(LoginStage::Completed);
        response
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
