//! Who is signed in, in a real headless Chromium: a sign-in through an OpenID Provider
//! (the SSO mock as one), a folder the access rules keep from the person, and signing
//! out in both sign-in modes. Each journey starts its own stack and browser, runs within
//! `JOURNEY_LIMIT`, and saves screenshots under `target/e2e/`.

use e2e::{bounded, Journey, JOURNEY_LIMIT};
use test_kit::query_param;

const SESSION_COOKIE: &str = "assets_session_id";

/// A page whose script writes its heading: proof that it rendered and scripts ran.
const NOTES_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Team notes</title></head>
<body>
<h1 id="heading">(no script ran)</h1>
<script>document.getElementById("heading").textContent = "Team notes";</script>
</body></html>
"#;

const BUDGET_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Budget</title></head>
<body><h1>Budget</h1><p>Only finance may read this.</p></body></html>
"#;

/// `finance/` is for the group `finance`; every other key falls back to the global
/// lists, of which there are none: anyone signed in.
const FINANCE_ONLY: &str = r#"
[[rule]]
prefix = "finance/"
groups = ["finance"]
"#;

fn put_notes(journey: &Journey) {
    journey
        .stack
        .put_object("docs/notes.html", NOTES_PAGE.as_bytes());
}

/// The keys Redis holds for the session `id`.
async fn session_keys(journey: &Journey, id: &str) -> Vec<String> {
    journey
        .stack
        .redis
        .keys(&format!("s3proxy__assets_session_id__{id}__*"))
        .await
}

#[tokio::test]
async fn a_person_signs_in_through_an_openid_provider_and_sees_the_object() {
    bounded("oidc_sign_in", JOURNEY_LIMIT, async {
        let journey = Journey::start_with("oidc_sign_in", |stack| stack.oidc(|_| {})).await;
        put_notes(&journey);

        journey.goto("/docs/notes.html?x=1").await;
        journey.expect_sign_in_page().await;
        // The browser is at the discovered authorization endpoint with what OpenID
        // Connect adds: the `openid` scope and a nonce, beside PKCE.
        let authorize = journey.current_url().await;
        assert!(
            authorize.contains("scope=openid%20email%20profile"),
            "{authorize}"
        );
        assert!(
            query_param(&authorize, "nonce").is_some_and(|n| n.len() >= 32),
            "{authorize}"
        );
        assert!(
            authorize.contains("code_challenge_method=S256"),
            "{authorize}"
        );
        journey.click_sign_in().await;
        journey
            .wait_for_url(&journey.url("/docs/notes.html?x=1"))
            .await;
        journey.wait_for_text("Team notes").await;

        // The session keeps the verified ID token (for sign-out) and the profile.
        let id = journey
            .cookie(SESSION_COOKIE)
            .await
            .expect("a session cookie");
        let redis = &journey.stack.redis;
        let id_token = redis
            .get(&format!("s3proxy__assets_session_id__{id}__id_token"))
            .await;
        assert_eq!(
            id_token,
            journey.stack.sso.issued_id_tokens().last().cloned()
        );
        let profile = redis
            .get(&format!("s3proxy__assets_session_id__{id}__profile"))
            .await
            .unwrap_or_default();
        assert!(profile.contains("test.user@example.com"), "{profile}");

        journey.finish().await;
    })
    .await;
}

#[tokio::test]
async fn a_folder_the_rules_keep_from_a_person_shows_a_page_naming_them() {
    bounded("access_denied", JOURNEY_LIMIT, async {
        let rules = tempfile::tempdir().expect("temp dir for the rules");
        let file = rules.path().join("rules.toml");
        std::fs::write(&file, FINANCE_ONLY).expect("write the rules");
        let journey = Journey::start_with("access_denied", |stack| {
            stack
                .env("ACCESS_RULES_FILE", &file.display().to_string())
                .sso(|sso| sso.user_groups = Some(vec!["staff".into()]))
        })
        .await;
        put_notes(&journey);
        journey
            .stack
            .put_object("finance/budget.html", BUDGET_PAGE.as_bytes());

        // Outside the folder: served.
        journey.sign_in_at("/docs/notes.html").await;
        journey.wait_for_text("Team notes").await;

        journey.goto("/finance/budget.html").await;
        let text = journey.wait_for_text("You are not allowed to see this").await;
        assert!(text.contains("test.user@example.com"), "{text}");
        assert!(!text.contains("Only finance"), "{text}");
        assert_eq!(journey.client().title().await.ok().as_deref(), Some("Not allowed"));
        // Refused where it was asked for: no redirect, and the session stays.
        assert_eq!(
            journey.current_url().await,
            journey.url("/finance/budget.html")
        );
        assert!(journey.cookie(SESSION_COOKIE).await.is_some());
        let logs = journey
            .stack
            .proxy
            .logs_with("GET /finance/budget.html 403")
            .await;
        assert!(
            logs.contains("GET /finance/budget.html 403"),
            "the proxy did not answer 403:\n{logs}"
        );
        // The page's link signs out.
        let href = journey
            .js("var a = document.querySelector('a[href=\"/__sign_out\"]'); return a ? a.textContent : null")
            .await;
        assert_eq!(href.as_str(), Some("Sign out"), "{href}");

        journey.finish().await;
    })
    .await;
}

