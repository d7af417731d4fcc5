//! The HTTP side of s3proxy: a hyper 1 server that streams S3 objects to people signed
//! in through the SSO.
//!
//! - Routing: `GET`/`HEAD` only (anything else is 405), and other requests no object
//!   could answer (an over-long target, the asterisk form, a body) are refused before
//!   anything else; everything else goes through the sign-in gate
//!   ([`sso_gate`]: the callback, sign-in redirects, sessions, token re-checks), which
//!   lets signed-in requests — and requests for the healthcheck key, without a session —
//!   through to the object service.
//! - Proxying: the path is percent-decoded into a key, refused when it could leave the
//!   configured prefix, and the object is streamed with backpressure; `Range` and
//!   conditional headers go to S3, selected headers come back.
//! - Running: [`serve`] takes a listener and a shutdown future. On shutdown it stops
//!   accepting at once, lets responses in flight finish (up to a timeout), then closes
//!   everything. Slow clients are bounded: a header read timeout, a header size limit,
//!   and a cut for clients that stop reading a body.
//!
//! ```no_run
//! use http_frontend::{serve, App, FrontendSettings};
//! use s3_streamer::{S3Settings, S3Streamer};
//! use session_store::{MemoryStore, StoreTtls};
//! use sso_client::{SsoClient, SsoSettings};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new(StoreTtls::default());
//! let sso = SsoClient::new(SsoSettings::new(
//!     "https://sso.example.com/",
//!     "https://sso.example.com/",
//!     "client-id",
//!     "client-secret",
//! ))?;
//! let s3 = S3Streamer::new(S3Settings::new("eu-west-2", "my-bucket")).await?;
//! let app = App::new(store, sso, s3, FrontendSettings::new("healthcheck.txt"));
//!
//! let listener = http_frontend::bind(8080).await?;
//! serve(listener, app, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod app;
mod body;
mod conn_state;
mod connection;
mod metrics_server;
mod objects;
mod observer;
mod proxy;
mod report;
mod responses;
mod server;
mod settings;
mod traces;
mod tracking;

pub use app::App;
pub use http::HeaderValue;
pub use http_input::{check_key, KeyError, SameSite, CALLBACK_PATH, SESSION_COOKIE};
pub use metrics_server::serve_metrics;
pub use s3proxy_metrics::Metrics;
pub use server::{bind, serve};
pub use settings::FrontendSettings;
pub use sso_gate::{AccessRules, Allowed, RulesError, StateBinding};
