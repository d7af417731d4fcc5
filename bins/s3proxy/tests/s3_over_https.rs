//! An S3-compatible endpoint over https whose certificate comes from a private CA: the
//! proxy trusts it once `SSL_CERT_FILE` names the CA (as for Redis and the SSO), and
//! refuses it otherwise.

mod common;

use common::{sign_in, stack};
use test_kit::{pattern, Browser, TestCa, TlsFront};

#[tokio::test]
async fn an_https_endpoint_signed_by_the_ssl_cert_file_ca_is_trusted() {
    let stack = stack().start().await;
    let content = pattern(3 << 20);
    stack.put_object("dir/over tls.bin", &content);
    let ca = TestCa::new();
    let front = TlsFront::start(&ca, stack.s3.addr()).await;
    let ca_file = ca.ca_file().display().to_string();
    let proxy = stack
        .spawn_proxy(&[
            ("S3_ENDPOINT_URL", Some(&front.endpoint())),
            ("SSL_CERT_FILE", Some(&ca_file)),
        ])
        .await;
    let browser = sign_in(&proxy).await;

    let page = browser.get(&proxy.url("/dir/over%20tls.bin")).await;
    assert_eq!(page.status, 200, "{}", proxy.logs());
    assert!(page.body == content, "{} bytes", page.body.len());
    let part = browser
        .get_with(
            &proxy.url("/dir/over%20tls.bin"),
            &[("range", "bytes=10-19")],
        )
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, content[10..20]);
}

#[tokio::test]
async fn without_the_ca_the_endpoint_is_refused() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let ca = TestCa::new();
    let front = TlsFront::start(&ca, stack.s3.addr()).await;
    let proxy = stack
        .spawn_proxy(&[("S3_ENDPOINT_URL", Some(&front.endpoint()))])
        .await;
    let browser = Browser::new();
    // Signed in (the SSO is plain http), then S3 fails as any S3 failure does.
    let page = browser.get(&proxy.url("/x.txt")).await;
    assert_eq!(page.redirects.len(), 3, "{:?}", page.redirects);
    assert_eq!(page.status, 500, "{}", proxy.logs());
    // The log is written by a thread of its own: wait for the line, not just read.
    let logs = proxy.logs_with("invalid peer certificate").await;
    assert!(logs.contains("invalid peer certificate"), "{logs}");
}
