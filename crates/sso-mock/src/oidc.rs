//! The OpenID Provider mode's endpoints: discovery, JWKS, the token endpoint's ID
//! token, userinfo and end-session; and each misbehaviour.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, LOCATION, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::config::{Misbehaviour, OidcMock};
use crate::keys::{compact, hmac_sha256, KeyRing};
use crate::page::escape;
use crate::routes::{
    bearer_token, empty, html, json_response, method_not_allowed, oauth_error, param, parse_form,
    pkce_ok, text, Body,
};
use crate::state::{lock, Grant, Shared, State};

/// How long an ID token is valid.
const ID_TOKEN_LIFETIME: u64 = 300;
/// The other audience of [`OidcMock::extra_audience`] and [`Misbehaviour::WrongAudience`].
const OTHER_CLIENT: &str = "another-client";

fn misbehaviour(state: &State) -> Option<Misbehaviour> {
    state.config.oidc.as_ref().and_then(|o| o.misbehaviour)
}

fn settings(state: &State) -> OidcMock {
    state.config.oidc.clone().unwrap_or_default()
}

/// `GET /.well-known/openid-configuration`.
pub(crate) fn discovery(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    if req.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let state = lock(shared);
    let issuer = state.issuer();
    let oidc = settings(&state);
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/o/authorize/"),
        "token_endpoint": format!("{issuer}/o/token/"),
        "jwks_uri": format!("{issuer}/o/jwks/"),
        "userinfo_endpoint": format!("{issuer}/o/userinfo/"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [oidc.signing_alg.name()],
        "scopes_supported": ["openid", "email", "profile"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": oidc.auth_methods,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", oidc.groups_claim],
    });
    if oidc.end_session {
        document["end_session_endpoint"] = json!(format!("{issuer}/o/logout/"));
    }
    match misbehaviour(&state) {
        Some(Misbehaviour::DiscoveryDown) => {
            return text(StatusCode::SERVICE_UNAVAILABLE, "down for maintenance")
        }
        Some(Misbehaviour::DiscoveryNotJson) => {
            return html(StatusCode::OK, "<html>Welcome!</html>".into())
        }
        Some(Misbehaviour::DiscoveryOtherIssuer) => {
            document["issuer"] = json!("https://other-issuer.example");
        }
        Some(Misbehaviour::DiscoveryWithoutJwks) => {
            if let Some(d) = document.as_object_mut() {
                d.remove("jwks_uri");
            }
        }
        _ => {}
    }
    json_response(StatusCode::OK, &document)
}

