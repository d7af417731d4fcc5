//! Answers one request: the three OAuth2 endpoints and 404 for the rest.

use std::future::pending;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;

use crate::oidc;
use crate::page;
use crate::state::{lock, random_string, Endpoint, Grant, Shared, State};

pub(crate) type Body = Full<Bytes>;

/// Form bodies are a handful of short fields; anything much larger is not a
/// client of this mock.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Everything but RFC 3986 unreserved characters is encoded, so values survive
/// any query-string parser (notably `+` and spaces).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const USER_ID: &str = "00000000-0000-0000-0000-000000000000";

pub(crate) async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    let local = lock(shared).local_path(req.uri().path()).to_owned();
    let endpoint = match local.as_str() {
        "/o/authorize/" => Some(Endpoint::Authorize),
        "/o/token/" => Some(Endpoint::Token),
        "/api/v1/user/me/" => Some(Endpoint::Me),
        "/.well-known/openid-configuration" => Some(Endpoint::Discovery),
        "/o/jwks/" => Some(Endpoint::Jwks),
        "/o/userinfo/" => Some(Endpoint::Userinfo),
        "/o/logout/" => Some(Endpoint::EndSession),
        _ => None,
    };
    // Logged without the query string: it carries codes and states.
    let method = req.method().clone();
    let path = req.uri().path().to_owned();

    let (hang, delay, endpoint) = {
        let mut state = lock(shared);
        // The OpenID endpoints exist only in that mode.
        let oidc = state.config.oidc.is_some();
        let endpoint = endpoint
            .filter(|e| oidc || matches!(e, Endpoint::Authorize | Endpoint::Token | Endpoint::Me));
        if let Some(endpoint) = endpoint {
            state.count(endpoint);
        }
        (state.config.hang, state.config.delay, endpoint)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if hang {
        log::info!("{method} {path} -> (hanging, never answered)");
        // The connection task is aborted by `SsoMock::stop`, ending this.
        pending::<()>().await;
    }

    let response = match endpoint {
        Some(Endpoint::Authorize) => authorize(req, shared).await,
        Some(Endpoint::Token) => token(req, shared).await,
        Some(Endpoint::Me) => me(&req, shared),
        Some(Endpoint::Discovery) => oidc::discovery(&req, shared),
        Some(Endpoint::Jwks) => oidc::jwks(&req, shared),
        Some(Endpoint::Userinfo) => oidc::userinfo(&req, shared),
        Some(Endpoint::EndSession) => oidc::end_session(&req, shared),
        None => text(StatusCode::NOT_FOUND, "not found"),
    };
    log::info!("{method} {path} -> {}", response.status().as_u16());
    response
}

