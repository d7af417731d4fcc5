//! Shared by the integration test files.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use test_kit::{Browser, Proxy, Stack, StackBuilder};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub const BIN: &str = env!("CARGO_BIN_EXE_s3proxy");

pub fn stack() -> StackBuilder {
    Stack::builder(BIN)
}

/// Signs `browser` in (through a request for a missing object) and returns the session
/// cookie as a `Cookie` header value.
pub async fn login(stack: &Stack, browser: &Browser) -> String {
    test_kit::login_at(&stack.proxy.url(""), browser).await
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

/// One more proxy on `stack` that can find AWS credentials only in `source` (variables
/// such as `AWS_CONTAINER_CREDENTIALS_FULL_URI`): no static keys, `home` as its home
/// with empty AWS config and credentials files, and instance metadata disabled unless
/// `source` names its endpoint.
pub async fn proxy_with_credentials_from(
    stack: &Stack,
    home: &Path,
    source: &[(&str, &str)],
) -> Proxy {
    let home_var = home.display().to_string();
    // Empty files: no profile, and no warning that a named file is missing.
    let config = home.join("empty-aws-config");
    let credentials = home.join("empty-aws-credentials");
    for file in [&config, &credentials] {
        std::fs::write(file, "").expect("write an empty AWS file");
    }
    let config = config.display().to_string();
    let credentials = credentials.display().to_string();
    let mut vars: Vec<(&str, Option<&str>)> = vec![
        ("AWS_ACCESS_KEY_ID", None),
        ("AWS_SECRET_ACCESS_KEY", None),
        ("AWS_SESSION_TOKEN", None),
        ("AWS_PROFILE", None),
        ("HOME", Some(&home_var)),
        ("AWS_CONFIG_FILE", Some(&config)),
        ("AWS_SHARED_CREDENTIALS_FILE", Some(&credentials)),
    ];
    if !source
        .iter()
        .any(|(name, _)| *name == "AWS_EC2_METADATA_SERVICE_ENDPOINT")
    {
        // Nothing may look for an instance role off this machine.
        vars.push(("AWS_EC2_METADATA_DISABLED", Some("true")));
    }
    vars.extend(source.iter().map(|(name, value)| (*name, Some(*value))));
    stack.spawn_proxy(&vars).await
}
