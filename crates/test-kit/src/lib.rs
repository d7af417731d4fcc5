//! Starts the real parts around s3proxy, for integration tests: a `redis-server` process,
//! the S3-compatible server of `dev-s3` (SigV4 checked), the SSO mock, and the proxy
//! binary itself, each on a free loopback port, each stopped when dropped. The two
//! processes (`redis-server`, the proxy) are started by the `launcher` crate, as
//! `cargo xtask up` and the benchmark start theirs; the S3 server and the SSO mock run in
//! the test's own process, so a test can stop, restart and reconfigure them. So do the
//! stand-ins for the AWS credential sources (an ECS credentials endpoint, STS for web
//! identity, IMDSv2), which issue short-lived credentials dev-s3 checks, and can be made
//! to hang, fail and recover ([`Behaviour`]). [`CertifiedProvider`] runs a certified
//! OpenID Provider (node-oidc-provider) the service was not written for.
//!
//! A part that cannot run here (no `redis-server` on PATH, say) fails the test with a
//! message saying how to install it: nothing is skipped silently.
//!
//! ```no_run
//! // In the proxy's own tests, `bin` is `env!("CARGO_BIN_EXE_s3proxy")`.
//! # async fn demo(bin: &str) {
//! let stack = test_kit::Stack::builder(bin).start().await;
//! stack.put_object("hello.txt", b"hi");
//! let mut browser = test_kit::Browser::new();
//! let page = browser.get(&stack.proxy.url("/hello.txt")).await;
//! assert_eq!(page.body, b"hi");
//! # }
//! ```

mod browser;
mod certified_provider;
mod credential_endpoint;
mod ecs_credentials;
mod imds;
mod objects;
mod ports;
mod proxy;
pub mod raw;
mod recorder;
mod redis_server;
mod sign_in_steps;
mod stack;
mod stale_connections;
mod sts;
mod test_ca;
mod tls_front;

pub use browser::{Browser, Page};
pub use certified_provider::{
    certified_provider_harness, CertifiedProvider, CERTIFIED_CLIENTS, CERTIFIED_EMAIL,
    CERTIFIED_GROUPS,
};
pub use credential_endpoint::{Behaviour, CredentialEndpoint, Issued};
pub use dev_s3::StoredHeaders;
pub use ecs_credentials::EcsCredentials;
pub use imds::{Imds, ImdsRequest, ImdsToken, INSTANCE_ROLE};
pub use objects::{put_object, put_object_with};
pub use ports::free_port;
pub use proxy::Proxy;
pub use raw::{get_on, raw_exchange, raw_exchange_bytes, raw_get, RawResponse};
pub use recorder::{Recorded, Recorder};
pub use redis_server::{RedisOptions, RedisServer};
pub use sign_in_steps::{authorize, login_at, pattern, query_param, state_of};
pub use stack::{
    start_s3, Stack, StackBuilder, BUCKET, HEALTHCHECK_KEY, S3_ACCESS_KEY, S3_SECRET_KEY,
};
pub use stale_connections::StaleConnections;
pub use sts::{StsWebIdentity, WEB_IDENTITY_ROLE_ARN};
pub use test_ca::TestCa;
pub use tls_front::TlsFront;
