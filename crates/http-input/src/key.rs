//! From a request path to an object key, and the guard that keeps keys inside the prefix.

use percent_encoding::percent_decode_str;

/// Why a path does not name an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Bad percent-encoding, not UTF-8 once decoded, or an ASCII control character in
    /// the key: the client's mistake (400).
    Malformed,
    /// Empty, or a `.`/`..`/empty leading segment: can never be an object (404).
    Refused,
}

/// The key a request path names: without its leading `/`, percent-decoded as UTF-8
/// (`+` stays `+`). The path must not include the query. A key holding an ASCII
/// control character (0x00–0x1F, 0x7F) is malformed: no real object needs one, and
/// they are how log lines and downstream parsers get confused.
pub fn decode_path(path: &str) -> Result<String, KeyError> {
    let raw = path.strip_prefix('/').unwrap_or(path);
    if !percent_escapes_are_valid(raw) {
        return Err(KeyError::Malformed);
    }
    let key = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| KeyError::Malformed)?;
    if has_control(&key) {
        return Err(KeyError::Malformed);
    }
    Ok(key.into_owned())
}

/// A key as configuration gives it (no decoding): the checks a request's key gets,
/// both of them. For keys served by name, such as a healthcheck object.
pub fn check_key(key: &str) -> Result<&str, KeyError> {
    if has_control(key) {
        return Err(KeyError::Malformed);
    }
    guard(key)
}

fn has_control(key: &str) -> bool {
    key.bytes().any(|b| b.is_ascii_control())
}

/// Refuses keys that could name something outside the configured prefix, however the
/// path was encoded: this runs on the decoded key.
pub fn guard(key: &str) -> Result<&str, KeyError> {
    if key.is_empty() || key.starts_with('/') {
        return Err(KeyError::Refused);
    }
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(KeyError::Refused);
    }
    Ok(key)
}

/// Every `%` starts a two-digit hex escape (the decoder would keep a bad one literally).
fn percent_escapes_are_valid(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> Result<String, KeyError> {
        decode_path(path).and_then(|k| guard(&k).map(str::to_string))
    }

    #[test]
    fn decodes_spaces_plus_and_non_ascii() {
        assert_eq!(key("/a%20b%2Bc%C3%A9.txt").unwrap(), "a b+cé.txt");
        assert_eq!(key("/a+b").unwrap(), "a+b");
        assert_eq!(key("/dir/file.txt").unwrap(), "dir/file.txt");
    }

    #[test]
    fn refuses_empty_and_dot_segments_in_any_encoding() {
        for path in [
            "/",
            "",
            "/.",
            "/..",
            "/../x",
            "/a/../../x",
            "/a/./b",
            "/%2e%2e/x",
            "/%2E%2E%2Fx",
            "/a%2F..%2Fb",
            "/a/..",
            "//x",
            "/%2Fx",
        ] {
            assert_eq!(key(path), Err(KeyError::Refused), "{path}");
        }
    }

    #[test]
    fn dots_inside_names_are_fine() {
        assert_eq!(key("/a..b/.c/d.").unwrap(), "a..b/.c/d.");
    }

    #[test]
    fn malformed_encoding_is_a_client_error() {
        for path in ["/%", "/%zz", "/a%2", "/%C3%28", "/%FF"] {
            assert_eq!(key(path), Err(KeyError::Malformed), "{path}");
        }
    }

    #[test]
    fn control_characters_are_malformed_in_any_encoding() {
        for path in ["/a%00b", "/a%0Ab", "/a%0d", "/%1F", "/x%7F", "/a\tb"] {
            assert_eq!(decode_path(path), Err(KeyError::Malformed), "{path:?}");
        }
        // Non-ASCII (including C1 controls' neighbours) is fine.
        assert_eq!(decode_path("/%C2%A0x").unwrap(), "\u{a0}x");
    }

    #[test]
    fn configured_keys_get_both_checks() {
        assert_eq!(check_key("healthcheck.txt"), Ok("healthcheck.txt"));
        assert_eq!(check_key("a/b.txt"), Ok("a/b.txt"));
        assert_eq!(check_key("/x"), Err(KeyError::Refused));
        assert_eq!(check_key("../x"), Err(KeyError::Refused));
        assert_eq!(check_key(""), Err(KeyError::Refused));
        assert_eq!(check_key("a\nb"), Err(KeyError::Malformed));
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Normalises a key the way a filesystem or a careless server would: if that ever
    /// climbs above the root, the key escaped its prefix.
    fn climbs_out(key: &str) -> bool {
        let mut depth: i64 = 0;
        for segment in key.split('/') {
            match segment {
                ".." => depth -= 1,
                "." | "" => {}
                _ => depth += 1,
            }
            if depth < 0 {
                return true;
            }
        }
        false
    }

    fn encoded_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just("/".to_string()),
            Just("%2e".to_string()),
            Just("%2E".to_string()),
            Just("%2f".to_string()),
            Just("%2F".to_string()),
            Just("%252e".to_string()),
            Just("%".to_string()),
            "[a-z]{1,3}",
            "%[0-9A-Fa-f]{2}",
        ]
    }

    proptest! {
        #[test]
        fn no_path_yields_a_key_outside_the_prefix(pieces in proptest::collection::vec(encoded_piece(), 0..12)) {
            let path = format!("/{}", pieces.concat());
            if let Ok(k) = decode_path(&path).and_then(|k| guard(&k).map(str::to_string)) {
                prop_assert!(!k.is_empty());
                prop_assert!(!k.starts_with('/'));
                prop_assert!(!climbs_out(&k), "{path} -> {k}");
                prop_assert!(!k.split('/').any(|s| s == ".." || s == "."), "{path} -> {k}");
            }
        }
    }
}
