//! Temporary credentials from each source the proxy meets in production, through local
//! stand-ins: an ECS task role (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), an EC2 instance
//! role through IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT`) and an EKS web identity
//! (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, STS at `AWS_ENDPOINT_URL_STS`). No
//! static keys and no other source is reachable. The credentials expire after seconds,
//! and dev-s3 checks the session token of every request and refuses expired ones: the
//! proxy refreshes them ahead of expiry, and a download that outlives them completes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use common::{login, proxy_with_credentials_from, sign_in, stack};
use test_kit::{
    pattern, Browser, CredentialEndpoint, EcsCredentials, Imds, ImdsToken, Proxy, Stack,
    StsWebIdentity, INSTANCE_ROLE, WEB_IDENTITY_ROLE_ARN,
};

async fn proxy_with_ecs(stack: &Stack, home: &Path, ecs: &EcsCredentials) -> Proxy {
    let uri = ecs.uri();
    proxy_with_credentials_from(stack, home, &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)]).await
}

async fn proxy_with_imds(stack: &Stack, home: &Path, imds: &Imds) -> Proxy {
    let endpoint = imds.endpoint_url();
    proxy_with_credentials_from(
        stack,
        home,
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)],
    )
    .await
}

/// The web identity variables as EKS sets them, the token file in `home`.
async fn proxy_with_web_identity(
    stack: &Stack,
    home: &Path,
    sts: &StsWebIdentity,
    token: &str,
) -> Proxy {
    let token_file = home.join("web-identity-token");
    std::fs::write(&token_file, token).expect("write the token file");
    let token_file = token_file.display().to_string();
    let endpoint = sts.endpoint_url();
    proxy_with_credentials_from(
        stack,
        home,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file),
            ("AWS_ROLE_ARN", WEB_IDENTITY_ROLE_ARN),
            ("AWS_ROLE_SESSION_NAME", "s3proxy-test"),
            ("AWS_ENDPOINT_URL_STS", &endpoint),
        ],
    )
    .await
}

fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary home")
}

/// Downloads with the first set (issued for 6 s), then past three quarters of its life
/// while a refresh runs behind, then with the second.
async fn refreshed_ahead_of_expiry(stack: &Stack, proxy: &Proxy, endpoint: &CredentialEndpoint) {
    stack.put_object("x.txt", b"x");
    let browser = sign_in(proxy).await;
    let page = browser.get(&proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "{}", proxy.logs());
    assert_eq!(page.body, b"x");
    assert_eq!(endpoint.issued(), 1);
    refreshes_ahead_of_expiry(proxy, &browser, endpoint).await;
}

/// From the first set's issue (6 s of life): downloads past three quarters of its life,
/// while a refresh runs behind, and after it expired; the second set was issued before
/// the first expired.
async fn refreshes_ahead_of_expiry(
    proxy: &Proxy,
    browser: &Browser,
    endpoint: &CredentialEndpoint,
) {
    let first = endpoint.issued_sets()[0].clone();
    for at in [5000, 6500, 8000] {
        let when = first.issued_at + Duration::from_millis(at);
        let wait = when
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        tokio::time::sleep(wait).await;
        let page = browser.get(&proxy.url("/x.txt")).await;
        assert_eq!(page.status, 200, "at {at} ms:\n{}", proxy.logs());
        assert_eq!(page.body, b"x");
    }
    let sets = endpoint.issued_sets();
    assert!(sets.len() >= 2, "never refreshed:\n{}", proxy.logs());
    assert!(sets.len() <= 3, "asked too often: {}", sets.len());
    assert!(
        sets[1].issued_at < first.expires,
        "refreshed only after the first set expired"
    );
}

/// A 3 MiB download at 600 KiB/s (about 5 s) with credentials living 3 s arrives
/// byte-exact, and the next request gets new credentials.
async fn download_outlives_credentials(
    stack: &Stack,
    proxy: &Proxy,
    endpoint: &CredentialEndpoint,
) {
    let content = pattern(3 << 20);
    stack.put_object("long.bin", &content);
    let browser = sign_in(proxy).await;
    stack.s3.set_throttle(Some(600 * 1024));
    let started = Instant::now();
    let page = browser.get(&proxy.url("/long.bin")).await;
    let took = started.elapsed();
    assert_eq!(page.status, 200, "{}", proxy.logs());
    assert!(
        page.body == content,
        "body cut or corrupted: {} bytes",
        page.body.len()
    );
    let first = &endpoint.issued_sets()[0];
    assert!(
        took > Duration::from_secs(4) && SystemTime::now() > first.expires,
        "the download ({took:?}) did not outlive its credentials"
    );
    // The credentials it was signed with have expired: the next request gets new ones.
    stack.s3.set_throttle(None);
    let again = browser.get(&proxy.url("/long.bin")).await;
    assert_eq!(again.status, 200, "{}", proxy.logs());
    assert!(again.body == content);
    assert!(endpoint.issued() >= 2);
}

