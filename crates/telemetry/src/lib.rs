//! What a long-running service tells its operators, without ever being slowed by it.
//!
//! [`init_sentry`] starts the official Sentry client for errors, panics and (sampled)
//! request transactions: environment and `instance_id` tags (the ECS task id, from
//! [`resolve_instance_id`]), and a scrubber that keeps only a request's method and URL
//! without its query, so no cookie, code, state or token can reach Sentry.
//!
//! [`init_logging`] installs `env_logger` (filtered by `RUST_LOG`, default `info`)
//! writing through a [`NonBlockingWriter`]: a full stderr pipe (a slow log driver, a
//! stuck collector) never stalls a worker thread; lines are dropped and counted instead,
//! and a line says how many once writing works again. Crates that log through `tracing`
//! (the AWS SDK, hyper-util) reach the same log, so credential and retry failures show.
//!
//! ```
//! use std::io::Write;
//! use telemetry::NonBlockingWriter;
//!
//! let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
//! let (mut writer, handle) = NonBlockingWriter::new(SharedBuf(out.clone()), 16);
//! writer.write_all(b"hello\n").unwrap();
//! handle.flush(std::time::Duration::from_secs(1));
//! assert_eq!(out.lock().unwrap().as_slice(), b"hello\n");
//!
//! # struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
//! # impl Write for SharedBuf {
//! #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
//! #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! # }
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod error_reporting;
mod log_sink;

pub use error_reporting::{
    dsn_is_valid, flush_sentry, init_sentry, resolve_instance_id, SentrySettings, FLUSH_TIMEOUT,
};
pub use log_sink::{init_logging, LogHandle, NonBlockingWriter, LOG_QUEUE_LINES};
/// The Sentry client crate, for its guard type.
pub use sentry;
