//! The OpenID Connect mode against the SSO mock as an OpenID Provider, over real
//! sockets: every good variant signs in, every lie is refused with its check named, and
//! discovery survives a provider that is down or wrong.

use std::time::{Duration, Instant};

use sso_client::{
    IdTokenCheck, Nonce, OidcSettings, Outcome, PkceVerifier, Provider, SignIn, SsoClient,
    SsoError, SsoSettings,
};
use sso_mock::{Misbehaviour, MockConfig, OidcMock, SigningAlg, SsoMock};
use url::Url;

const CALLBACK: &str = "https://assets.example.com/__redirect_from_sso";

/// An OpenID Provider mock that approves sign-ins at once.
async fn provider(tweak: impl FnOnce(&mut OidcMock)) -> SsoMock {
    let mut oidc = OidcMock::default();
    tweak(&mut oidc);
    SsoMock::start(MockConfig {
        tokens: Vec::new(),
        oidc: Some(oidc),
        ..MockConfig::default()
    })
    .await
    .expect("start the SSO mock")
}

/// A client in OpenID mode for the mock, not yet discovered.
fn client_with(mock: &SsoMock, tweak: impl FnOnce(&mut SsoSettings)) -> SsoClient {
    let defaults = MockConfig::default();
    let mut settings = SsoSettings::new(
        mock.url(),
        mock.url(),
        defaults.client_id,
        defaults.client_secret,
    );
    settings.provider = Provider::Oidc(OidcSettings::default());
    tweak(&mut settings);
    SsoClient::new(settings).expect("build the client")
}

fn oidc(settings: &mut SsoSettings) -> &mut OidcSettings {
    match &mut settings.provider {
        Provider::Oidc(oidc) => oidc,
        Provider::StaffSso => unreachable!("the tests' clients are in OpenID mode"),
    }
}

async fn discovered(mock: &SsoMock) -> SsoClient {
    let client = client_with(mock, |_| {});
    client.discover().await.expect("discovery");
    client
}

/// A browser that does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The whole sign-in: the authorization URL, the provider's redirect back (to
/// `reach`'s origin instead when the browser reaches the provider elsewhere), the code
/// exchanged.
async fn sign_in_via(client: &SsoClient, reach: Option<&str>) -> Outcome<SignIn> {
    let pkce = PkceVerifier::generate();
    let nonce = client.new_nonce().expect("a nonce in OpenID mode");
    let mut url = Url::parse(
        &client
            .sign_in_url("the-state", CALLBACK, Some(&pkce), Some(&nonce))
            .expect("an authorization URL"),
    )
    .unwrap();
    if let Some(reach) = reach {
        let reach = Url::parse(reach).unwrap();
        url.set_host(reach.host_str()).unwrap();
        url.set_port(reach.port()).unwrap();
    }
    let response = browser().get(url).send().await.expect("authorize");
    assert_eq!(response.status(), 302, "{:?}", response.text().await);
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(CALLBACK), "{location}");
    let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let value = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {location}"))
    };
    assert_eq!(value("state"), "the-state");
    client
        .finish_sign_in(&value("code"), CALLBACK, Some(&pkce), Some(&nonce))
        .await
}

async fn sign_in(client: &SsoClient) -> Outcome<SignIn> {
    sign_in_via(client, None).await
}

fn accepted(outcome: Outcome<SignIn>) -> SignIn {
    match outcome {
        Outcome::Accepted(signed_in) => signed_in,
        other => panic!("sign-in refused: {other:?}"),
    }
}

fn refused_by(outcome: &Outcome<SignIn>) -> Option<IdTokenCheck> {
    match outcome {
        Outcome::Failed(e) => e.id_token_check(),
        _ => None,
    }
}

