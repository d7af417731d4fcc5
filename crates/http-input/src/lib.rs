//! Parsing of the untrusted parts of s3proxy's requests, kept apart from the server so
//! it can be tested, fuzzed and reused on its own (it needs only `http`).
//!
//! - [`decode_path`] and [`guard`]: request path → object key, and the rule that keeps
//!   every key inside the configured prefix however the path is encoded;
//! - [`session_id`] and [`set_cookie`]: the `assets_session_id` cookie;
//! - [`usable_range`]: which `Range` headers are worth forwarding;
//! - [`conditions`]: `If-None-Match`, `If-Match`, `If-Modified-Since`,
//!   `If-Unmodified-Since`; [`if_range`]: `If-Range`;
//! - [`Origin`] and [`request_target`]: the scheme, host and target the browser used,
//!   for building redirect URLs that cannot be used for header injection, and
//!   [`Origin::is_origin_of`], the check that a login returns only to its own origin;
//! - [`callback_params`]: the OAuth2 callback's `code` and `state`, bounded;
//! - [`client_address`]: the client's address from `X-Forwarded-For`, trusting only
//!   the entries the balancers in front appended.
//!
//! ```
//! use http_input::{decode_path, guard, usable_range, KeyError};
//!
//! let key = decode_path("/videos/a%20b%2Bc%C3%A9.mp4").unwrap();
//! assert_eq!(guard(&key), Ok("videos/a b+cé.mp4"));
//! assert_eq!(guard(&decode_path("/a/%2e%2e/b").unwrap()), Err(KeyError::Refused));
//! assert_eq!(decode_path("/%zz"), Err(KeyError::Malformed));
//!
//! assert_eq!(usable_range("bytes=0-99"), Some("bytes=0-99"));
//! assert_eq!(usable_range("bytes=abc"), None);
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod callback;
mod client_address;
mod conditional;
mod cookies;
mod key;
mod origin;
mod range;

pub use callback::{callback_params, CallbackParams, MAX_CODE_BYTES};
pub use client_address::client_address;
pub use conditional::{conditions, if_range, Conditions, IfRange};
pub use cookies::{
    clear_cookie, cookie_value, session_id, set_cookie, SameSite, SESSION_COOKIE,
    SESSION_COOKIE_MAX_AGE,
};
pub use key::{check_key, decode_path, guard, KeyError};
pub use origin::{request_target, BadHost, Origin};
pub use range::usable as usable_range;

/// The OAuth2 callback path.
pub const CALLBACK_PATH: &str = "/__redirect_from_sso";
