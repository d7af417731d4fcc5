//! SPEC §3 and §4: the login flow and sessions, against the real parts.

mod common;

use common::{pattern, stack};
use test_kit::Browser;

#[tokio::test]
async fn full_flow_serves_exact_bytes_after_three_redirects() {
    let stack = stack().start().await;
    let content = pattern(100_000);
    stack.put_object("some/file.bin", &content);

    let mut browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/some/file.bin")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    assert_eq!(page.redirects.len(), 3, "{:?}", page.redirects);
    assert!(page.redirects[0].starts_with(&format!("{}o/authorize/?", stack.sso.url())));
    assert!(page.redirects[1].starts_with(&stack.proxy.url("/__redirect_from_sso?")));
    assert_eq!(page.redirects[2], stack.proxy.url("/some/file.bin"));
    assert_eq!(page.body, content);
    assert_eq!(page.header("content-length"), Some("100000"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));

    // The session now works without any redirect.
    let again = browser.get(&stack.proxy.url("/some/file.bin")).await;
    assert_eq!(again.status, 200);
    assert!(again.redirects.is_empty());
    assert_eq!(again.body, content);
}