#[tokio::test]
async fn signs_in_with_each_kind_of_key() {
    for alg in [
        SigningAlg::Rs256,
        SigningAlg::Ps256,
        SigningAlg::Es256,
        SigningAlg::EdDsa,
    ] {
        let mock = provider(|o| o.signing_alg = alg).await;
        let client = discovered(&mock).await;
        let signed_in = accepted(sign_in(&client).await);

        assert_eq!(
            signed_in.access_token.0,
            *mock.issued_tokens().last().unwrap()
        );
        let id_token = signed_in.id_token.expect("the ID token is kept");
        assert_eq!(id_token.0, *mock.issued_id_tokens().last().unwrap());
        let profile = signed_in.profile.expect("a profile");
        assert_eq!(profile.subject.as_deref(), Some("mock-subject-1"));
        assert_eq!(profile.emails, ["test.user@example.com"]);
        assert_eq!(profile.groups, Some(vec!["staff".to_string()]));
        assert_eq!(mock.userinfo_calls(), 1, "{alg:?}");
        assert_eq!(mock.pkce_verified(), 1, "{alg:?}");
    }
}

#[tokio::test]
async fn each_lie_is_refused_naming_its_check() {
    let mock = provider(|_| {}).await;
    let client = discovered(&mock).await;
    accepted(sign_in(&client).await);
    for (lie, check) in [
        (Misbehaviour::WrongNonce, IdTokenCheck::Nonce),
        (Misbehaviour::WrongAudience, IdTokenCheck::Audience),
        (
            Misbehaviour::SeveralAudiencesWithoutAzp,
            IdTokenCheck::AuthorizedParty,
        ),
        (Misbehaviour::WrongIssuer, IdTokenCheck::Issuer),
        (Misbehaviour::Expired, IdTokenCheck::Expired),
        (Misbehaviour::IssuedInFuture, IdTokenCheck::IssuedInFuture),
        (Misbehaviour::BadSignature, IdTokenCheck::Signature),
        (Misbehaviour::AlgNone, IdTokenCheck::Algorithm),
        (Misbehaviour::Hs256WithClientSecret, IdTokenCheck::Algorithm),
        (Misbehaviour::UnknownKid, IdTokenCheck::Key),
        (Misbehaviour::UserinfoOtherSubject, IdTokenCheck::Subject),
    ] {
        mock.update(|c| c.oidc.as_mut().unwrap().misbehaviour = Some(lie));
        let outcome = sign_in(&client).await;
        assert_eq!(refused_by(&outcome), Some(check), "{lie:?}: {outcome:?}");
        // What gets logged names the check, never the token.
        let Outcome::Failed(e) = &outcome else {
            unreachable!()
        };
        let text = format!("{e} {e:?}");
        let id_token = mock.issued_id_tokens().pop().unwrap();
        assert!(!text.contains(&id_token), "{text}");
        assert!(text.contains(check.name()), "{text}");
    }
    // The same client signs in again once the provider behaves.
    mock.update(|c| c.oidc.as_mut().unwrap().misbehaviour = None);
    accepted(sign_in(&client).await);
}

/// A token with several audiences is good when `azp` names us.
#[tokio::test]
async fn several_audiences_with_azp_sign_in() {
    let mock = provider(|o| o.extra_audience = true).await;
    accepted(sign_in(&discovered(&mock).await).await);
}

