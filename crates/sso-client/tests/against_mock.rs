//! The client against the SSO mock over real sockets: what it sends, and how it reads
//! every kind of answer (and non-answer) the SSO can give.

use std::time::{Duration, Instant};

use sso_client::{
    encode_component, AccessToken, Outcome, PkceVerifier, SsoClient, SsoError, SsoSettings,
};
use sso_mock::{MockConfig, SsoMock};

const CALLBACK: &str = "https://assets.example.com:8443/__redirect_from_sso";

async fn mock(config: MockConfig) -> SsoMock {
    SsoMock::start(config).await.expect("start the SSO mock")
}

/// A client with the mock's default credentials.
fn client(mock: &SsoMock) -> SsoClient {
    client_with(mock, |_| {})
}

fn client_with(mock: &SsoMock, tweak: impl FnOnce(&mut SsoSettings)) -> SsoClient {
    let defaults = MockConfig::default();
    let mut settings = SsoSettings::new(
        mock.url(),
        mock.url(),
        defaults.client_id,
        defaults.client_secret,
    );
    tweak(&mut settings);
    SsoClient::new(settings).expect("build the client")
}

#[test]
fn root_urls_get_exactly_one_trailing_slash() {
    let bare = SsoSettings::new(
        "https://sso.example.com",
        "http://sso.internal:8001",
        "c",
        "s",
    );
    assert_eq!(bare.browser_url, "https://sso.example.com/");
    assert_eq!(bare.internal_url, "http://sso.internal:8001/");

    let slashed = SsoSettings::new("https://sso.example.com/", "http://sso.internal/", "c", "s");
    assert_eq!(slashed.browser_url, "https://sso.example.com/");
    assert_eq!(slashed.internal_url, "http://sso.internal/");

    // With a path, the slash goes after the path so `o/authorize/` is appended below it.
    let client = SsoClient::new(SsoSettings::new(
        "https://example.com/sso",
        "http://internal/sso",
        "c",
        "s",
    ))
    .unwrap();
    assert!(client
        .authorize_url("st", CALLBACK, None)
        .starts_with("https://example.com/sso/o/authorize/?"));
}

#[test]
fn authorize_url_encodes_every_parameter() {
    let client = SsoClient::new(SsoSettings::new(
        "https://sso.example.com",
        "http://sso.internal",
        "id &=+/?#é",
        "secret",
    ))
    .unwrap();
    let url = client.authorize_url("s&t=a+t e/?#", "http://h:1/cb?x=1&y=a b", None);
    assert_eq!(
        url,
        "https://sso.example.com/o/authorize/?scope=read%20write\
         &state=s%26t%3Da%2Bt%20e%2F%3F%23\
         &redirect_uri=http%3A%2F%2Fh%3A1%2Fcb%3Fx%3D1%26y%3Da%20b\
         &response_type=code\
         &client_id=id%20%26%3D%2B%2F%3F%23%C3%A9"
    );
}

/// The mock parses the authorize URL like a real OAuth server: if any value were encoded
/// loosely (`+` left as is, say), it would read a different state or client id.
#[tokio::test]
async fn authorize_url_round_trips_through_the_sso() {
    let client_id = "client id&x=y+z";
    let sso = mock(MockConfig {
        client_id: client_id.into(),
        ..MockConfig::default()
    })
    .await;
    let client = client_with(&sso, |s| s.client_id = client_id.into());
    let state = "a+b c&d=e/f?g";
    let redirect_uri = "https://assets.example.com/__redirect_from_sso?from=a%2Fb";

    // reqwest is a dependency of the crate anyway; redirects off to read the Location.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(client.authorize_url(state, redirect_uri, None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        location,
        format!(
            "{redirect_uri}&code=test-code&state={}",
            encode_component(state)
        )
    );
    assert_eq!(sso.authorize_calls(), 1);
}

#[tokio::test]
async fn exchange_code_returns_the_token() {
    let sso = mock(MockConfig::default()).await;
    let outcome = client(&sso)
        .exchange_code("test-code", CALLBACK, None)
        .await;
    assert!(
        matches!(&outcome, Outcome::Accepted(t) if *t == AccessToken("test-token".into())),
        "{outcome:?}"
    );
    assert_eq!(sso.token_calls(), 1);
    assert_eq!(sso.issued_tokens(), ["test-token"]);
}

