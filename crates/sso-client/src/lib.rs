//! A client for the organisation's SSO, an OAuth2 server, in the authorization-code flow.
//!
//! Three calls: the URL to send a browser to ([`SsoClient::authorize_url`]), the exchange
//! of the code the browser comes back with for an access token
//! ([`SsoClient::exchange_code`], `POST o/token/`), and the check that a token is still
//! good ([`SsoClient::check_token`], `GET api/v1/user/me/`). A [`PkceVerifier`] binds
//! the code to the sign-in that asked for it (RFC 7636, S256). One pooled HTTP client
//! (reqwest with rustls) is shared by all calls, and each call has a timeout. Outcomes
//! are typed: [`Outcome::Accepted`], [`Outcome::Rejected`] (the SSO said 401 or 403) or
//! [`Outcome::Failed`] (anything else: a network error, a timeout, an unexpected answer).
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
//! ```

mod client;
mod encode;
mod pkce;

pub use client::{AccessToken, Outcome, SsoClient, SsoError, SsoSettings};
pub use encode::encode_component;
pub use pkce::{s256_challenge, PkceVerifier};
