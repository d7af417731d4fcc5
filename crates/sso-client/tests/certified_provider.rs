//! The OpenID mode against a certified OpenID Provider it was not written for:
//! node-oidc-provider (`testdata/oidc-provider`), started on a loopback port. Discovery,
//! a whole authorization-code flow through its own login and consent pages (driven as a
//! browser would, cookies on), the ID token verified, userinfo, and RP-initiated logout.
//!
//! Needs Node.js and the harness's packages: `apt-get install -y nodejs npm` and
//! `npm ci --prefix testdata/oidc-provider` (which `cargo xtask test` runs). Without them
//! the test fails saying so.

use sso_client::{
    IdTokenCheck, Nonce, OidcSettings, Outcome, PkceVerifier, Provider, SignIn, SsoClient,
    SsoSettings,
};
use test_kit::{CertifiedProvider, CERTIFIED_EMAIL, CERTIFIED_GROUPS};
use url::Url;

const CALLBACK: &str = "https://assets.example.com/__redirect_from_sso";
const SIGNED_OUT: &str = "https://assets.example.com/signed-out";
const CLIENT_SECRET: &str = "a-secret: with spaces & symbols";

async fn start_provider() -> CertifiedProvider {
    CertifiedProvider::start(CALLBACK, SIGNED_OUT, CLIENT_SECRET).await
}

/// A client of `provider` as `client_id`, in the OpenID mode.
fn client_of(provider: &CertifiedProvider, client_id: &str) -> SsoClient {
    // SSO_URL with a trailing slash, the issuer without: one slash aside.
    let issuer = format!("{}/", provider.issuer());
    let mut settings = SsoSettings::new(issuer.clone(), issuer, client_id, CLIENT_SECRET);
    settings.provider = Provider::Oidc(OidcSettings {
        scopes: vec!["email".into(), "profile".into(), "groups".into()],
        ..OidcSettings::default()
    });
    SsoClient::new(settings).expect("client")
}

/// The value of the first `attr="…"` after `from` in `page`.
fn attribute<'a>(page: &'a str, from: &str, attr: &str) -> Option<&'a str> {
    let rest = &page[page.find(from)?..];
    let start = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
    let end = rest[start..].find('"')?;
    Some(&rest[start..start + end])
}

/// What the browser brings back to the callback, with what the sign-in kept.
struct Callback {
    code: String,
    pkce: PkceVerifier,
    nonce: Nonce,
}

/// Signs in as `login` through the provider's pages: follows its redirects, fills in
/// its login form and approves its consent form, until it sends the browser back to
/// the callback.
async fn through_the_pages(client: &SsoClient, login: &str) -> Callback {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pkce = PkceVerifier::generate();
    let nonce = client.new_nonce().unwrap();
    let mut url = client
        .sign_in_url("state-1", CALLBACK, Some(&pkce), Some(&nonce))
        .expect("discovered");
    for _ in 0..12 {
        let response = browser.get(&url).send().await.expect("provider");
        let response = if response.status() == 200 {
            let page = response.text().await.unwrap();
            let action = attribute(&page, "<form", "action")
                .unwrap_or_else(|| panic!("a page without a form: {page}"))
                .replace("&amp;", "&");
            let prompt = attribute(&page, "name=\"prompt\"", "value").unwrap_or("");
            let fields: Vec<(&str, &str)> = match prompt {
                "login" => vec![("prompt", "login"), ("login", login), ("password", "any")],
                "consent" => vec![("prompt", "consent")],
                other => panic!("unexpected prompt {other:?}: {page}"),
            };
            browser
                .post(&action)
                .form(&fields)
                .send()
                .await
                .expect("submit")
        } else {
            response
        };
        assert!(
            response.status().is_redirection(),
            "{}: {:?}",
            response.status(),
            response.text().await
        );
        let location = response.headers()["location"].to_str().unwrap();
        let next = Url::parse(&url).unwrap().join(location).unwrap();
        if next.as_str().starts_with(CALLBACK) {
            let params: Vec<(String, String)> = next.query_pairs().into_owned().collect();
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no {name} in {next}"))
            };
            assert_eq!(get("state"), "state-1");
            return Callback {
                code: get("code"),
                pkce,
                nonce,
            };
        }
        url = next.into();
    }
    panic!("the provider never sent the browser back");
}