/// With the default interval, a rotation within the minute is refused without asking
/// the provider again; with a short interval, the new keys are fetched and used.
#[tokio::test]
async fn key_rotation_fetches_the_jwks_again_at_most_once_an_interval() {
    let mock = provider(|_| {}).await;
    let patient = discovered(&mock).await;
    accepted(sign_in(&patient).await);
    accepted(sign_in(&patient).await);
    assert_eq!(mock.jwks_calls(), 1, "the JWKS is cached");

    mock.rotate_keys().unwrap();
    let outcome = sign_in(&patient).await;
    assert_eq!(refused_by(&outcome), Some(IdTokenCheck::Key), "{outcome:?}");
    assert_eq!(mock.jwks_calls(), 1, "no fetch within the interval");

    let eager = client_with(&mock, |s| {
        oidc(s).jwks_refetch_interval = Duration::from_millis(100)
    });
    eager.discover().await.unwrap();
    accepted(sign_in(&eager).await);
    assert_eq!(mock.jwks_calls(), 2);
    mock.rotate_keys().unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    accepted(sign_in(&eager).await);
    assert_eq!(mock.jwks_calls(), 3, "fetched again for the new kid");
    for alg in [SigningAlg::Es256, SigningAlg::EdDsa] {
        mock.update(|c| c.oidc.as_mut().unwrap().signing_alg = alg);
        accepted(sign_in(&eager).await);
    }
    assert_eq!(mock.jwks_calls(), 3, "every key of the generation is known");
}

/// The token endpoint authentication follows what the provider lists; the mock refuses
/// the other method, so an accepted sign-in proves the right one was used.
#[tokio::test]
async fn client_authentication_follows_the_provider() {
    for methods in [
        vec!["client_secret_post"],
        vec!["client_secret_basic"],
        vec!["client_secret_basic", "client_secret_post"],
    ] {
        let mock =
            provider(|o| o.auth_methods = methods.iter().map(|m| m.to_string()).collect()).await;
        accepted(sign_in(&discovered(&mock).await).await);
    }
    // A secret with characters that Basic must form-encode (RFC 6749 §2.3.1).
    let secret = "s:e c+r%e&t";
    let mock = SsoMock::start(MockConfig {
        client_secret: secret.into(),
        oidc: Some(OidcMock {
            auth_methods: vec!["client_secret_basic".into()],
            ..OidcMock::default()
        }),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let client = client_with(&mock, |s| s.client_secret = secret.into());
    client.discover().await.unwrap();
    accepted(sign_in(&client).await);
    let wrong = client_with(&mock, |s| s.client_secret = "nope".into());
    wrong.discover().await.unwrap();
    let outcome = sign_in(&wrong).await;
    assert!(matches!(outcome, Outcome::Rejected(401)), "{outcome:?}");
}

/// `SSO_URL_INTERNAL`: the provider's own URLs name a public origin this service cannot
/// reach; every call it makes goes to the internal origin, while the browser is sent to
/// the public one.
#[tokio::test]
async fn sso_url_internal_takes_the_calls_of_the_issuers_origin() {
    let public = "http://sso.example.invalid:8443";
    let mock = provider(|o| o.issuer = Some(format!("{public}/realm"))).await;
    let client = client_with(&mock, |s| {
        s.browser_url = format!("{public}/realm/");
        s.internal_url = mock.url();
    });
    client
        .discover()
        .await
        .expect("discovery on the internal origin");
    let nonce = Nonce::generate();
    let url = client
        .sign_in_url("st", CALLBACK, None, Some(&nonce))
        .unwrap();
    assert!(
        url.starts_with(&format!("{public}/realm/o/authorize/?")),
        "{url}"
    );
    // The mock serves its endpoints under the issuer's path, like a Keycloak realm.
    let signed_in = accepted(sign_in_via(&client, Some(&mock.url())).await);
    assert_eq!(mock.jwks_calls(), 1);
    let outcome = client.check_token(&signed_in.access_token.0).await;
    assert!(matches!(outcome, Outcome::Accepted(())), "{outcome:?}");
    assert_eq!(mock.userinfo_calls(), 2);
}

#[tokio::test]
async fn sign_in_url_carries_the_openid_parameters() {
    let mock = provider(|_| {}).await;
    let client = client_with(&mock, |s| {
        oidc(s).scopes = vec!["email".into(), "groups".into()];
    });
    let nonce = Nonce::generate();
    assert!(matches!(
        client.sign_in_url("st", CALLBACK, None, Some(&nonce)),
        Err(SsoError::NotReady)
    ));
    client.discover().await.unwrap();
    let pkce = PkceVerifier::generate();
    let url = Url::parse(
        &client
            .sign_in_url("s t&", CALLBACK, Some(&pkce), Some(&nonce))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        &url[..url::Position::AfterPath],
        format!("{}o/authorize/", mock.url())
    );
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let expected: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "test-client-id"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid email groups"),
        ("state", "s t&"),
        ("nonce", nonce.as_str()),
        ("code_challenge", &pkce.challenge()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    assert_eq!(query, expected);
}

/// An OpenID sign-in without a nonce cannot be started nor finished, and the staff
/// SSO's exchange refuses to stand in for it.
#[tokio::test]
async fn the_nonce_is_required() {
    let mock = provider(|_| {}).await;
    let client = discovered(&mock).await;
    assert!(matches!(
        client.sign_in_url("st", CALLBACK, None, None),
        Err(SsoError::NonceMissing)
    ));
    let outcome = client.finish_sign_in("code", CALLBACK, None, None).await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::NonceMissing)),
        "{outcome:?}"
    );
    let outcome = client.exchange_code("code", CALLBACK, None).await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::NonceMissing)),
        "{outcome:?}"
    );
    assert_eq!(mock.token_calls(), 0);
}

