//! A configurable stand-in for the organisation's SSO (an OAuth2 server), for
//! integration tests and local development of s3proxy.
//!
//! It serves, on a loopback port, the three endpoints s3proxy uses
//! (paths relative to [`SsoMock::url`]):
//!
//! - `GET /o/authorize/` — checks `client_id`, `response_type=code`,
//!   `redirect_uri` and `state`, then either redirects at once to
//!   `<redirect_uri>?code=<code>&state=<state>` or, with
//!   [`MockConfig::login_page`], shows a "Sign in" page whose button POSTs to
//!   `/o/authorize/` and gets that redirect;
//! - `POST /o/token/` — exchanges [`MockConfig::code`] for the next token of
//!   [`MockConfig::tokens`];
//! - `GET /api/v1/user/me/` — answers who a bearer token belongs to.
//!
//! With [`MockConfig::oidc`] it is an OpenID Provider too ([`OidcMock`]): discovery,
//! a JWKS of keys it generates (RSA, EC, Ed25519; [`SsoMock::rotate_keys`]), ID tokens
//! signed with them, userinfo and end-session, and [`Misbehaviour`]s that make it lie
//! in each way a client must refuse.
//!
//! Anything else is a 404. Failures of the real SSO are simulated with
//! [`MockConfig::token_status`], [`MockConfig::me_status`],
//! [`MockConfig::me_accepted_tokens`] and [`MockConfig::hang`], changeable
//! while running with [`SsoMock::update`]. Bad requests get a 4xx, never a
//! panic.
//!
//! The `sso-mock` binary runs it stand-alone for local development
//! (`sso-mock --help`).
//!
//! # Example
//!
//! ```
//! use sso_mock::{MockConfig, SsoMock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let mut sso = SsoMock::start(MockConfig::default()).await?;
//! assert_eq!(sso.url(), format!("http://127.0.0.1:{}/", sso.port()));
//!
//! // Make the user endpoint fail from now on.
//! sso.update(|config| config.me_status = 500);
//! assert_eq!(sso.me_calls(), 0);
//!
//! sso.stop().await;
//! # Ok(())
//! # }
//! ```

mod config;
mod keys;
mod oidc;
mod page;
mod routes;
mod server;
mod state;

pub use config::{Misbehaviour, MockConfig, OidcMock, SigningAlg};
pub use server::SsoMock;
pub use state::random_string;
