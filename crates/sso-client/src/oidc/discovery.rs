//! The provider's discovery document (OpenID Connect Discovery 1.0, §3 and §4.3): read,
//! and checked field by field.

use serde_json::{Map, Value};
use url::Url;

use crate::error::SsoError;

/// What the document says, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Discovered {
    /// The `issuer`, exactly as the document writes it: what `iss` must equal.
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: String,
    pub(crate) token_endpoint: String,
    pub(crate) jwks_uri: String,
    pub(crate) userinfo_endpoint: String,
    pub(crate) end_session_endpoint: Option<String>,
    pub(crate) client_auth: ClientAuth,
}

/// How the client proves itself at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    Basic,
    /// `client_id` and `client_secret` in the form.
    Post,
}

/// Where the document of `issuer_url` (ending with `/`) is.
pub(crate) fn document_url(issuer_url: &str) -> String {
    format!("{issuer_url}.well-known/openid-configuration")
}

/// Checks the document against `expected_issuer` (`SSO_URL`); an error names the field.
pub(crate) fn parse(body: &[u8], expected_issuer: &str) -> Result<Discovered, SsoError> {
    let problem = |message: String| SsoError::Discovery(message);
    let document: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(problem("not a JSON object".into())),
        Err(_) => return Err(problem("not JSON".into())),
    };
    let issuer = match document.get("issuer") {
        Some(Value::String(issuer)) if !issuer.is_empty() => issuer.clone(),
        Some(_) => return Err(problem("issuer is not a string".into())),
        None => return Err(problem("issuer is missing".into())),
    };
    if without_one_slash(&issuer) != without_one_slash(expected_issuer) {
        // The document's issuer is public metadata; SSO_URL is the operator's own.
        return Err(problem(format!(
            "issuer {issuer:?} is not SSO_URL (they must be equal, one trailing / aside)"
        )));
    }
    let endpoint = |name: &str| -> Result<Option<String>, SsoError> {
        match document.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(url)) if is_http_url(url) => Ok(Some(url.clone())),
            Some(_) => Err(problem(format!("{name} is not an absolute http(s) URL"))),
        }
    };
    let required = |name: &str| -> Result<String, SsoError> {
        endpoint(name)?.ok_or_else(|| problem(format!("{name} is missing")))
    };
    let authorization_endpoint = required("authorization_endpoint")?;
    let token_endpoint = required("token_endpoint")?;
    let jwks_uri = required("jwks_uri")?;
    let userinfo_endpoint = required("userinfo_endpoint")?;
    let end_session_endpoint = endpoint("end_session_endpoint")?;
    let client_auth =
        client_auth(document.get("token_endpoint_auth_methods_supported")).map_err(|()| {
            problem("token_endpoint_auth_methods_supported is not a list of strings".into())
        })?;
    Ok(Discovered {
        issuer,
        authorization_endpoint,
        token_endpoint,
        jwks_uri,
        userinfo_endpoint,
        end_session_endpoint,
        client_auth,
    })
}

/// `client_secret_basic` (the default of Discovery §3) unless the provider lists
/// `client_secret_post` and not `client_secret_basic`.
fn client_auth(methods: Option<&Value>) -> Result<ClientAuth, ()> {
    let methods = match methods {
        None | Some(Value::Null) => return Ok(ClientAuth::Basic),
        Some(Value::Array(methods)) => methods
            .iter()
            .map(|m| m.as_str().ok_or(()))
            .collect::<Result<Vec<&str>, ()>>()?,
        Some(_) => return Err(()),
    };
    let post_only =
        methods.contains(&"client_secret_post") && !methods.contains(&"client_secret_basic");
    Ok(if post_only {
        ClientAuth::Post
    } else {
        ClientAuth::Basic
    })
}

fn without_one_slash(url: &str) -> &str {
    url.strip_suffix('/').unwrap_or(url)
}