/// Reserved characters in the code and secret must survive the form encoding.
#[tokio::test]
async fn exchange_code_form_encodes_its_fields() {
    let sso = mock(MockConfig {
        code: "c+d&e=f g%".into(),
        client_secret: "s&cret=+ %".into(),
        ..MockConfig::default()
    })
    .await;
    let client = client_with(&sso, |s| s.client_secret = "s&cret=+ %".into());
    let outcome = client.exchange_code("c+d&e=f g%", CALLBACK, None).await;
    assert!(matches!(outcome, Outcome::Accepted(_)), "{outcome:?}");
}

/// The mock checks each form field; getting one wrong is the SSO's 401, passed on as such.
#[tokio::test]
async fn exchange_code_rejected_when_a_field_is_wrong() {
    let sso = mock(MockConfig::default()).await;

    let wrong_secret = client_with(&sso, |s| s.client_secret = "nope".into());
    let outcome = wrong_secret
        .exchange_code("test-code", CALLBACK, None)
        .await;
    assert!(matches!(outcome, Outcome::Rejected(401)), "{outcome:?}");

    let wrong_id = client_with(&sso, |s| s.client_id = "other-client".into());
    let outcome = wrong_id.exchange_code("test-code", CALLBACK, None).await;
    assert!(matches!(outcome, Outcome::Rejected(401)), "{outcome:?}");

    let good = client(&sso);
    let outcome = good.exchange_code("wrong-code", CALLBACK, None).await;
    assert!(matches!(outcome, Outcome::Rejected(401)), "{outcome:?}");

    // The mock requires a redirect_uri: an empty one shows the field is what we pass.
    let outcome = good.exchange_code("test-code", "", None).await;
    assert!(matches!(outcome, Outcome::Rejected(401)), "{outcome:?}");

    assert_eq!(sso.token_calls(), 4);
    assert!(sso.issued_tokens().is_empty());
}

#[tokio::test]
async fn exchange_code_passes_403_on() {
    let sso = mock(MockConfig {
        token_status: Some(403),
        ..MockConfig::default()
    })
    .await;
    let outcome = client(&sso)
        .exchange_code("test-code", CALLBACK, None)
        .await;
    assert!(matches!(outcome, Outcome::Rejected(403)), "{outcome:?}");
}

#[tokio::test]
async fn exchange_code_fails_on_a_server_error() {
    let sso = mock(MockConfig {
        token_status: Some(500),
        ..MockConfig::default()
    })
    .await;
    let outcome = client(&sso)
        .exchange_code("test-code", CALLBACK, None)
        .await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Status(500))),
        "{outcome:?}"
    );
}

/// A 200 that carries no usable token must not become a session.
#[tokio::test]
async fn exchange_code_fails_on_a_200_without_a_token() {
    // `token_status: Some(200)` answers 200 with an empty body: no JSON at all.
    let sso = mock(MockConfig {
        token_status: Some(200),
        ..MockConfig::default()
    })
    .await;
    let outcome = client(&sso)
        .exchange_code("test-code", CALLBACK, None)
        .await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Body(_))),
        "{outcome:?}"
    );

    // Valid JSON whose access_token is empty.
    let sso = mock(MockConfig {
        tokens: vec![String::new()],
        ..MockConfig::default()
    })
    .await;
    let outcome = client(&sso)
        .exchange_code("test-code", CALLBACK, None)
        .await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Body(_))),
        "{outcome:?}"
    );
    assert_eq!(sso.issued_tokens(), [""]);
}

#[tokio::test]
async fn check_token_accepts_and_rejects() {
    let sso = mock(MockConfig::default()).await;
    let client = client(&sso);

    let outcome = client.check_token("test-token").await;
    assert!(matches!(outcome, Outcome::Accepted(())), "{outcome:?}");

    let outcome = client.check_token("someone-elses-token").await;
    assert!(matches!(outcome, Outcome::Rejected(401)), "{outcome:?}");

    // A token with characters that are not valid in a header cannot be sent; it must
    // still be an outcome, not a panic.
    let outcome = client.check_token("bad\ntoken").await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");

    assert_eq!(sso.me_calls(), 2);
}