#[tokio::test]
async fn token_endpoint_refusals_and_failures() {
    let mock = provider(|_| {}).await;
    let client = discovered(&mock).await;
    let nonce = Nonce::generate();
    let outcome = client
        .finish_sign_in("never-issued", CALLBACK, None, Some(&nonce))
        .await;
    assert!(matches!(outcome, Outcome::Rejected(401)), "{outcome:?}");
    // A provider that answers 400 as RFC 6749 says: invalid_grant is a refusal,
    // anything else a failure.
    mock.update(|c| c.reject_status = 400);
    let outcome = client
        .finish_sign_in("never-issued", CALLBACK, None, Some(&nonce))
        .await;
    assert!(matches!(outcome, Outcome::Rejected(400)), "{outcome:?}");
    let wrong_client = client_with(&mock, |s| s.client_secret = "nope".into());
    wrong_client.discover().await.unwrap();
    let outcome = wrong_client
        .finish_sign_in("never-issued", CALLBACK, None, Some(&nonce))
        .await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Status(400))),
        "invalid_client: {outcome:?}"
    );
    mock.update(|c| c.reject_status = 401);
    mock.update(|c| c.token_status = Some(503));
    let outcome = client
        .finish_sign_in("any", CALLBACK, None, Some(&nonce))
        .await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Status(503))),
        "{outcome:?}"
    );
    mock.update(|c| c.token_status = None);
    // userinfo refusing the brand-new token refuses the sign-in.
    mock.update(|c| c.me_status = 403);
    let outcome = sign_in(&client).await;
    assert!(matches!(outcome, Outcome::Rejected(403)), "{outcome:?}");
}

#[tokio::test]
async fn a_code_is_good_once() {
    let mock = provider(|_| {}).await;
    let client = discovered(&mock).await;
    let nonce = client.new_nonce().unwrap();
    let url = client
        .sign_in_url("st", CALLBACK, None, Some(&nonce))
        .unwrap();
    let response = browser().get(url).send().await.unwrap();
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(n, _)| n == "code")
        .unwrap()
        .1
        .into_owned();
    let first = client
        .finish_sign_in(&code, CALLBACK, None, Some(&nonce))
        .await;
    accepted(first);
    let again = client
        .finish_sign_in(&code, CALLBACK, None, Some(&nonce))
        .await;
    assert!(matches!(again, Outcome::Rejected(401)), "{again:?}");
}