/// The whole sign-in: the pages, then the code exchanged with `expected_nonce` (the
/// sign-in's own when `None`).
async fn sign_in(
    client: &SsoClient,
    login: &str,
    expected_nonce: Option<&Nonce>,
) -> Outcome<SignIn> {
    let back = through_the_pages(client, login).await;
    let expected = expected_nonce.unwrap_or(&back.nonce);
    client
        .finish_sign_in(&back.code, CALLBACK, Some(&back.pkce), Some(expected))
        .await
}

#[tokio::test]
async fn a_certified_provider_signs_people_in() {
    let provider = start_provider().await;

    for (client_id, alg) in [("s3proxy-rs256", "RS256"), ("s3proxy-es256", "ES256")] {
        let client = client_of(&provider, client_id);
        client.discover().await.expect("discovery");
        let outcome = sign_in(&client, "ada", None).await;
        let Outcome::Accepted(signed_in) = outcome else {
            panic!("{client_id}: sign-in refused: {outcome:?}");
        };
        let id_token = signed_in.id_token.as_ref().expect("the ID token");
        let header = id_token.0.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg, "{client_id}");
        let profile = signed_in.profile.expect("a profile");
        assert_eq!(profile.subject.as_deref(), Some("ada"));
        // From userinfo: this provider puts scope claims there, not in the ID token.
        assert_eq!(profile.emails, [CERTIFIED_EMAIL]);
        assert_eq!(
            profile.groups,
            Some(CERTIFIED_GROUPS.map(String::from).to_vec())
        );

        let token = &signed_in.access_token.0;
        let checked = client.check_token(token).await;
        assert!(matches!(checked, Outcome::Accepted(())), "{checked:?}");
        let Outcome::Accepted(fresh) = client.profile(token).await else {
            panic!("userinfo refused the access token");
        };
        assert_eq!(fresh, profile);
        let refused = client.check_token("not-a-token").await;
        assert!(matches!(refused, Outcome::Rejected(401)), "{refused:?}");

        // RP-initiated logout: the provider accepts the hint and the way back (it asks
        // the person to confirm, with a page).
        let logout = client
            .end_session_url(signed_in.id_token.as_ref(), Some(SIGNED_OUT))
            .expect("an end_session_endpoint");
        assert!(logout.starts_with(&format!(
            "{}/session/end?client_id={client_id}&",
            provider.issuer()
        )));
        let response = reqwest::get(&logout).await.unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }
}

/// A real ID token is refused when it does not carry the sign-in's nonce: the check is
/// done, not just passed because the mock always agrees.
#[tokio::test]
async fn a_certified_providers_token_is_refused_for_another_nonce() {
    let provider = start_provider().await;
    let client = client_of(&provider, "s3proxy-rs256");
    client.discover().await.expect("discovery");
    let other = client.new_nonce().unwrap();
    let outcome = sign_in(&client, "ada", Some(&other)).await;
    let check = match &outcome {
        Outcome::Failed(e) => e.id_token_check(),
        _ => None,
    };
    assert_eq!(check, Some(IdTokenCheck::Nonce), "{outcome:?}");

    // And a client the provider does not know is refused by the provider itself.
    let stranger = client_of(&provider, "s3proxy-unknown");
    stranger.discover().await.expect("discovery");
    let nonce = stranger.new_nonce().unwrap();
    let url = stranger
        .sign_in_url("st", CALLBACK, None, Some(&nonce))
        .unwrap();
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

/// A callback URL opened again: the code is refused as `invalid_grant` (a refusal, not
/// an outage), and the provider revokes what the code gave, which the token re-check
/// then sees as "sign in again".
#[tokio::test]
async fn a_certified_provider_refuses_a_code_twice() {
    let provider = start_provider().await;
    let client = client_of(&provider, "s3proxy-rs256");
    client.discover().await.expect("discovery");
    let back = through_the_pages(&client, "ada").await;
    let first = client
        .finish_sign_in(&back.code, CALLBACK, Some(&back.pkce), Some(&back.nonce))
        .await;
    let Outcome::Accepted(signed_in) = first else {
        panic!("sign-in refused: {first:?}");
    };
    let again = client
        .finish_sign_in(&back.code, CALLBACK, Some(&back.pkce), Some(&back.nonce))
        .await;
    assert!(matches!(again, Outcome::Rejected(400)), "{again:?}");
    let checked = client.check_token(&signed_in.access_token.0).await;
    assert!(matches!(checked, Outcome::Rejected(401)), "{checked:?}");
}
