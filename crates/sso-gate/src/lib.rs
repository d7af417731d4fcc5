//! Sign-in through the organisation's SSO, in front of any service.
//!
//! The gate answers "who is this?" for every request before the service behind it sees
//! the request. A request whose `assets_session_id` cookie names a session in the
//! [`SessionStore`](session_store::SessionStore) reaches the service, with a [`Person`]
//! in its extensions; any other request is answered by the gate:
//!
//! - anonymous (no cookie, or a session the store no longer has): a fresh state is saved
//!   with the URL asked for (and a PKCE verifier), and a 302 sends the browser to the
//!   SSO;
//! - `/__redirect_from_sso`, the OAuth2 callback: the code is exchanged for a token, a
//!   **new** session is saved, the cookie set, and the browser sent back to where it
//!   started — only ever on the origin the callback came to; an unknown or expired state
//!   gets a short page saying to try the original link again;
//! - a session whose grace period has passed has its token checked with the SSO again,
//!   once per session however many of its requests arrive together; a token the SSO no
//!   longer accepts means signing in again;
//! - the store or the SSO failing: 503 or 500, logged, tagged with a [`Failure`] for the
//!   service to report, with a page for browsers.
//!
//! [`GateSettings::public_paths`] are let through without a session (a health check's
//! path, say). The gate keeps the Redis keys, cookie and behaviour of the Python service
//! it replaced byte for byte, so instances of both can share sessions.
//!
//! It is a [`tower_layer::Layer`]: put it in front of a hyper, axum or any `tower`
//! service of `http::Request`s whose response body can be made from
//! [`Bytes`](bytes::Bytes). An [`Observer`] receives its events, for metrics.
//!
//! ```
//! use bytes::Bytes;
//! use http::{header, Request, Response, StatusCode};
//! use session_store::{MemoryStore, StoreTtls};
//! use sso_client::{SsoClient, SsoSettings};
//! use sso_gate::{GateLayer, GateSettings, Person};
//! use tower::{service_fn, Layer, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sso = SsoClient::new(SsoSettings::new(
//!     "https://sso.example.com/",
//!     "https://sso.example.com/",
//!     "client-id",
//!     "client-secret",
//! ))
//! .unwrap();
//! let gate = GateLayer::new(MemoryStore::new(StoreTtls::default()), sso, GateSettings::default());
//!
//! // The service behind it: only signed-in requests reach it.
//! let hello = service_fn(|request: Request<()>| async move {
//!     let person = request.extensions().get::<Person>().expect("signed in");
//!     let _ = person.session_id();
//!     Ok::<_, std::convert::Infallible>(Response::new(Bytes::from("hello")))
//! });
//! let service = gate.layer(hello);
//!
//! // Without a session, the gate sends the browser to the SSO.
//! let request = Request::get("/hello").header(header::HOST, "app.example.com").body(()).unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::FOUND);
//! let location = response.headers()[header::LOCATION].to_str().unwrap();
//! assert!(location.starts_with("https://sso.example.com/o/authorize/?"));
//! # });
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod binding;
mod core;
mod failure;
mod layer;
mod login;
mod observer;
mod pages;
mod person;
mod profile;
mod rules;
mod settings;
mod sign_out;
mod token_checks;

pub use binding::StateBinding;
pub use failure::Failure;
pub use http_input::{SameSite, CALLBACK_PATH, SESSION_COOKIE};

/// The reserved path that ends a session (`GET /__sign_out`).
pub const SIGN_OUT_PATH: &str = "/__sign_out";
pub use layer::{Gate, GateLayer};
pub use observer::{LoginStage, NoObserver, Observer, SessionLookup, TokenCheck, Upstream};
pub use pages::{failure_page, set_page_headers, wants_page};
pub use person::Person;
pub use rules::{AccessRules, Allowed, RulesError};
pub use settings::GateSettings;
pub use sso_client::Profile;