#[tokio::test]
async fn ecs_credentials_are_refreshed_ahead_of_expiry() {
    let stack = stack().start().await;
    let home = home();
    let ecs = EcsCredentials::start(stack.s3.temporary_credentials(), Duration::from_secs(6)).await;
    let proxy = proxy_with_ecs(&stack, home.path(), &ecs).await;
    refreshed_ahead_of_expiry(&stack, &proxy, &ecs).await;
    assert_eq!(ecs.calls(), ecs.issued(), "a call that issued nothing");
}

#[tokio::test]
async fn a_download_longer_than_ecs_credentials_live_completes() {
    let stack = stack().start().await;
    let home = home();
    let ecs = EcsCredentials::start(stack.s3.temporary_credentials(), Duration::from_secs(3)).await;
    let proxy = proxy_with_ecs(&stack, home.path(), &ecs).await;
    download_outlives_credentials(&stack, &proxy, &ecs).await;
}

/// IMDSv2: a session token is fetched first with `PUT` and goes with every metadata
/// `GET` (the stand-in refuses any without one); each set is the role's name, then its
/// credentials.
#[tokio::test]
async fn imdsv2_credentials_are_refreshed_ahead_of_expiry_with_a_session_token() {
    let stack = stack().start().await;
    let home = home();
    let imds = Imds::start(stack.s3.temporary_credentials(), Duration::from_secs(6)).await;
    let proxy = proxy_with_imds(&stack, home.path(), &imds).await;
    refreshed_ahead_of_expiry(&stack, &proxy, &imds).await;

    let requests = imds.requests();
    let first = &requests[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str(), first.token),
        ("PUT", "/latest/api/token", ImdsToken::Issued),
        "{requests:#?}"
    );
    let gets: Vec<_> = requests.iter().filter(|r| r.method == "GET").collect();
    assert!(
        gets.iter().all(|r| r.token == ImdsToken::Valid),
        "a metadata GET without its session token: {requests:#?}"
    );
    let role_path = format!("/latest/meta-data/iam/security-credentials/{INSTANCE_ROLE}");
    let credential_gets = gets.iter().filter(|r| r.path == role_path).count();
    assert_eq!(credential_gets, imds.issued(), "{requests:#?}");
    assert_eq!(
        requests.len(),
        imds.calls(),
        "a request answered otherwise: {requests:#?}"
    );
}

#[tokio::test]
async fn a_download_longer_than_imdsv2_credentials_live_completes() {
    let stack = stack().start().await;
    let home = home();
    let imds = Imds::start(stack.s3.temporary_credentials(), Duration::from_secs(3)).await;
    let proxy = proxy_with_imds(&stack, home.path(), &imds).await;
    download_outlives_credentials(&stack, &proxy, &imds).await;
    assert!(imds
        .requests()
        .iter()
        .all(|r| matches!(r.token, ImdsToken::Issued | ImdsToken::Valid)));
}

/// EKS with IAM roles for service accounts: the token file's content is exchanged at STS
/// for the role's credentials; the kubelet rotates the file, and the next exchange
/// sends the new token.
#[tokio::test]
async fn web_identity_signs_in_downloads_and_refreshes_with_the_rotated_token() {
    let stack = stack().start().await;
    let home = home();
    let sts = StsWebIdentity::start(
        stack.s3.temporary_credentials(),
        Duration::from_secs(6),
        "web-identity-token-1",
    )
    .await;
    let proxy = proxy_with_web_identity(&stack, home.path(), &sts, "web-identity-token-1").await;
    stack.put_object("x.txt", b"x");
    let browser = sign_in(&proxy).await;
    let page = browser.get(&proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "{}", proxy.logs());
    assert_eq!(page.body, b"x");
    assert_eq!(sts.issued(), 1);

    std::fs::write(
        home.path().join("web-identity-token"),
        "web-identity-token-2",
    )
    .unwrap();
    sts.expect_token("web-identity-token-2");
    refreshes_ahead_of_expiry(&proxy, &browser, &sts).await;
    assert_eq!(sts.refused(), 0, "a wrong token or role was sent");
}

#[tokio::test]
async fn missing_credentials_are_a_503_and_the_log_says_why() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    login(&stack, &browser).await;
    let home = home();
    // A credentials endpoint that is not there: the chain finds nothing.
    let nowhere = format!("http://127.0.0.1:{}/creds", test_kit::free_port());
    let proxy = proxy_with_credentials_from(
        &stack,
        home.path(),
        &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &nowhere)],
    )
    .await;
    let cookie = browser.cookies_for(&stack.proxy.url("/")).unwrap();
    let r = test_kit::raw_get(proxy.port(), "GET /x.txt HTTP/1.1", &[("Cookie", &cookie)]).await;
    assert_eq!(r.status, 503);
    let logs = proxy.logs_with("no AWS credentials").await;
    assert!(logs.contains("no AWS credentials"), "{logs}");
    // The credential chain's own diagnostics (it logs through `tracing`) are in the
    // same log, saying which provider failed and how.
    assert!(
        logs.lines()
            .any(|l| l.contains("aws_config") && l.contains("EcsContainer")),
        "{logs}"
    );
}
