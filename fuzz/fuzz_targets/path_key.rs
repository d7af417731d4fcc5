//! Request path → object key → prefix guard.
//!
//! Property: a key the guard accepts is non-empty, has no leading `/`, no `.` or `..`
//! segment (so it can never climb out of the configured prefix, however the path was
//! encoded), and decoding is deterministic and never gives an ASCII control character.
#![no_main]

use http_input::{decode_path, guard, KeyError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = decode_path(path);
    // Decoding is a pure function of the path.
    assert_eq!(decoded, decode_path(path), "{path:?}");
    let key = match &decoded {
        Ok(k) => k,
        Err(e) => {
            assert_eq!(*e, KeyError::Malformed, "{path:?}");
            // Only bad percent-encoding or an ASCII control character makes a path
            // malformed: without either, a UTF-8 path always decodes (to itself, less one
            // leading `/`).
            assert!(path.contains('%') || has_control(path), "{path:?}");
            return;
        }
    };
    // A key never holds a control character, however it was encoded.
    assert!(!has_control(key), "{path:?} -> {key:?}");
    if !path.contains('%') {
        assert_eq!(key, path.strip_prefix('/').unwrap_or(path));
    }
    let Ok(accepted) = guard(key) else {
        return;
    };
    assert_eq!(accepted, key.as_str());
    assert!(!accepted.is_empty(), "{path:?}");
    assert!(!accepted.starts_with('/'), "{path:?} -> {accepted:?}");
    assert!(
        !accepted.split('/').any(|s| s == "." || s == ".."),
        "{path:?} -> {accepted:?}"
    );
    assert!(!climbs_out(accepted), "{path:?} -> {accepted:?}");
    // A second decode of the raw path names the same key.
    assert_eq!(decode_path(path).as_deref(), Ok(accepted), "{path:?}");
});

/// Normalises the key as a filesystem or a careless server would: true if that climbs
/// above the root, i.e. out of the prefix.
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

fn has_control(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_control())
}
