//! What `cargo xtask` and the benchmark (`crates/bench`) share about the local stack:
//! where the workspace, `.dev/` and the built binaries are and how commands are run
//! ([`workspace`]), the proxy's environment for the stack ([`devenv`]), HTTP to it with
//! every redirect seen ([`http`]), and Ctrl-C turned into a flag ([`signals`]).
//!
//! Tooling only: it never links the server crates, so that xtask builds quickly.

use std::time::Duration;

pub mod devenv;
pub mod http;
pub mod signals;
pub mod workspace;

/// Every task reports failure as one readable message.
pub type Result<T> = std::result::Result<T, String>;

/// How long parts get to exit on SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
