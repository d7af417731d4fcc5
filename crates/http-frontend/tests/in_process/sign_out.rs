//! `GET /__sign_out`: the session's keys deleted, the cookie expired, and the browser
//! sent on.

use test_kit::Browser;

use crate::common::{frontend, login};

#[tokio::test]
async fn sign_out_deletes_the_session_and_expires_the_cookie() {
    let stack = frontend().redis().start().await;
    stack.put_object("doc.txt", b"doc");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    assert_eq!(
        stack
            .redis()
            .keys("s3proxy__assets_session_id__*")
            .await
            .len(),
        2
    );

    let out = browser.get(&stack.proxy.url("/__sign_out")).await;
    assert_eq!(out.status, 200);
    assert_eq!(out.header("cache-control"), Some("no-store"));
    assert!(out.text().contains("You are signed out"));
    assert_eq!(
        out.set_cookies,
        ["assets_session_id=; HttpOnly; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax"]
    );
    assert!(stack
        .redis()
        .keys("s3proxy__assets_session_id__*")
        .await
        .is_empty());
    assert!(stack
        .metrics
        .render()
        .contains("s3proxy_sign_outs_total 1\n"));

    // A browser that keeps sending the old cookie is anonymous now.
    let response = Browser::without_cookies()
        .client()
        .get(stack.proxy.url("/doc.txt"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&stack.sso.url()));
}

#[tokio::test]
async fn without_a_session_the_answer_is_the_same_and_nothing_is_deleted() {
    let stack = frontend().redis().start().await;
    let browser = Browser::new();
    login(&stack, &browser).await;
    let anonymous = Browser::without_cookies()
        .get(&stack.proxy.url("/__sign_out"))
        .await;
    assert_eq!(anonymous.status, 200);
    assert!(anonymous.text().contains("You are signed out"));
    let unknown = Browser::without_cookies()
        .client()
        .get(stack.proxy.url("/__sign_out"))
        .header("cookie", "assets_session_id=NoSuchSession")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 200);
    assert_eq!(
        stack
            .redis()
            .keys("s3proxy__assets_session_id__*")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn a_configured_page_gets_the_browser_after_sign_out_and_https_keeps_secure() {
    let stack = frontend()
        .settings(|s| s.sign_out_redirect = Some("https://sso.example.com/logout/".into()))
        .start()
        .await;
    let out = Browser::without_cookies()
        .client()
        .get(stack.proxy.url("/__sign_out"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 302);
    assert_eq!(out.headers()["location"], "https://sso.example.com/logout/");
    let cookie = out.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.ends_with("Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=None"),
        "{cookie}"
    );
}

#[tokio::test]
async fn an_encoded_sign_out_path_is_the_sign_out_too() {
    let stack = frontend().start().await;
    let out = Browser::without_cookies()
        .get(&stack.proxy.url("/%5F_sign_out"))
        .await;
    assert_eq!(out.status, 200);
    assert!(out.text().contains("You are signed out"));
}
