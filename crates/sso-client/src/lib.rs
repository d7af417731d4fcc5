//! A sign-in client for the organisation's SSO (an OAuth2 server) or any OpenID Connect
//! provider, in the authorization-code flow.
//!
//! [`SsoSettings::provider`] chooses the protocol; the gate calls the same methods in
//! both modes:
//!
//! - [`SsoClient::sign_in_url`]: where to send a browser, with the state, a
//!   [`PkceVerifier`]'s challenge (RFC 7636, S256) and, in OpenID mode, a [`Nonce`]
//!   ([`SsoClient::new_nonce`]);
//! - [`SsoClient::finish_sign_in`]: the code the browser comes back with, exchanged for
//!   an access token — and in OpenID mode an ID token, verified (signature against the
//!   provider's keys, issuer, audience, expiry, nonce) before anything is returned, and
//!   the person's [`Profile`];
//! - [`SsoClient::check_token`] and [`SsoClient::profile`]: whether a token is still
//!   good, and what the provider says about its owner now;
//! - [`SsoClient::end_session_url`]: OpenID Connect's sign-out at the provider.
//!
//! The staff SSO ([`Provider::StaffSso`], the default) is reached at fixed paths under
//! its root URL: `o/authorize/`, `o/token/`, `api/v1/user/me/`
//! ([`SsoClient::authorize_url`] and [`SsoClient::exchange_code`] are its two calls).
//! An OpenID provider ([`Provider::Oidc`]) is found through its discovery document,
//! read by [`SsoClient::spawn_discovery`] in the background until it succeeds.
//!
//! One pooled HTTP client (reqwest with rustls) is shared by all calls, and each call has
//! a timeout. Outcomes are typed: [`Outcome::Accepted`], [`Outcome::Rejected`] (the SSO
//! said 401 or 403) or [`Outcome::Failed`] (anything else: a network error, a timeout, an
//! unexpected answer, [`SsoError::NotReady`], or an ID token refused,
//! [`SsoError::IdToken`]). Tokens, nonces and verifiers never appear in `Debug` output or
//! errors.
//!
//! ```
//! use sso_client::{PkceVerifier, SsoClient, SsoSettings};
//!
//! let sso = SsoClient::new(SsoSettings::new(
//!     "https://sso.example.com/",
//!     "http://sso.internal:8001/",
//!     "my-client-id",
//!     "my-client-secret",
//! ))
//! .unwrap();
//! let url = sso.authorize_url("0123abcd", "https://assets.example.com/__redirect_from_sso", None);
//! assert_eq!(
//!     url,
//!     "https://sso.example.com/o/authorize/?scope=read%20write&state=0123abcd\
//!      &redirect_uri=https%3A%2F%2Fassets.example.com%2F__redirect_from_sso\
//!      &response_type=code&client_id=my-client-id"
//! );
//!
//! // With PKCE (RFC 7636), the verifier stays with us until the code is exchanged.
//! let verifier = PkceVerifier::generate();
//! let url = sso.authorize_url("0123abcd", "https://assets.example.com/cb", Some(&verifier));
//! assert!(url.ends_with(&format!("&code_challenge={}&code_challenge_method=S256", verifier.challenge())));
//!
//! // The staff SSO has no nonce, and needs no discovery.
//! assert!(sso.new_nonce().is_none() && sso.is_ready());
//! ```
//!
//! In OpenID mode:
//!
//! ```
//! use sso_client::{OidcSettings, Provider, SsoClient, SsoError, SsoSettings};
//!
//! let mut settings = SsoSettings::new(
//!     "https://id.example.com/realms/staff",
//!     "http://keycloak.internal:8080/",
//!     "my-client-id",
//!     "my-client-secret",
//! );
//! settings.provider = Provider::Oidc(OidcSettings::default());
//! let sso = SsoClient::new(settings).unwrap();
//! let nonce = sso.new_nonce().expect("OpenID sign-ins have a nonce");
//! // Before discovery succeeded (`sso.spawn_discovery()` in a Tokio runtime), sign-ins
//! // cannot start.
//! assert!(matches!(
//!     sso.sign_in_url("0123abcd", "https://assets.example.com/cb", None, Some(&nonce)),
//!     Err(SsoError::NotReady)
//! ));
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod client;
mod encode;
mod error;
mod oidc;
mod pkce;
mod profile;
mod secrets;
mod settings;

pub use client::{SignIn, SsoClient};
pub use encode::encode_component;
pub use error::{IdTokenCheck, Outcome, SsoError};
pub use pkce::{s256_challenge, PkceVerifier};
pub use profile::Profile;
pub use secrets::{constant_time_eq, AccessToken, IdToken, Nonce};
pub use settings::{OidcSettings, Provider, SsoSettings};
