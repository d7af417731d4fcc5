//! Signing in through an OpenID Connect provider (the SSO mock as one): verified ID
//! tokens, the nonce kept with the state, the profile kept with the session, sign-out at
//! the provider, and every way a provider can lie refused.

use std::time::Duration;

use sso_mock::{Misbehaviour, SigningAlg};
use test_kit::Browser;

use crate::common::{frontend, Frontend};

const BROWSER: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

async fn oidc(misbehaviour: Option<Misbehaviour>, alg: SigningAlg) -> Frontend {
    let stack = frontend()
        .oidc(|o| {
            o.misbehaviour = misbehaviour;
            o.signing_alg = alg;
        })
        .redis()
        .start()
        .await;
    stack.put_object("doc.txt", b"doc");
    stack
}

#[tokio::test]
async fn a_person_signs_in_and_the_session_keeps_the_id_token_and_profile() {
    for alg in [
        SigningAlg::Rs256,
        SigningAlg::Es256,
        SigningAlg::EdDsa,
        SigningAlg::Ps256,
    ] {
        let stack = oidc(None, alg).await;
        let browser = Browser::new();
        let page = browser.get(&stack.proxy.url("/doc.txt")).await;
        assert_eq!(page.status, 200, "{alg:?}: {:?}", page.redirects);
        assert_eq!(page.body, b"doc");
        let authorize = &page.redirects[0];
        assert!(authorize.contains("nonce="), "{authorize}");
        assert!(
            authorize.contains("scope=openid%20email%20profile"),
            "{authorize}"
        );
        let redis = stack.redis();
        let profile = redis.keys("s3proxy__assets_session_id__*__profile").await;
        assert_eq!(profile.len(), 1, "{alg:?}");
        let kept = redis.get(&profile[0]).await.unwrap_or_default();
        assert!(
            kept.contains("test.user@example.com") && kept.contains("staff"),
            "{kept}"
        );
        let id_token = redis.keys("s3proxy__assets_session_id__*__id_token").await;
        assert_eq!(id_token.len(), 1);
        assert_eq!(
            redis.get(&id_token[0]).await,
            stack.sso.issued_id_tokens().last().cloned()
        );
        assert!(stack
            .metrics
            .render()
            .contains("s3proxy_sso_logins_total{stage=\"completed\"} 1\n"));
    }
}

#[tokio::test]
async fn the_nonce_is_kept_with_the_state_for_its_ttl() {
    let stack = oidc(None, SigningAlg::Rs256).await;
    let mut anonymous = Browser::without_cookies();
    anonymous.max_redirects = 0;
    let page = anonymous.get(&stack.proxy.url("/doc.txt")).await;
    let location = page.header("location").unwrap_or_default().to_string();
    let state = test_kit::state_of(&location);
    let nonce = test_kit::query_param(&location, "nonce").expect("a nonce");
    let key = format!("s3proxy__sso_nonce__{state}");
    assert_eq!(
        stack.redis().get(&key).await.as_deref(),
        Some(nonce.as_str())
    );
    assert!((55..=60).contains(&stack.redis().ttl(&key).await));
}

#[tokio::test]
async fn every_lie_of_the_provider_is_refused_with_nothing_stored() {
    for lie in [
        Misbehaviour::WrongNonce,
        Misbehaviour::WrongAudience,
        Misbehaviour::SeveralAudiencesWithoutAzp,
        Misbehaviour::WrongIssuer,
        Misbehaviour::Expired,
        Misbehaviour::IssuedInFuture,
        Misbehaviour::BadSignature,
        Misbehaviour::AlgNone,
        Misbehaviour::Hs256WithClientSecret,
        Misbehaviour::UnknownKid,
    ] {
        let stack = oidc(Some(lie), SigningAlg::Rs256).await;
        let page = Browser::new()
            .get_with(&stack.proxy.url("/doc.txt"), &[("accept", BROWSER)])
            .await;
        assert_eq!(page.status, 403, "{lie:?}: {:?}", page.redirects);
        assert!(
            page.text().contains("Please try the original link again."),
            "{lie:?}"
        );
        assert!(
            !page
                .set_cookies
                .iter()
                .any(|c| c.starts_with("assets_session_id=")),
            "{lie:?}: a cookie was set"
        );
        assert_eq!(stack.store.sessions_saved(), 0, "{lie:?}");
        assert!(stack
            .redis()
            .keys("s3proxy__assets_session_id__*")
            .await
            .is_empty());
        assert!(
            stack
                .metrics
                .render()
                .contains("s3proxy_sso_logins_total{stage=\"failed\"} 1\n"),
            "{lie:?}"
        );
    }
}

#[tokio::test]
async fn a_provider_down_at_start_holds_sign_ins_back_until_it_answers() {
    let stack = oidc(Some(Misbehaviour::DiscoveryDown), SigningAlg::Rs256).await;
    stack.put_object(test_kit::HEALTHCHECK_KEY, b"ok");
    let page = Browser::new()
        .get_with(&stack.proxy.url("/doc.txt"), &[("accept", BROWSER)])
        .await;
    assert_eq!(page.status, 503);
    assert!(page.text().contains("Try again"), "{}", page.text());
    let health = Browser::without_cookies()
        .get(&stack.proxy.url(&format!("/{}", test_kit::HEALTHCHECK_KEY)))
        .await;
    assert_eq!(health.status, 200);

    stack.sso.update(|m| {
        if let Some(o) = m.oidc.as_mut() {
            o.misbehaviour = None;
        }
    });
    // Discovery is retried in the background (1 s, then doubling).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = Browser::new().get(&stack.proxy.url("/doc.txt")).await;
        if page.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {}",
            page.status
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn sign_out_goes_to_the_providers_end_session_with_the_id_token() {
    let stack = frontend()
        .oidc(|_| {})
        .settings(|s| s.sign_out_redirect = Some("http://127.0.0.1/bye".into()))
        .redis()
        .start()
        .await;
    stack.put_object("doc.txt", b"doc");
    let mut browser = Browser::new();
    assert_eq!(browser.get(&stack.proxy.url("/doc.txt")).await.status, 200);
    let id_token = stack
        .sso
        .issued_id_tokens()
        .last()
        .cloned()
        .expect("an ID token");
    browser.max_redirects = 0;
    let out = browser.get(&stack.proxy.url("/__sign_out")).await;
    assert_eq!(out.status, 302);
    let location = out.header("location").unwrap_or_default();
    assert!(location.starts_with(&stack.sso.url()), "{location}");
    assert_eq!(
        test_kit::query_param(location, "id_token_hint"),
        Some(id_token)
    );
    assert_eq!(
        test_kit::query_param(location, "post_logout_redirect_uri").as_deref(),
        Some("http%3A%2F%2F127.0.0.1%2Fbye")
    );
    assert!(location.contains("client_id="));
    assert!(stack
        .redis()
        .keys("s3proxy__assets_session_id__*")
        .await
        .is_empty());
}
