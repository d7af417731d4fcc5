//! Browser end-to-end journeys for s3proxy.
//!
//! A real headless Chromium (Debian's `chromium`), driven over WebDriver through
//! Debian's `chromedriver`, against the stack that `test-kit` starts: `redis-server`,
//! `dev-s3`, the SSO mock with its "Sign in" page, and the proxy binary. The journeys
//! are in `tests/`: `journeys.rs` (sign in, video, images and downloads, session end,
//! expired state, error pages), `accounts.rs` (a sign-in through an OpenID Provider, a
//! folder the access rules refuse, sign-out in both modes) and `certified_provider.rs`
//! (node-oidc-provider, a certified OpenID Provider, through its own pages). This library
//! holds what they share: finding the tools and the binary, starting and stopping the
//! browser, making test media with `ffmpeg`, bounded waits and screenshots (saved under
//! `target/e2e/`).
//!
//! Run them with `cargo xtask test --only e2e`, which builds the proxy first, or with
//! `cargo build -p s3proxy && cargo test -p e2e`. They are kept out of the plain
//! `cargo test --workspace` step so that a machine without a browser still runs the rest;
//! here a missing `chromium`, `chromedriver` or `ffmpeg` fails the test with the command
//! that installs it, never a silent skip.

mod browser;
mod journey;
mod media;
mod paths;
mod procs;

pub use browser::Chromium;
pub use journey::{bounded, poll, Journey, JOURNEY_LIMIT, WAIT};
pub use media::{png_image, webm_clip};
pub use paths::{proxy_bin, require, screenshot_dir, target_dir, INSTALL};
