//! The OAuth2 callback's query → `code` and `state`.
//!
//! Properties: what is accepted has a non-empty code and state, each the decoded value of
//! the first pair of that name; the code as received (still encoded) is at most
//! `MAX_CODE_BYTES`, so nothing longer ever reaches the SSO.
#![no_main]

use http_input::{callback_params, MAX_CODE_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let first = |wanted: &str| {
        query.split('&').find_map(|pair| {
            let (name, _) = form_urlencoded::parse(pair.as_bytes()).next()?;
            (name == wanted).then(|| pair.split_once('=').map_or("", |(_, raw)| raw))
        })
    };
    let Some(params) = callback_params(query) else {
        return;
    };
    assert!(
        !params.code.is_empty() && !params.state.is_empty(),
        "{query:?}"
    );
    let raw_code = first("code").expect("a code pair");
    assert!(raw_code.len() <= MAX_CODE_BYTES, "{query:?}");
    let decoded = |raw: &str| -> String {
        form_urlencoded::parse(format!("x={raw}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(params.code, decoded(raw_code), "{query:?}");
    assert_eq!(
        params.state,
        decoded(first("state").expect("a state pair")),
        "{query:?}"
    );
});
