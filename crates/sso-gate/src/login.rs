//! The OAuth2 authorization-code flow: sending anonymous users to the SSO, and the
//! callback that turns a code into a session.

use std::time::SystemTime;

use base64::Engine;
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Response, StatusCode};
use http_input::{callback_params, request_target, set_cookie, CallbackParams, Origin};
use rand::RngCore;
use session_store::{LoginState, SessionStore, StoreTtls};
use sso_client::{Nonce, Outcome, PkceVerifier, Profile, SsoError};

use crate::core::Core;
use crate::failure::{failed, SSO, STORE};
use crate::observer::LoginStage;
use crate::pages::{empty, redirect, sign_in_failed, state_expired};
use crate::profile;

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
        let nonce = self.sso.new_nonce();
        let callback = origin.callback_url();
        let location = match self
            .sso
            .sign_in_url(&state, &callback, pkce.as_ref(), nonce.as_ref())
        {
            Ok(location) => location,
            // An OpenID provider that was down at start: signed-in people carry on, new
            // sign-ins wait until discovery (retried in the background) succeeds.
            Err(SsoError::NotReady) => {
                return failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    SSO,
                    "cannot start a sign-in: the OpenID provider's discovery document has \
                     not been read yet"
                        .into(),
                )
            }
            Err(e) => {
                return failed(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    SSO,
                    format!("cannot start a sign-in: {e}"),
                )
            }
        };
        let login = LoginState::new(
            origin.url(request_target(parts)),
            pkce.as_ref().map(|v| v.as_str().to_string()),
        )
        .with_nonce(nonce.map(|n| n.as_str().to_string()));
        if let Err(e) = self.store_call(self.store.save_state(&state, &login)).await {
            return failed(
                StatusCode::SERVICE_UNAVAILABLE,
                STORE,
                format!("could not save login state: {e}"),
            );
        }
        let Ok(location) = HeaderValue::from_str(&location) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        let mut response = redirect(location);
        if let Some(binding) = &self.settings.bind_state {
            let ttl = StoreTtls::default().state.as_secs();
            let cookie = binding.set_cookie(&state, origin.https, ttl);
            // Hex state and hex value: always a valid header value.
            if let Ok(cookie) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
        }
        self.observer.login(LoginStage::Started);
        response
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
        if let Some(binding) = &self.settings.bind_state {
            if !binding.is_bound(&parts.headers, &state) {
                log::info!("a sign-in came back to another browser than began it: refused");
                self.observer.login(LoginStage::Failed);
                return state_expired();
            }
        }
        // The URL was built from the Host of whoever started the login, which anyone can
        // forge: a sign-in only ever returns to the origin it completes on.
        if !origin.is_origin_of(&login.original_url) {
            log::warn!("login state points to another origin than its callback: refused");
            self.observer.login(LoginStage::Failed);
            return empty(StatusCode::BAD_REQUEST);
        }
        // A sign-in begun before the provider became OpenID Connect has no nonce to
        // check an ID token against.
        if self.sso.is_oidc() && login.nonce.is_none() {
            self.observer.login(LoginStage::Failed);
            return state_expired();
        }
        // A sign-in started without PKCE (PKCE off, or by a Python instance during the
        // switch-over) is finished without it.
        let pkce = login.pkce_verifier.map(PkceVerifier::from_saved);
        let nonce = login.nonce.map(Nonce::from_saved);
        let finished = self
            .sso_call(self.sso.finish_sign_in(
                &code,
                &origin.callback_url(),
                pkce.as_ref(),
                nonce.as_ref(),
            ))
            .await;
        let signed_in = match finished {
            Outcome::Accepted(signed_in) => signed_in,
            Outcome::Rejected(status) => {
                log::info!("SSO refused the authorization code ({status})");
                self.observer.login(LoginStage::Failed);
                return empty(StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN));
            }
            Outcome::Failed(e) if e.id_token_check().is_some() => {
                let check = e.id_token_check().map_or("", |c| c.name());
                log::warn!("the provider's ID token failed its `{check}` check: sign-in refused");
                self.observer.login(LoginStage::Failed);
                return sign_in_failed();
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
        let token = signed_in.access_token;
        let profile = match (self.keeps_profiles(), signed_in.profile) {
            (false, _) => None,
            (true, Some(profile)) => Some(profile),
            // The staff SSO says who signed in only when asked.
            (true, None) => match self.fetch_profile(&token.0).await {
                Ok(profile) => Some(profile),
                Err(answer) => return answer,
            },
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
        if let Some(profile) = &profile {
            let id_token = signed_in.id_token.as_ref().map(|t| t.0.as_str());
            let encoded = profile::encode(profile);
            let saved = self
                .store_call(self.store.save_profile(&session_id, &encoded, id_token))
                .await;
            if let Err(e) = saved {
                return failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    STORE,
                    format!("could not save session: {e}"),
                );
            }
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
        if let Some(binding) = &self.settings.bind_state {
            if let Ok(clear) = HeaderValue::from_str(&binding.clear_cookie(&state, origin.https)) {
                response.headers_mut().append(header::SET_COOKIE, clear);
            }
        }
        self.observer.login(LoginStage::Completed);
        response
    }
}

impl<S: SessionStore> Core<S> {
    /// Who the new token's owner is, asked once right after the exchange.
    async fn fetch_profile(&self, token: &str) -> Result<Profile, Response<Bytes>> {
        match self.sso_call(self.sso.profile(token)).await {
            Outcome::Accepted(profile) => Ok(profile),
            Outcome::Rejected(status) => {
                log::info!("SSO refused the new token's profile ({status})");
                self.observer.login(LoginStage::Failed);
                Err(sign_in_failed())
            }
            Outcome::Failed(e) => {
                self.observer.login(LoginStage::Failed);
                Err(failed(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    SSO,
                    format!("SSO profile after sign-in failed: {e}"),
                ))
            }
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
