//! The one way the project starts its processes: `cargo xtask up`, the smoke test, the
//! benchmark and test-kit (hence the integration and browser tests) all go through it.
//!
//! It owns what they share: free and taken ports ([`free_port`], [`ensure_free`]),
//! how each program of the stack is started ([`redis_server`], [`dev_s3`], [`sso_mock`],
//! [`s3proxy`]), where output goes ([`Output`]: a log file, lines prefixed on our own
//! output, a pipe), readiness ([`Ready`]), how long a process may outlive its launcher
//! ([`Lifetime`]), stopping (SIGTERM, then SIGKILL after a grace period) and the pid file
//! that `up --detach` leaves for `down` ([`Pidfile`]).
//!
//! Std and libc only, and synchronous: [`Process::poll_ready`] looks once, so async
//! callers wait between looks with their own timer.
//!
//! ```no_run
//! use std::time::Duration;
//! # fn demo() -> launcher::Result<()> {
//! let dir = std::env::temp_dir();
//! let spec = launcher::redis_server(launcher::free_port()?, &dir, &Default::default());
//! let output = launcher::Output::File(dir.join("redis.log"));
//! let mut redis = launcher::Process::spawn(spec, output, launcher::Lifetime::WithParent)?;
//! redis.wait_ready(Duration::from_secs(10), Duration::from_millis(50), || false)?;
//! redis.stop(Duration::from_secs(5));
//! # Ok(())
//! # }
//! ```

mod group;
mod pidfile;
mod ports;
mod probe;
mod process;
mod programs;
mod signals;
mod spawn_error;

pub use group::Group;
pub use pidfile::{Entry, Pidfile};
pub use ports::{accepts, ensure_free, free_port};
pub use probe::probe;
pub use process::{Lifetime, Output, Process, Ready, Spec};
pub use programs::{dev_s3, redis_server, s3proxy, sso_mock, RedisArgs, SsoMockArgs, TlsFiles};
pub use signals::{is_alive, runs, signal_group, stop_pids};
pub use spawn_error::spawn_error;

/// Failures are one readable message, naming what failed and where.
pub type Result<T> = std::result::Result<T, String>;

/// How often waits look again.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(50);