/// `GET /o/jwks/`: the public keys of the current generation.
pub(crate) fn jwks(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    if req.method() != Method::GET {
        return method_not_allowed("GET");
    }
    match lock(shared).keys() {
        Ok(keys) => json_response(StatusCode::OK, &keys.jwks()),
        Err(e) => {
            log::error!("{e}");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// `POST /o/token/` in the OpenID mode: the client authenticated as the discovery
/// document says, the code one issued by `/o/authorize/` (once), and an ID token beside
/// the access token.
pub(crate) fn token(
    params: &[(String, String)],
    authorization: Option<&HeaderValue>,
    state: &mut State,
) -> Response<Body> {
    let oidc = settings(state);
    let allows = |method: &str| oidc.auth_methods.iter().any(|m| m == method);
    let client = match (authorization, param(params, "client_secret")) {
        (Some(_), Some(_)) => return oauth_error(400, "invalid_request"),
        (Some(header), None) if allows("client_secret_basic") => basic_credentials(header),
        (None, Some(secret)) if allows("client_secret_post") => {
            param(params, "client_id").map(|id| (id.to_owned(), secret.to_owned()))
        }
        _ => None,
    };
    let config = &state.config;
    if client != Some((config.client_id.clone(), config.client_secret.clone())) {
        return oauth_error(config.reject_status, "invalid_client");
    }
    if param(params, "grant_type") != Some("authorization_code")
        || param(params, "redirect_uri").is_none_or(str::is_empty)
    {
        return oauth_error(config.reject_status, "invalid_grant");
    }
    // Codes are single use: taken out before anything else can fail.
    let grant = match param(params, "code").and_then(|code| state.grants.remove(code)) {
        Some(grant) => grant,
        None => return oauth_error(config.reject_status, "invalid_grant"),
    };
    if !pkce_ok(params, state) {
        return oauth_error(400, "invalid_grant");
    }
    let access_token = state.issue_token();
    let id_token = match id_token(state, &grant) {
        Ok(token) => token,
        Err(e) => {
            log::error!("{e}");
            return empty(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    state.id_tokens.push(id_token.clone());
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 36000,
        "id_token": id_token,
        "scope": "openid email profile",
    });
    let mut response = json_response(StatusCode::OK, &body);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `(client_id, client_secret)` of an `Authorization: Basic` header, each form-decoded
/// (RFC 6749 §2.3.1).
fn basic_credentials(header: &HeaderValue) -> Option<(String, String)> {
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        parse_form(format!("v={s}").as_bytes())
            .pop()
            .map(|(_, v)| v)
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The claims about the person, in the ID token and userinfo alike.
fn person(state: &State, oidc: &OidcMock) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(oidc.subject));
    claims.insert("email".into(), json!(state.config.user_email));
    if let Some(verified) = oidc.email_verified {
        claims.insert("email_verified".into(), json!(verified));
    }
    if let Some(groups) = &oidc.groups {
        claims.insert(oidc.groups_claim.clone(), json!(groups));
    }
    claims
}

/// The ID token for `grant`, signed (or mis-signed) as configured.
fn id_token(state: &mut State, grant: &Grant) -> Result<String, String> {
    let oidc = settings(state);
    let keys: KeyRing = state.keys()?;
    let lie = oidc.misbehaviour;
    let now = now();
    let client_id = state.config.client_id.clone();
    let mut claims = person(state, &oidc);
    claims.insert("iss".into(), json!(state.issuer()));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(now));
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if oidc.extra_audience {
        claims.insert("aud".into(), json!([client_id, OTHER_CLIENT]));
        claims.insert("azp".into(), json!(client_id));
    }
    match lie {
        Some(Misbehaviour::WrongNonce) => {
            claims.insert("nonce".into(), json!("not-the-nonce-of-this-sign-in"));
        }
        Some(Misbehaviour::WrongAudience) => {
            claims.insert("aud".into(), json!(OTHER_CLIENT));
        }
        Some(Misbehaviour::SeveralAudiencesWithoutAzp) => {
            claims.insert("aud".into(), json!([client_id, OTHER_CLIENT]));
            claims.remove("azp");
        }
        Some(Misbehaviour::WrongIssuer) => {
            claims.insert("iss".into(), json!("https://wrong-issuer.example"));
        }
        Some(Misbehaviour::Expired) => {
            claims.insert("iat".into(), json!(now - 7200));
            claims.insert("exp".into(), json!(now - 3600));
        }
        Some(Misbehaviour::IssuedInFuture) => {
            claims.insert("iat".into(), json!(now + 3600));
            claims.insert("exp".into(), json!(now + 3600 + ID_TOKEN_LIFETIME));
        }
        _ => {}
    }
    let claims = Value::Object(claims);
    let alg = oidc.signing_alg;
    let kid = keys.kid(alg).to_owned();
    match lie {
        Some(Misbehaviour::AlgNone) => {
            compact(&json!({"alg": "none", "typ": "JWT"}), &claims, |_| {
                Ok(Vec::new())
            })
        }
        Some(Misbehaviour::Hs256WithClientSecret) => {
            let secret = state.config.client_secret.clone();
            compact(
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &claims,
                |input| Ok(hmac_sha256(secret.as_bytes(), input)),
            )
        }
        Some(Misbehaviour::UnknownKid) => compact(
            &json!({"alg": alg.name(), "typ": "JWT", "kid": "kid-never-published"}),
            &claims,
            |input| keys.sign(alg, input),
        ),
        Some(Misbehaviour::BadSignature) => compact(
            &json!({"alg": alg.name(), "typ": "JWT", "kid": kid}),
            &claims,
            |input| {
                let mut signature = keys.sign(alg, input)?;
                if let Some(last) = signature.last_mut() {
                    *last ^= 1;
                }
                Ok(signature)
            },
        ),
        _ => compact(
            &json!({"alg": alg.name(), "typ": "JWT", "kid": kid}),
            &claims,
            |input| keys.sign(alg, input),
        ),
    }
}

/// `GET /o/userinfo/`: the person's claims, for a token this mock issued.
/// [`MockConfig::me_status`](crate::MockConfig::me_status) and
/// [`MockConfig::me_accepted_tokens`](crate::MockConfig::me_accepted_tokens) apply here
/// as to `/api/v1/user/me/`.
pub(crate) fn userinfo(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::POST {
        return method_not_allowed("GET, POST");
    }
    let state = lock(shared);
    let accepted = bearer_token(req.headers()).is_some_and(|token| state.accepts(token));
    if !accepted {
        let mut response = empty(StatusCode::UNAUTHORIZED);
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return response;
    }
    match StatusCode::from_u16(state.config.me_status) {
        Ok(StatusCode::OK) => {}
        Ok(status) => return empty(status),
        Err(_) => return empty(StatusCode::INTERNAL_SERVER_ERROR),
    }
    let oidc = settings(&state);
    let mut claims = person(&state, &oidc);
    if misbehaviour(&state) == Some(Misbehaviour::UserinfoOtherSubject) {
        claims.insert("sub".into(), json!("someone-else"));
    }
    json_response(StatusCode::OK, &Value::Object(claims))
}

/// `GET /o/logout/` (RP-Initiated Logout): `client_id` must be ours and `id_token_hint`,
/// when given, an ID token this mock issued; then back to `post_logout_redirect_uri`,
/// or a "signed out" page.
pub(crate) fn end_session(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    if req.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let params = parse_form(req.uri().query().unwrap_or("").as_bytes());
    let state = lock(shared);
    if !settings(&state).end_session {
        return text(StatusCode::NOT_FOUND, "not found");
    }
    if param(&params, "client_id") != Some(state.config.client_id.as_str()) {
        return text(StatusCode::BAD_REQUEST, "unknown client_id");
    }
    if let Some(hint) = param(&params, "id_token_hint") {
        if !state.id_tokens.iter().any(|t| t == hint) {
            return text(
                StatusCode::BAD_REQUEST,
                "id_token_hint is no ID token of ours",
            );
        }
    }
    match param(&params, "post_logout_redirect_uri") {
        Some(uri) => match HeaderValue::from_str(uri) {
            Ok(location) => {
                let mut response = empty(StatusCode::FOUND);
                response.headers_mut().insert(LOCATION, location);
                response
            }
            Err(_) => text(
                StatusCode::BAD_REQUEST,
                "post_logout_redirect_uri is no URL",
            ),
        },
        None => html(
            StatusCode::OK,
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Signed out</title></head><body><h1>Signed out</h1>\
                 <p>{} is signed out of sso-mock.</p></body></html>\n",
                escape(&state.config.user_email)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = |raw: &str| {
            HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
            .unwrap()
        };
        assert_eq!(
            basic_credentials(&header("a%3Ab:s+%25")),
            Some(("a:b".into(), "s %".into()))
        );
        assert_eq!(basic_credentials(&header("no-colon")), None);
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Bearer x")),
            None
        );
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Basic !!!")),
            None
        );
    }
}
