//! The example as its users run it: the binary, signing in through the SSO mock.

use std::path::Path;

use sso_mock::{MockConfig, SsoMock};
use test_kit::{Browser, Proxy};

async fn start() -> (SsoMock, Proxy) {
    let config = MockConfig::default();
    let sso = SsoMock::start(config.clone()).await.expect("the SSO mock");
    let env = [
        ("SSO_URL", sso.url()),
        ("SSO_CLIENT_ID", config.client_id),
        ("SSO_CLIENT_SECRET", config.client_secret),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let app = Proxy::spawn(Path::new(env!("CARGO_BIN_EXE_protected-hello")), &env).await;
    (sso, app)
}

#[tokio::test]
async fn a_person_signs_in_through_the_sso_and_reads_the_protected_route() {
    let (sso, app) = start().await;
    let browser = Browser::new();
    let page = browser.get(&app.url("/")).await;
    assert_eq!(page.status, 200, "{:?}", page.redirects);
    assert_eq!(page.text(), "Hello, signed-in person!\n");
    // To the SSO, back to the callback, back to `/`.
    assert_eq!(page.redirects.len(), 3, "{:?}", page.redirects);
    assert!(
        page.redirects[0].starts_with(&sso.url()),
        "{:?}",
        page.redirects
    );
    assert!(page.redirects[1].contains("/__redirect_from_sso?"));
    // Signed in now: straight to the route.
    let again = browser.get(&app.url("/")).await;
    assert_eq!((again.status.as_u16(), again.redirects.len()), (200, 0));
}

#[tokio::test]
async fn anonymous_requests_are_sent_to_sign_in_and_the_public_route_is_open() {
    let (sso, app) = start().await;
    let mut anonymous = Browser::without_cookies();
    anonymous.max_redirects = 0;
    let page = anonymous.get(&app.url("/")).await;
    assert_eq!(page.status, 302);
    let location = page.header("location").unwrap_or_default();
    assert!(
        location.starts_with(&format!("{}o/authorize/?", sso.url())),
        "{location}"
    );
    let health = anonymous.get(&app.url("/health")).await;
    assert_eq!(
        (health.status.as_u16(), health.text()),
        (200, "ok\n".into())
    );
}
