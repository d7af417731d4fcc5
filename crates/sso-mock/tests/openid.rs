//! The OpenID Provider mode's endpoints, as a client sees them. (That its ID tokens
//! verify, and that each misbehaviour is caught, is tested by sso-client against it.)

use std::collections::HashSet;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use sso_mock::{MockConfig, OidcMock, SsoMock};

const CALLBACK: &str = "http://localhost:8000/__redirect_from_sso";

async fn start(oidc: OidcMock, tweak: impl FnOnce(&mut MockConfig)) -> SsoMock {
    let mut config = MockConfig {
        oidc: Some(oidc),
        ..MockConfig::default()
    };
    tweak(&mut config);
    SsoMock::start(config).await.expect("start the mock")
}

fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `url?name=value&…`, form-encoded.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{url}?{query}")
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON answer")
}

/// `/o/authorize/` as a browser: the code of the redirect back.
async fn code(mock: &SsoMock, nonce: &str) -> String {
    let url = with_query(
        &format!("{}o/authorize/", mock.url()),
        &[
            ("response_type", "code"),
            ("client_id", "test-client-id"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid email"),
            ("state", "st"),
            ("nonce", nonce),
        ],
    );
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned()
}

fn form<'a>(code: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ];
    form.extend_from_slice(extra);
    form
}

#[tokio::test]
async fn the_openid_endpoints_exist_only_in_that_mode() {
    let mut staff = SsoMock::start(MockConfig::default()).await.unwrap();
    for path in [
        ".well-known/openid-configuration",
        "o/jwks/",
        "o/userinfo/",
        "o/logout/",
    ] {
        let response = http()
            .get(format!("{}{path}", staff.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    staff.stop().await;
}

#[tokio::test]
async fn discovery_names_the_endpoints_under_the_issuer() {
    let mock = start(OidcMock::default(), |_| {}).await;
    let issuer = mock.url().trim_end_matches('/').to_owned();
    assert_eq!(mock.issuer(), issuer);
    let doc = json(
        http()
            .get(format!("{}.well-known/openid-configuration", mock.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(doc["issuer"], issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/o/authorize/"),
        ("token_endpoint", "/o/token/"),
        ("jwks_uri", "/o/jwks/"),
        ("userinfo_endpoint", "/o/userinfo/"),
        ("end_session_endpoint", "/o/logout/"),
    ] {
        assert_eq!(doc[field], format!("{issuer}{path}"), "{field}");
    }
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );

    let mock = start(
        OidcMock {
            issuer: Some("https://id.example.com/realms/staff".into()),
            end_session: false,
            ..OidcMock::default()
        },
        |_| {},
    )
    .await;
    // Under the issuer's path, as a realm's endpoints are.
    let doc = json(
        http()
            .get(format!(
                "{}realms/staff/.well-known/openid-configuration",
                mock.url()
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        doc["token_endpoint"],
        "https://id.example.com/realms/staff/o/token/"
    );
    assert!(doc.get("end_session_endpoint").is_none());
    assert_eq!(mock.discovery_calls(), 1);
}

#[tokio::test]
async fn jwks_publishes_three_keys_and_rotation_replaces_them() {
    let mock = start(OidcMock::default(), |_| {}).await;
    let kids = |jwks: &Value| -> HashSet<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let url = format!("{}o/jwks/", mock.url());
    let before = json(http().get(&url).send().await.unwrap()).await;
    let types: Vec<&str> = before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kty"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["RSA", "EC", "OKP"]);
    mock.rotate_keys().unwrap();
    let after = json(http().get(&url).send().await.unwrap()).await;
    assert!(kids(&before).is_disjoint(&kids(&after)));
    assert_eq!(mock.jwks_calls(), 2);
}

#[tokio::test]
async fn authorization_needs_the_openid_scope_and_the_login_page_keeps_the_nonce() {
    let mock = start(OidcMock::default(), |c| c.login_page = true).await;
    let url = format!("{}o/authorize/", mock.url());
    let base = [
        ("response_type", "code"),
        ("client_id", "test-client-id"),
        ("redirect_uri", CALLBACK),
        ("state", "st"),
        ("nonce", "n-0123"),
    ];
    let query = |scope| [&base[..], &[("scope", scope)]].concat();
    let response = http()
        .get(with_query(&url, &query("email profile")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let page = http()
        .get(with_query(&url, &query("openid")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"nonce\" value=\"n-0123\""), "{page}");
    // The page's button posts the same parameters back.
    let response = http()
        .post(&url)
        .form(&query("openid"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn the_token_endpoint_takes_only_the_listed_client_authentication() {
    let basic_only = start(
        OidcMock {
            auth_methods: vec!["client_secret_basic".into()],
            ..OidcMock::default()
        },
        |_| {},
    )
    .await;
    let token_url = format!("{}o/token/", basic_only.url());
    let basic_code = code(&basic_only, "n").await;
    let post = [
        ("client_id", "test-client-id"),
        ("client_secret", "test-client-secret"),
    ];
    let response = http()
        .post(&token_url)
        .form(&form(&basic_code, &post))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Both at once is a malformed request.
    let response = http()
        .post(&token_url)
        .basic_auth("test-client-id", Some("test-client-secret"))
        .form(&form(&basic_code, &post))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = http()
        .post(&token_url)
        .basic_auth("test-client-id", Some("test-client-secret"))
        .form(&form(&basic_code, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens = json(response).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(
        tokens["id_token"].as_str().unwrap(),
        basic_only.issued_id_tokens()[0]
    );

    let post_only = start(
        OidcMock {
            auth_methods: vec!["client_secret_post".into()],
            ..OidcMock::default()
        },
        |_| {},
    )
    .await;
    let post_code = code(&post_only, "n").await;
    let response = http()
        .post(format!("{}o/token/", post_only.url()))
        .basic_auth("test-client-id", Some("test-client-secret"))
        .form(&form(&post_code, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn userinfo_and_end_session() {
    let mock = start(OidcMock::default(), |c| c.tokens = Vec::new()).await;
    let issued = code(&mock, "n").await;
    let tokens = json(
        http()
            .post(format!("{}o/token/", mock.url()))
            .basic_auth("test-client-id", Some("test-client-secret"))
            .form(&form(&issued, &[]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap();
    let claims = json(
        http()
            .get(format!("{}o/userinfo/", mock.url()))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(claims["sub"], "mock-subject-1");
    assert_eq!(claims["email"], "test.user@example.com");
    assert_eq!(claims["groups"], serde_json::json!(["staff"]));
    let refused = http()
        .get(format!("{}o/userinfo/", mock.url()))
        .bearer_auth("not-issued")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(mock.userinfo_calls(), 2);

    let logout = format!("{}o/logout/", mock.url());
    for (query, status) in [
        (vec![("client_id", "other")], StatusCode::BAD_REQUEST),
        (
            vec![("client_id", "test-client-id"), ("id_token_hint", "forged")],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![
                ("client_id", "test-client-id"),
                ("id_token_hint", tokens["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", "http://localhost:8000/bye"),
            ],
            StatusCode::FOUND,
        ),
        (vec![("client_id", "test-client-id")], StatusCode::OK),
    ] {
        let response = http()
            .get(with_query(&logout, &query))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{query:?}");
    }
    assert_eq!(mock.end_session_calls(), 4);
}
