//! Shared by the integration test files.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use test_kit::{Browser, Proxy, RawResponse, Stack, StackBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// A browser signed in on `proxy` (one more proxy of a stack): a request for a missing
/// object goes through the SSO and ends in a 404.
pub async fn sign_in(proxy: &Proxy) -> Browser {
    let browser = Browser::new();
    let page = browser.get(&proxy.url("/__probe__")).await;
    assert_eq!(page.status, 404, "{}", proxy.logs());
    browser
}

/// Waits up to `within` for the proxy to exit, and checks it exited with status 0.
pub async fn assert_clean_exit(proxy: &mut Proxy, within: Duration) {
    let exited = proxy.wait_exit(within).await;
    assert_eq!(exited.and_then(|s| s.code()), Some(0), "{}", proxy.logs());
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

/// Sends `GET target` with `headers` on an open keep-alive connection and reads one
/// response, its body by `Content-Length`.
pub async fn get_on(stream: &mut TcpStream, target: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap();
        assert!(n > 0, "connection closed before a full response");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let (_, length) = RawResponse::status_and_length(&buf[..end]);
            if buf.len() >= end + 4 + length {
                buf.truncate(end + 4 + length);
                return test_kit::raw::parse(&buf);
            }
        }
    }
}

/// How long until the server closes `stream` (reading and discarding what it sends);
/// `None` if it is still open after `within`.
pub async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Follows a login redirect to the SSO mock, as a browser would, and returns the
/// callback's path and query it sends the browser back with (the mock records the
/// sign-in's PKCE challenge on the way).
pub async fn authorize(location: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(location).send().await.expect("the SSO mock");
    assert_eq!(response.status(), 302, "the SSO mock refused {location}");
    let callback = response.headers()["location"].to_str().unwrap().to_string();
    let url = reqwest::Url::parse(&callback).expect("an absolute callback URL");
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}
