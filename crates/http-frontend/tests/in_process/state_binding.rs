//! `SSO_BIND_STATE`: a sign-in completes only in the browser that began it.

use http_frontend::StateBinding;
use test_kit::Browser;

use crate::common::{frontend, Frontend};

async fn bound() -> Frontend {
    frontend()
        .settings(|s| s.sso_bind_state = Some(StateBinding::new("client-secret")))
        .start()
        .await
}

/// Starts a sign-in in `browser` for `path` and returns the callback URL the SSO sends
/// it back to, without following it.
async fn begin(stack: &Frontend, browser: &Browser, path: &str) -> String {
    let to_sso = browser
        .client()
        .get(stack.proxy.url(path))
        .send()
        .await
        .unwrap();
    assert_eq!(to_sso.status(), 302);
    let binding = to_sso.headers().get_all("set-cookie").iter().count();
    assert_eq!(binding, 1, "one binding cookie per sign-in");
    let authorize = to_sso.headers()["location"].to_str().unwrap().to_string();
    let to_callback = browser.client().get(&authorize).send().await.unwrap();
    assert_eq!(to_callback.status(), 302);
    to_callback.headers()["location"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_bound_sign_in_completes_in_its_own_browser_and_clears_its_cookie() {
    let stack = bound().await;
    stack.put_object("doc.txt", b"doc");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/doc.txt")).await;
    assert_eq!(page.status, 200, "{:?}", page.redirects);
    assert_eq!(page.body, b"doc");
    let binding: Vec<_> = page
        .set_cookies
        .iter()
        .filter(|c| c.starts_with("s3proxy_sign_in_"))
        .collect();
    assert_eq!(
        binding.len(),
        2,
        "set, then cleared: {:?}",
        page.set_cookies
    );
    assert!(binding[0].contains("Path=/__redirect_from_sso; Max-Age=60; SameSite=Lax"));
    assert!(binding[1].contains("Max-Age=0"), "{}", binding[1]);
}

#[tokio::test]
async fn another_client_with_the_callback_url_gets_the_retry_page_and_the_owner_still_signs_in() {
    let stack = bound().await;
    stack.put_object("doc.txt", b"doc");
    let owner = Browser::new();
    let callback = begin(&stack, &owner, "/doc.txt").await;

    let thief = Browser::without_cookies();
    let refused = thief.client().get(&callback).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("set-cookie").is_none());
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("Please try the original link again."),
        "{text}"
    );

    let page = owner.get(&callback).await;
    assert_eq!(page.status, 200, "{:?}", page.redirects);
    assert_eq!(page.body, b"doc");
}

#[tokio::test]
async fn parallel_bound_sign_ins_in_one_browser_all_finish() {
    let stack = bound().await;
    stack.put_object("one.txt", b"1");
    stack.put_object("two.txt", b"2");
    stack.put_object("three.txt", b"3");
    let browser = Browser::new();
    let urls = ["/one.txt", "/two.txt", "/three.txt"].map(|p| stack.proxy.url(p));
    let (a, b, c) = tokio::join!(
        browser.get(&urls[0]),
        browser.get(&urls[1]),
        browser.get(&urls[2]),
    );
    for (page, body) in [(a, b"1"), (b, b"2"), (c, b"3")] {
        assert_eq!(page.status, 200, "{:?}", page.redirects);
        assert_eq!(page.body, body);
    }
}
