//! Shared by the integration test files.
#![allow(dead_code)]

use test_kit::{Browser, Stack, StackBuilder};

pub const BIN: &str = env!("CARGO_BIN_EXE_s3proxy");

pub fn stack() -> StackBuilder {
    Stack::builder(BIN)
}

/// Bytes that differ at every position, so an offset mistake shows.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Signs `browser` in (through a request for a missing object) and returns the session
/// cookie as a `Cookie` header value.
pub async fn login(stack: &Stack, browser: &Browser) -> String {
    let page = browser.get(&stack.proxy.url("/__login_probe__")).await;
    assert_eq!(
        page.status, 404,
        "login did not complete: {:?}",
        page.redirects
    );
    assert_eq!(page.redirects.len(), 3, "{:?}", page.redirects);
    browser
        .cookies_for(&stack.proxy.url("/"))
        .expect("a session cookie after login")
}

/// The `state` parameter of an authorize URL.
pub fn state_of(location: &str) -> String {
    query_param(location, "state").expect("state in the authorize URL")
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}