#[tokio::test]
async fn check_token_and_profile_ask_userinfo() {
    let mock = provider(|o| {
        o.groups_claim = "roles".into();
        o.groups = Some(vec!["finance".into(), "staff".into()]);
        o.email_verified = Some(false);
    })
    .await;
    let client = client_with(&mock, |s| oidc(s).groups_claim = "roles".into());
    client.discover().await.unwrap();
    let signed_in = accepted(sign_in(&client).await);
    let profile = signed_in.profile.unwrap();
    assert!(profile.emails.is_empty(), "unverified emails are ignored");
    assert_eq!(
        profile.groups,
        Some(vec!["finance".to_string(), "staff".to_string()])
    );
    let token = signed_in.access_token.0;

    assert!(matches!(
        client.check_token(&token).await,
        Outcome::Accepted(())
    ));
    let Outcome::Accepted(fresh) = client.profile(&token).await else {
        panic!("userinfo refused the token");
    };
    assert_eq!(fresh, profile);
    assert!(matches!(
        client.check_token("someone-elses-token").await,
        Outcome::Rejected(401)
    ));
    mock.update(|c| c.me_status = 403);
    assert!(matches!(
        client.check_token(&token).await,
        Outcome::Rejected(403)
    ));
    assert!(matches!(
        client.profile(&token).await,
        Outcome::Rejected(403)
    ));
    mock.update(|c| c.me_status = 500);
    assert!(matches!(
        client.check_token(&token).await,
        Outcome::Failed(SsoError::Status(500))
    ));
    assert_eq!(mock.userinfo_calls(), 7);
    assert_eq!(mock.me_calls(), 0, "the staff SSO's endpoint is not used");
}

#[tokio::test]
async fn end_session_url_signs_out_at_the_provider() {
    let mock = provider(|_| {}).await;
    let client = discovered(&mock).await;
    let id_token = accepted(sign_in(&client).await).id_token.unwrap();
    let back = "https://assets.example.com/?signed=out";
    let url = client
        .end_session_url(Some(&id_token), Some(back))
        .expect("the provider has an end_session_endpoint");
    assert!(url.starts_with(&format!("{}o/logout/?client_id=", mock.url())));
    let response = browser().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302, "{:?}", response.text().await);
    assert_eq!(response.headers()["location"], back);
    // Without a hint or a way back, the provider shows its own page.
    let response = browser()
        .get(client.end_session_url(None, None).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(mock.end_session_calls(), 2);

    let without = provider(|o| o.end_session = false).await;
    assert_eq!(discovered(&without).await.end_session_url(None, None), None);
    let staff = SsoClient::new(SsoSettings::new(mock.url(), mock.url(), "c", "s")).unwrap();
    assert_eq!(staff.end_session_url(Some(&id_token), Some(back)), None);
}

/// Waits, bounded, until the client's discovery has succeeded.
async fn until_ready(client: &SsoClient) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client.is_ready() {
        assert!(Instant::now() < deadline, "discovery never succeeded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn quick_retries(settings: &mut SsoSettings) {
    oidc(settings).discovery_retry_max = Duration::from_millis(200);
}

/// A provider that answers 503 and then comes back; then one that is not even
/// listening at start-up. Sign-ins answer NotReady until discovery succeeds, in the
/// background.
#[tokio::test]
async fn discovery_retries_until_the_provider_answers() {
    let mock = provider(|o| o.misbehaviour = Some(Misbehaviour::DiscoveryDown)).await;
    let client = client_with(&mock, quick_retries);
    let task = client.spawn_discovery().expect("a discovery task");
    let deadline = Instant::now() + Duration::from_secs(20);
    while mock.discovery_calls() < 2 {
        assert!(Instant::now() < deadline, "no second discovery attempt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!client.is_ready());
    let outcome = sign_in_outcome_before_discovery(&client).await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::NotReady)),
        "{outcome:?}"
    );
    mock.update(|c| c.oidc.as_mut().unwrap().misbehaviour = None);
    until_ready(&client).await;
    accepted(sign_in(&client).await);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the task ends once discovery succeeded")
        .unwrap();

    // Not listening at all: the port is free until the provider starts on it.
    let mut gone = provider(|_| {}).await;
    let port = gone.port();
    gone.stop().await;
    let client = client_with(&gone, quick_retries);
    let _task = client.spawn_discovery().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!client.is_ready());
    let back = SsoMock::start_on_port(
        port,
        MockConfig {
            oidc: Some(OidcMock::default()),
            ..MockConfig::default()
        },
    )
    .await
    .unwrap();
    until_ready(&client).await;
    assert!(back.discovery_calls() >= 1);
    accepted(sign_in(&client).await);
}