/// `GET`/`POST /o/authorize/`: the browser-facing start of the login.
async fn authorize(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    let is_get = req.method() == Method::GET;
    let params = match *req.method() {
        Method::GET => parse_form(req.uri().query().unwrap_or("").as_bytes()),
        Method::POST => match read_form(req).await {
            Ok(params) => params,
            Err(response) => return response,
        },
        _ => return method_not_allowed("GET, POST"),
    };
    let (client_id, code, login_page, user_email, oidc) = {
        let state = lock(shared);
        let c = &state.config;
        (
            c.client_id.clone(),
            c.code.clone(),
            c.login_page,
            c.user_email.clone(),
            c.oidc.is_some(),
        )
    };

    let redirect_uri = match param(&params, "redirect_uri") {
        Some(uri) if !uri.is_empty() => uri,
        _ => return text(StatusCode::BAD_REQUEST, "missing redirect_uri"),
    };
    let state = match param(&params, "state") {
        Some(state) if !state.is_empty() => state,
        _ => return text(StatusCode::BAD_REQUEST, "missing state"),
    };
    if param(&params, "response_type") != Some("code") {
        return text(StatusCode::BAD_REQUEST, "response_type must be code");
    }
    if param(&params, "client_id") != Some(client_id.as_str()) {
        return text(StatusCode::BAD_REQUEST, "unknown client_id");
    }
    // OpenID Connect Core §3.1.2.1: without `openid` it is no OpenID request.
    if oidc && !param(&params, "scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid"))
    {
        return text(StatusCode::BAD_REQUEST, "scope must include openid");
    }
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return text(
            StatusCode::BAD_REQUEST,
            "redirect_uri must be an http(s) URL",
        );
    }
    // RFC 6749 §3.1.2: a redirection URI has no fragment; where the code would
    // go would be ambiguous.
    if redirect_uri.contains('#') {
        return text(
            StatusCode::BAD_REQUEST,
            "redirect_uri must not have a fragment",
        );
    }

    // RFC 7636: a challenge binds the code to the verifier the token request must show.
    let challenge = param(&params, "code_challenge").filter(|c| !c.is_empty());
    if let Some(challenge) = challenge {
        if param(&params, "code_challenge_method") != Some("S256") {
            return text(
                StatusCode::BAD_REQUEST,
                "code_challenge_method must be S256",
            );
        }
        if !is_s256_challenge(challenge) {
            return text(
                StatusCode::BAD_REQUEST,
                "code_challenge is no S256 challenge",
            );
        }
    }

    if is_get && login_page {
        return html(StatusCode::OK, page::login_page(&params, &user_email));
    }
    if let Some(challenge) = challenge {
        lock(shared).pkce_challenges.insert(challenge.to_string());
    }
    // OpenID mode: a fresh code per sign-in, which remembers its nonce.
    let code = if oidc {
        let code = random_string();
        let grant = Grant {
            nonce: param(&params, "nonce").map(str::to_owned),
        };
        lock(shared).grants.insert(code.clone(), grant);
        code
    } else {
        code
    };

    let location = callback_location(redirect_uri, &code, state);
    match HeaderValue::from_str(&location) {
        Ok(location) => {
            let mut response = empty(StatusCode::FOUND);
            response.headers_mut().insert(LOCATION, location);
            response
        }
        // Control or non-ASCII characters in the decoded redirect_uri.
        Err(_) => text(StatusCode::BAD_REQUEST, "redirect_uri is not a valid URL"),
    }
}

/// `<redirect_uri>?code=…&state=…`, appending to a query already there.
fn callback_location(redirect_uri: &str, code: &str, state: &str) -> String {
    let separator = if !redirect_uri.contains('?') {
        "?"
    } else if redirect_uri.ends_with('?') || redirect_uri.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!(
        "{redirect_uri}{separator}code={}&state={}",
        utf8_percent_encode(code, QUERY_VALUE),
        utf8_percent_encode(state, QUERY_VALUE)
    )
}

/// `POST /o/token/`: the server-side code-for-token exchange.
async fn token(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    if req.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let authorization = req.headers().get(AUTHORIZATION).cloned();
    // Read the body even when failing on purpose, as a real server would, so
    // the client sees the failure rather than a reset while still sending.
    let params = match read_form(req).await {
        Ok(params) => params,
        Err(response) => return response,
    };

    let mut state = lock(shared);
    if let Some(status) = state.config.token_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return empty(status);
    }
    if state.config.oidc.is_some() {
        return oidc::token(&params, authorization.as_ref(), &mut state);
    }
    let config = &state.config;
    if param(&params, "client_id") != Some(config.client_id.as_str())
        || param(&params, "client_secret") != Some(config.client_secret.as_str())
    {
        return oauth_error(config.reject_status, "invalid_client");
    }
    let grant_ok = param(&params, "grant_type") == Some("authorization_code")
        && param(&params, "code") == Some(config.code.as_str())
        && param(&params, "redirect_uri").is_some_and(|uri| !uri.is_empty());
    if !grant_ok {
        return oauth_error(config.reject_status, "invalid_grant");
    }
    if !pkce_ok(&params, &mut state) {
        return oauth_error(400, "invalid_grant");
    }
    let access_token = state.issue_token();
    drop(state);

    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 36000,
        "scope": "read write",
    });
    let mut response = json_response(StatusCode::OK, &body);
    // RFC 6749 §5.1: token responses must not be cached.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the token request's PKCE verifier matches a challenge sent to
