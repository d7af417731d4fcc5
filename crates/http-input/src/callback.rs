//! The OAuth2 callback's query: `code` and `state`, bounded before anything is asked of
//! the store or the SSO.

/// Authorization codes are tens of bytes; a longer one is no SSO's, so it is refused
/// before the SSO is called.
pub const MAX_CODE_BYTES: usize = 1024;

/// What the SSO sent the browser back with.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackParams {
    /// The authorization code, to exchange for a token (at most [`MAX_CODE_BYTES`]).
    pub code: String,
    /// The state the sign-in was saved under.
    pub state: String,
}

impl std::fmt::Debug for CallbackParams {
    // A code is a credential until it is used.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &"<redacted>")
            .field("state", &self.state)
            .finish()
    }
}

/// The first `code` and `state` of the query, percent-decoded; `None` when either is
/// missing or empty, or when `code` as received (still encoded) is over
/// [`MAX_CODE_BYTES`].
pub fn callback_params(query: &str) -> Option<CallbackParams> {
    let (mut code, mut state) = (None, None);
    for pair in query.split('&') {
        let raw_value = pair.split_once('=').map_or("", |(_, v)| v);
        let Some((name, value)) = form_urlencoded::parse(pair.as_bytes()).next() else {
            continue;
        };
        match &*name {
            "code" if code.is_none() => {
                if raw_value.len() > MAX_CODE_BYTES {
                    return None;
                }
                code = Some(value.into_owned());
            }
            "state" if state.is_none() => state = Some(value.into_owned()),
            _ => {}
        }
    }
    match (code, state) {
        (Some(code), Some(state)) if !code.is_empty() && !state.is_empty() => {
            Some(CallbackParams { code, state })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_code_and_state() {
        let p = callback_params("state=s%201&code=c%2Bd&code=other&x=y").unwrap();
        assert_eq!((p.code.as_str(), p.state.as_str()), ("c+d", "s 1"));
    }

    #[test]
    fn missing_or_empty_parameters_are_refused() {
        for query in [
            "",
            "code=a",
            "state=b",
            "code=&state=b",
            "code=a&state=",
            "&&=",
        ] {
            assert_eq!(callback_params(query), None, "{query:?}");
        }
    }

    #[test]
    fn codes_are_measured_as_received() {
        let fits = "a".repeat(MAX_CODE_BYTES);
        assert!(callback_params(&format!("code={fits}&state=s")).is_some());
        let long = "a".repeat(MAX_CODE_BYTES + 1);
        assert_eq!(callback_params(&format!("code={long}&state=s")), None);
        // 400 encoded bytes that decode to 400 characters: the encoded length counts.
        let encoded = "%41".repeat(MAX_CODE_BYTES / 3 + 1);
        assert_eq!(callback_params(&format!("state=s&code={encoded}")), None);
    }

    #[test]
    fn debug_hides_the_code() {
        let p = callback_params("code=secret-code&state=s").unwrap();
        assert!(!format!("{p:?}").contains("secret-code"));
    }
}
