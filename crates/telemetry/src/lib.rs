//! What a long-running service tells its operators, without ever being slowed by it.
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

mod log_sink;

pub use log_sink::{init_logging, LogHandle, NonBlockingWriter, LOG_QUEUE_LINES};