#[tokio::test]
async fn signing_out_shows_a_page_and_the_next_visit_signs_in_again() {
    bounded("sign_out", JOURNEY_LIMIT, async {
        let journey = Journey::start("sign_out").await;
        put_notes(&journey);
        journey.sign_in_at("/docs/notes.html").await;
        journey.wait_for_text("Team notes").await;
        let first = journey
            .cookie(SESSION_COOKIE)
            .await
            .expect("a session cookie");
        assert!(!session_keys(&journey, &first).await.is_empty());

        journey.goto("/__sign_out").await;
        journey.wait_for_text("You are signed out").await;
        assert!(
            journey.cookie(SESSION_COOKIE).await.is_none(),
            "the browser still has the session cookie"
        );
        assert!(
            session_keys(&journey, &first).await.is_empty(),
            "the session is still in Redis"
        );
        journey.screenshot().await;

        // "Sign in again" goes through the SSO's sign-in page, as does the object.
        journey.click("a[href=\"/\"]").await;
        journey.expect_sign_in_page().await;
        journey.goto("/docs/notes.html").await;
        journey.click_sign_in().await;
        journey.wait_for_url(&journey.url("/docs/notes.html")).await;
        journey.wait_for_text("Team notes").await;
        let second = journey
            .cookie(SESSION_COOKIE)
            .await
            .expect("a new session cookie");
        assert_ne!(first, second, "a new sign-in gives a new session");
        journey.screenshot_as("sign_out_signed_in_again").await;

        journey.close().await;
    })
    .await;
}

#[tokio::test]
async fn signing_out_of_an_openid_provider_ends_both_sessions_and_comes_back_to_sign_in() {
    bounded("oidc_sign_out", JOURNEY_LIMIT, async {
        // The proxy's port is chosen first: the page the provider sends the browser to
        // after its sign-out is on the proxy.
        let port = test_kit::free_port();
        let back = format!("http://127.0.0.1:{port}/docs/notes.html");
        let journey = Journey::start_with("oidc_sign_out", |stack| {
            stack
                .oidc(|_| {})
                .proxy_port(port)
                .env("SIGN_OUT_REDIRECT_URL", &back)
        })
        .await;
        put_notes(&journey);
        journey.sign_in_at("/docs/notes.html").await;
        journey.wait_for_text("Team notes").await;
        let id = journey
            .cookie(SESSION_COOKIE)
            .await
            .expect("a session cookie");
        let sso = &journey.stack.sso;

        // The proxy ends its session and sends the browser to the provider's
        // end_session_endpoint with the ID token as the hint (the mock refuses, with a
        // page, a hint it did not issue), which sends it back to SIGN_OUT_REDIRECT_URL:
        // the notes, which need a sign-in again.
        journey.goto("/__sign_out").await;
        journey.expect_sign_in_page().await;
        assert_eq!(
            sso.end_session_calls(),
            1,
            "the provider's sign-out was not asked"
        );
        assert!(journey.cookie(SESSION_COOKIE).await.is_none());
        assert!(session_keys(&journey, &id).await.is_empty());
        let logs = journey.stack.proxy.logs_with("GET /__sign_out 302").await;
        assert!(logs.contains("GET /__sign_out 302"), "{logs}");
        journey.screenshot().await;

        journey.click_sign_in().await;
        journey.wait_for_url(&back).await;
        journey.wait_for_text("Team notes").await;
        assert_ne!(journey.cookie(SESSION_COOKIE).await, Some(id));

        journey.close().await;
    })
    .await;
}
