//! Shared by the integration test files.
#![allow(dead_code)]

use test_kit::{Stack, StackBuilder};

pub const BIN: &str = env!("CARGO_BIN_EXE_s3proxy");

pub fn stack() -> StackBuilder {
    Stack::builder(BIN)
}

/// Bytes that differ at every position, so an offset mistake shows.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}
