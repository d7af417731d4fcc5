//! Signing in: whole, or one step at a time for tests that look between them.

use crate::Browser;

/// Signs `browser` in on the proxy at `base` (`http://127.0.0.1:<port>`), through a
/// request for a missing object, and returns the session cookie as a `Cookie` value.
pub async fn login_at(base: &str, browser: &Browser) -> String {
    let page = browser.get(&format!("{base}/__login_probe__")).await;
    assert_eq!(
        page.status, 404,
        "login did not complete: {:?}",
        page.redirects
    );
    assert_eq!(page.redirects.len(), 3, "{:?}", page.redirects);
    browser
        .cookies_for(&format!("{base}/"))
        .expect("a session cookie after login")
}

/// Bytes that differ at every position, so an offset mistake shows.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The `state` parameter of an authorize URL.
pub fn state_of(location: &str) -> String {
    query_param(location, "state").expect("state in the authorize URL")
}

/// The first value of `name` in `url`'s query, as it appears (not decoded).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Follows a login redirect to the SSO mock, as a browser would, and returns the
/// callback's path and query it sends the browser back with (the mock records the
/// sign-in's PKCE challenge on the way).
pub async fn authorize(location: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let response = client.get(location).send().await.expect("the SSO mock");
    assert_eq!(response.status(), 302, "the SSO mock refused {location}");
    let callback = response.headers()["location"]
        .to_str()
        .expect("a text Location")
        .to_string();
    let url = reqwest::Url::parse(&callback).expect("an absolute callback URL");
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}