async fn sign_in_outcome_before_discovery(client: &SsoClient) -> Outcome<SignIn> {
    let nonce = client.new_nonce().unwrap();
    assert!(matches!(
        client.sign_in_url("st", CALLBACK, None, Some(&nonce)),
        Err(SsoError::NotReady)
    ));
    client
        .finish_sign_in("code", CALLBACK, None, Some(&nonce))
        .await
}

/// A document that is wrong is an error naming the field, and is tried again like a
/// provider that is down.
#[tokio::test]
async fn a_wrong_discovery_document_names_its_field() {
    let mock = provider(|_| {}).await;
    let client = client_with(&mock, quick_retries);
    for (lie, field) in [
        (Misbehaviour::DiscoveryOtherIssuer, "issuer"),
        (Misbehaviour::DiscoveryWithoutJwks, "jwks_uri is missing"),
        (Misbehaviour::DiscoveryNotJson, "not JSON"),
    ] {
        mock.update(|c| c.oidc.as_mut().unwrap().misbehaviour = Some(lie));
        match client.discover().await {
            Err(SsoError::Discovery(message)) => {
                assert!(message.contains(field), "{lie:?}: {message}")
            }
            other => panic!("{lie:?}: {other:?}"),
        }
        assert!(!client.is_ready());
    }
    let _task = client.spawn_discovery().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!client.is_ready());
    mock.update(|c| c.oidc.as_mut().unwrap().misbehaviour = None);
    until_ready(&client).await;
    accepted(sign_in(&client).await);
}

/// Secrets of a sign-in never show in its `Debug`.
#[tokio::test]
async fn a_sign_in_debug_shows_no_secret() {
    let mock = provider(|_| {}).await;
    let signed_in = accepted(sign_in(&discovered(&mock).await).await);
    let text = format!("{signed_in:?}");
    assert!(!text.contains(&signed_in.access_token.0), "{text}");
    assert!(
        !text.contains(&signed_in.id_token.as_ref().unwrap().0),
        "{text}"
    );
    assert!(!text.contains("test.user@example.com"), "{text}");
}

/// The staff SSO's profile, from `api/v1/user/me/`, is the same type.
#[tokio::test]
async fn staff_sso_profile_from_user_me() {
    let mock = SsoMock::start(MockConfig::default()).await.unwrap();
    let defaults = MockConfig::default();
    let client = SsoClient::new(SsoSettings::new(
        mock.url(),
        mock.url(),
        defaults.client_id,
        defaults.client_secret,
    ))
    .unwrap();
    assert!(client.new_nonce().is_none());
    let Outcome::Accepted(profile) = client.profile("test-token").await else {
        panic!("user/me refused the token");
    };
    assert_eq!(profile.emails, ["test.user@example.com"]);
    assert_eq!(profile.groups, None);
    assert!(matches!(
        client.profile("unknown").await,
        Outcome::Rejected(401)
    ));
    // finish_sign_in is the staff SSO's exchange there, without an ID token.
    let outcome = client
        .finish_sign_in("test-code", CALLBACK, None, None)
        .await;
    let signed_in = accepted(outcome);
    assert_eq!(signed_in.access_token.0, "test-token");
    assert!(signed_in.id_token.is_none() && signed_in.profile.is_none());
    assert_eq!(
        client.sign_in_url("st", CALLBACK, None, None).unwrap(),
        client.authorize_url("st", CALLBACK, None)
    );
}