/// `/o/authorize/` (a missing one is fine unless
/// [`MockConfig::require_pkce`](crate::MockConfig::require_pkce)). Refusals are
/// `400 invalid_grant`.
pub(crate) fn pkce_ok(params: &[(String, String)], state: &mut State) -> bool {
    match param(params, "code_verifier") {
        Some(verifier) => {
            let known =
                is_verifier(verifier) && state.pkce_challenges.contains(&s256_challenge(verifier));
            if known {
                state.pkce_verified += 1;
            }
            known
        }
        None => !state.config.require_pkce,
    }
}

/// `GET /api/v1/user/me/`: who the bearer token belongs to.
fn me(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    if req.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let (accepted, status, email, related, groups) = {
        let state = lock(shared);
        let accepted = bearer_token(req.headers()).is_some_and(|token| state.accepts(token));
        (
            accepted,
            state.config.me_status,
            state.config.user_email.clone(),
            state.config.user_related_emails.clone(),
            state.config.user_groups.clone(),
        )
    };
    if !accepted {
        let mut response = empty(StatusCode::UNAUTHORIZED);
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    match StatusCode::from_u16(status) {
        Ok(StatusCode::OK) => {
            let mut me = json!({
                "email": email,
                "related_emails": related,
                "first_name": "Mock",
                "last_name": "User",
                "user_id": USER_ID,
            });
            if let Some(groups) = groups {
                me["groups"] = json!(groups);
            }
            json_response(StatusCode::OK, &me)
        }
        Ok(status) => empty(status),
        Err(_) => empty(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched
/// case-insensitively, as RFC 7235 requires).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub(crate) fn parse_form(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// The form-urlencoded body, or the error response to send instead.
pub(crate) async fn read_form(
    req: Request<Incoming>,
) -> Result<Vec<(String, String)>, Response<Body>> {
    match Limited::new(req.into_body(), MAX_FORM_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(parse_form(&collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(text(StatusCode::PAYLOAD_TOO_LARGE, "form too large"))
        }
        Err(_) => Err(text(StatusCode::BAD_REQUEST, "could not read the body")),
    }
}

/// The first value of `name`; later duplicates are ignored.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    response
}

pub(crate) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) fn text(status: StatusCode, message: &'static str) -> Response<Body> {
    with_type(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(message.as_bytes()),
    )
}

pub(crate) fn html(status: StatusCode, page: String) -> Response<Body> {
    with_type(status, "text/html; charset=utf-8", Bytes::from(page))
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    with_type(
        status,
        "application/json",
        Bytes::from(value.to_string().into_bytes()),
    )
}

pub(crate) fn oauth_error(status: u16, error: &'static str) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
    json_response(status, &json!({ "error": error }))
}

pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
fn is_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// base64url (no padding) of a SHA-256: 43 characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// `BASE64URL(SHA256(verifier))`, as the server side of RFC 7636 computes it.
fn s256_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_joins_query() {
        assert_eq!(
            callback_location("http://a/cb", "c", "s"),
            "http://a/cb?code=c&state=s"
        );
        assert_eq!(
            callback_location("http://a/cb?x=1", "c", "s"),
            "http://a/cb?x=1&code=c&state=s"
        );
        assert_eq!(
            callback_location("http://a/cb?", "c", "s"),
            "http://a/cb?code=c&state=s"
        );
    }

    #[test]
    fn location_encodes_values() {
        assert_eq!(
            callback_location("http://a/cb", "a b+c", "x&y=z/~"),
            "http://a/cb?code=a%20b%2Bc&state=x%26y%3Dz%2F~"
        );
    }

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn first_param_wins() {
        let params = parse_form(b"a=1&a=2&b=x%20y+z");
        assert_eq!(param(&params, "a"), Some("1"));
        assert_eq!(param(&params, "b"), Some("x y z"));
        assert_eq!(param(&params, "c"), None);
    }
}
