//! The OpenID mode against a certified OpenID Provider the service has never seen:
//! node-oidc-provider (`testdata/oidc-provider`, see `test_kit::CertifiedProvider`),
//! configured only by its issuer URL. In a real headless Chromium, through the provider's
//! own login and consent pages: a person signs in, reads a page, downloads a file, is
//! refused a folder by their groups, and signs out of both.
//!
//! Needs Node.js and `npm ci --prefix testdata/oidc-provider` (which `cargo xtask test`
//! runs first); without them the journey fails saying so.

use std::time::Duration;

use e2e::{bounded, poll, Journey, WAIT};
use test_kit::{CertifiedProvider, StoredHeaders, CERTIFIED_CLIENTS, CERTIFIED_EMAIL};

const SESSION_COOKIE: &str = "assets_session_id";
const CLIENT_SECRET: &str = "certified provider's secret: with spaces & symbols";

/// Longer than the other journeys: node-oidc-provider takes a few seconds to load.
const LIMIT: Duration = Duration::from_secs(120);

/// The person's groups come from the provider (`analytical-engine` and `finance`).
const RULES: &str = r#"
[[rule]]
prefix = "finance/"
groups = ["finance"]

[[rule]]
prefix = "board/"
groups = ["board"]
"#;

const INDEX_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Finance</title></head>
<body>
<h1 id="heading">(no script ran)</h1>
<p><a id="download" href="/finance/ledger.bin">Download the ledger</a></p>
<script>document.getElementById("heading").textContent = "Finance";</script>
</body></html>
"#;

#[tokio::test]
async fn a_certified_provider_signs_a_person_in_and_a_file_downloads() {
    bounded("certified_provider", LIMIT, async {
        // The provider must know the callback before it starts, so the proxy's port is
        // chosen first.
        let port = test_kit::free_port();
        let base = format!("http://127.0.0.1:{port}");
        let callback = format!("{base}/__redirect_from_sso");
        let after_sign_out = format!("{base}/finance/index.html");
        let provider = CertifiedProvider::start(&callback, &after_sign_out, CLIENT_SECRET).await;
        let issuer = provider.issuer().to_string();
        let rules = tempfile::tempdir().expect("temp dir for the rules");
        let file = rules.path().join("rules.toml");
        std::fs::write(&file, RULES).expect("write the rules");
        let journey = Journey::start_with("certified_provider", |stack| {
            stack
                .proxy_port(port)
                .env("SSO_PROVIDER", "oidc")
                .env("SSO_URL", &issuer)
                // ES256: a key type the SSO mock's default (RS256) does not exercise.
                .env("SSO_CLIENT_ID", CERTIFIED_CLIENTS[1])
                .env("SSO_CLIENT_SECRET", CLIENT_SECRET)
                .env("OIDC_SCOPES", "openid email profile groups")
                .env("ACCESS_RULES_FILE", &file.display().to_string())
                .env("SIGN_OUT_REDIRECT_URL", &after_sign_out)
        })
        .await;
        let stack = &journey.stack;
        stack.put_object("finance/index.html", INDEX_PAGE.as_bytes());
        let ledger: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        stack.put_object_with(
            "finance/ledger.bin",
            &ledger,
            &StoredHeaders {
                content_disposition: Some("attachment; filename=\"ledger.bin\"".into()),
                ..Default::default()
            },
        );
        stack.put_object("board/minutes.txt", b"minutes");

        // The proxy sends the browser to the provider, whose login and consent pages
        // are filled in as a person would.
        journey.goto("/finance/index.html?q=1").await;
        sign_in_at_the_provider(&journey, &issuer).await;
        approve_consent(&journey, &issuer).await;
        journey
            .wait_for_url(&journey.url("/finance/index.html?q=1"))
            .await;
        journey.wait_for_text("Finance").await;
        assert!(journey.cookie(SESSION_COOKIE).await.is_some());
        journey.screenshot().await;

        // A download, byte for byte.
        journey.click("#download").await;
        let bytes = journey.downloaded("ledger.bin").await;
        assert!(
            bytes == ledger,
            "the download differs ({} bytes, {} expected)",
            bytes.len(),
            ledger.len()
        );

        // The provider's groups decide: not in `board`.
        journey.goto("/board/minutes.txt").await;
        let text = journey
            .wait_for_text("You are not allowed to see this")
            .await;
        assert!(text.contains(CERTIFIED_EMAIL), "{text}");
        journey.screenshot_as("certified_provider_refused").await;

        // Signing out ends the provider's session too: after its confirmation page, it
        // sends the browser back to the finance page, which needs a sign-in, and the
        // provider asks for the login again.
        journey.goto("/__sign_out").await;
        journey.wait_for_text("Yes, sign me out").await;
        assert!(journey.current_url().await.starts_with(&issuer));
        assert!(journey.cookie(SESSION_COOKIE).await.is_none());
        journey.click("button[name=logout][value=yes]").await;
        wait_for_login_page(&journey, &issuer).await;
        let sessions = stack.redis.keys("s3proxy__assets_session_id__*").await;
        assert!(sessions.is_empty(), "{sessions:?}");
        journey.screenshot_as("certified_provider_signed_out").await;

        journey.close().await;
        drop(provider);
    })
    .await;
}

/// Waits for the provider's login form (its development page: any login, any password).
async fn wait_for_login_page(journey: &Journey, issuer: &str) {
    poll("the provider's login page", WAIT, || async {
        let url = journey.current_url().await;
        let form = journey
            .js("return document.querySelector('input[name=prompt][value=login]') !== null")
            .await;
        (url.starts_with(issuer) && form.as_bool() == Some(true)).then_some(())
    })
    .await;
}

async fn sign_in_at_the_provider(journey: &Journey, issuer: &str) {
    wait_for_login_page(journey, issuer).await;
    let client = journey.client();
    for (name, value) in [("login", "ada"), ("password", "any password")] {
        client
            .find(fantoccini::Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap_or_else(|e| panic!("no {name} field: {e}"))
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type the {name}: {e}"));
    }
    journey.click("button[type=submit]").await;
}

async fn approve_consent(journey: &Journey, issuer: &str) {
    poll("the provider's consent page", WAIT, || async {
        let url = journey.current_url().await;
        let form = journey
            .js("return document.querySelector('input[name=prompt][value=consent]') !== null")
            .await;
        (url.starts_with(issuer) && form.as_bool() == Some(true)).then_some(())
    })
    .await;
    journey.click("button[type=submit]").await;
}