#[tokio::test]
async fn check_token_statuses() {
    let sso = mock(MockConfig {
        me_status: 500,
        ..MockConfig::default()
    })
    .await;
    let client = client(&sso);
    let outcome = client.check_token("test-token").await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Status(500))),
        "{outcome:?}"
    );

    sso.update(|c| c.me_status = 403);
    let outcome = client.check_token("test-token").await;
    assert!(matches!(outcome, Outcome::Rejected(403)), "{outcome:?}");

    sso.update(|c| c.me_status = 200);
    let outcome = client.check_token("test-token").await;
    assert!(matches!(outcome, Outcome::Accepted(())), "{outcome:?}");
}

/// A dead SSO is a prompt failure (connection refused), not a wait for the timeout.
#[tokio::test]
async fn sso_stopped_fails_quickly() {
    let mut sso = mock(MockConfig::default()).await;
    let client = client(&sso);
    // A pooled keep-alive connection first, so the stop also cuts an open connection.
    assert!(matches!(
        client.check_token("test-token").await,
        Outcome::Accepted(())
    ));
    sso.stop().await;

    let started = Instant::now();
    let outcome = client.check_token("test-token").await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Transport(_))),
        "{outcome:?}"
    );
    let outcome = client.exchange_code("test-code", CALLBACK, None).await;
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Transport(_))),
        "{outcome:?}"
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[tokio::test]
async fn sso_hanging_fails_after_the_timeout() {
    let sso = mock(MockConfig {
        hang: true,
        ..MockConfig::default()
    })
    .await;
    let client = client_with(&sso, |s| s.timeout = Duration::from_millis(300));

    let started = Instant::now();
    let outcome = client.check_token("test-token").await;
    let took = started.elapsed();
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Transport(_))),
        "{outcome:?}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(1),
        "took {took:?}"
    );

    let started = Instant::now();
    let outcome = client.exchange_code("test-code", CALLBACK, None).await;
    let took = started.elapsed();
    assert!(
        matches!(outcome, Outcome::Failed(SsoError::Transport(_))),
        "{outcome:?}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // Both requests did arrive: the timeout is ours, not a connection failure.
    assert_eq!(sso.me_calls(), 1);
    assert_eq!(sso.token_calls(), 1);
}

/// Errors are logged by callers: they must not carry the secret or the token.
#[tokio::test]
async fn errors_hold_no_secret() {
    let mut sso = mock(MockConfig::default()).await;
    let client = client(&sso);
    sso.stop().await;
    let Outcome::Failed(e) = client.check_token("the-token-value").await else {
        panic!("expected a failure");
    };
    let text = format!("{e} {e:?}");
    assert!(!text.contains("the-token-value"), "{text}");
    let Outcome::Failed(e) = client.exchange_code("the-code", CALLBACK, None).await else {
        panic!("expected a failure");
    };
    let text = format!("{e} {e:?}");
    assert!(!text.contains("test-client-secret"), "{text}");
    let settings = SsoSettings::new("http://a/", "http://a/", "id", "test-client-secret");
    assert!(!format!("{settings:?}").contains("test-client-secret"));
}

/// PKCE end to end against the mock: the challenge goes to the authorize URL, the
/// verifier to the token request, and the mock (like the SSO) checks they match.
#[tokio::test]
async fn pkce_binds_the_code_to_its_verifier() {
    let sso = mock(MockConfig {
        require_pkce: true,
        ..MockConfig::default()
    })
    .await;
    let client = client(&sso);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = PkceVerifier::generate();
    let authorize = client.authorize_url("st", CALLBACK, Some(&verifier));
    assert_eq!(http.get(authorize).send().await.unwrap().status(), 302);
    assert_eq!(sso.pkce_challenges(), 1);

    let other = PkceVerifier::generate();
    let Outcome::Failed(SsoError::Status(400)) = client
        .exchange_code("test-code", CALLBACK, Some(&other))
        .await
    else {
        panic!("a verifier that matches no challenge was accepted");
    };
    let Outcome::Failed(SsoError::Status(400)) =
        client.exchange_code("test-code", CALLBACK, None).await
    else {
        panic!("an exchange without the verifier was accepted");
    };
    let Outcome::Accepted(_) = client
        .exchange_code("test-code", CALLBACK, Some(&verifier))
        .await
    else {
        panic!("the right verifier was refused");
    };
    assert_eq!(sso.pkce_verified(), 1);
}