fn is_http_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://id.example.com/realms/staff/";

    fn document() -> Value {
        json!({
            "issuer": "https://id.example.com/realms/staff",
            "authorization_endpoint": "https://id.example.com/realms/staff/auth",
            "token_endpoint": "https://id.example.com/realms/staff/token",
            "jwks_uri": "https://id.example.com/realms/staff/certs",
            "userinfo_endpoint": "https://id.example.com/realms/staff/userinfo",
            "end_session_endpoint": "https://id.example.com/realms/staff/logout",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })
    }

    fn parse_value(value: &Value) -> Result<Discovered, String> {
        parse(value.to_string().as_bytes(), ISSUER).map_err(|e| e.to_string())
    }

    #[test]
    fn a_complete_document() {
        let d = parse_value(&document()).unwrap();
        assert_eq!(d.issuer, "https://id.example.com/realms/staff");
        assert_eq!(
            d.token_endpoint,
            "https://id.example.com/realms/staff/token"
        );
        assert_eq!(
            d.end_session_endpoint.as_deref(),
            Some("https://id.example.com/realms/staff/logout")
        );
        assert_eq!(d.client_auth, ClientAuth::Basic);
        assert_eq!(
            document_url(ISSUER),
            "https://id.example.com/realms/staff/.well-known/openid-configuration"
        );
    }

    #[test]
    fn the_issuer_must_be_sso_url_one_slash_aside() {
        let mut doc = document();
        doc["issuer"] = json!("https://id.example.com/realms/staff/");
        assert!(parse_value(&doc).is_ok());
        for other in [
            "https://id.example.com/realms/staff//",
            "https://id.example.com/realms/other",
            "http://id.example.com/realms/staff",
            "https://ID.example.com/realms/staff",
        ] {
            doc["issuer"] = json!(other);
            let err = parse_value(&doc).unwrap_err();
            assert!(err.contains("issuer"), "{other}: {err}");
        }
        doc["issuer"] = json!(5);
        assert!(parse_value(&doc)
            .unwrap_err()
            .contains("issuer is not a string"));
    }

    #[test]
    fn each_required_field_is_named_when_missing_or_wrong() {
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "userinfo_endpoint",
        ] {
            let mut doc = document();
            doc.as_object_mut().unwrap().remove(field);
            let err = parse_value(&doc).unwrap_err();
            assert!(err.contains(&format!("{field} is missing")), "{err}");
            if field != "issuer" {
                doc[field] = json!("/relative/path");
                let err = parse_value(&doc).unwrap_err();
                assert!(err.contains(field), "{err}");
            }
        }
        let mut doc = document();
        doc.as_object_mut().unwrap().remove("end_session_endpoint");
        assert_eq!(parse_value(&doc).unwrap().end_session_endpoint, None);
        doc["end_session_endpoint"] = json!(["x"]);
        assert!(parse_value(&doc)
            .unwrap_err()
            .contains("end_session_endpoint"));
    }

    #[test]
    fn not_json_or_not_an_object() {
        let err = parse(b"<html>", ISSUER).unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
        let err = parse(b"[1]", ISSUER).unwrap_err().to_string();
        assert!(err.contains("not a JSON object"), "{err}");
    }

    #[test]
    fn client_secret_post_only_when_basic_is_not_offered() {
        let mut doc = document();
        for (methods, auth) in [
            (json!(["client_secret_post"]), ClientAuth::Post),
            (
                json!(["private_key_jwt", "client_secret_post"]),
                ClientAuth::Post,
            ),
            (json!(["client_secret_basic"]), ClientAuth::Basic),
            (
                json!(["client_secret_post", "client_secret_basic"]),
                ClientAuth::Basic,
            ),
            (json!([]), ClientAuth::Basic),
            (Value::Null, ClientAuth::Basic),
        ] {
            doc["token_endpoint_auth_methods_supported"] = methods.clone();
            assert_eq!(parse_value(&doc).unwrap().client_auth, auth, "{methods}");
        }
        doc["token_endpoint_auth_methods_supported"] = json!("client_secret_post");
        assert!(parse_value(&doc)
            .unwrap_err()
            .contains("token_endpoint_auth_methods_supported"));
    }
}
