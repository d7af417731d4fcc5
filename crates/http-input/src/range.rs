//! Which `Range` headers are worth forwarding.

/// The header value when it is one well-formed byte range (`bytes=a-b`, `bytes=a-`,
/// `bytes=-n`); `None` otherwise. An unusable Range is ignored, as HTTP allows, so the
/// client gets the whole object rather than an error from S3 (which supports neither
/// multiple ranges nor other units).
pub fn usable(value: &str) -> Option<&str> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<Option<u64>> {
        let s = s.trim();
        if s.is_empty() {
            Some(None)
        } else if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok().map(Some)
        } else {
            None
        }
    };
    match (number(first)?, number(last)?) {
        (None, None) => None,
        (Some(a), Some(b)) if a > b => None,
        (None, Some(0)) => None,
        _ => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::usable;

    #[test]
    fn single_byte_ranges_pass() {
        for ok in [
            "bytes=0-",
            "bytes=1-",
            "bytes=-100",
            "bytes=0-99",
            "bytes=5-5",
        ] {
            assert_eq!(usable(ok), Some(ok));
        }
    }

    #[test]
    fn everything_else_is_ignored() {
        for bad in [
            "bytes=abc",
            "bytes=-",
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=-0",
            "bytes=99999999999999999999999-",
            "",
            "bytes=1-2-3",
        ] {
            assert_eq!(usable(bad), None, "{bad}");
        }
    }
}
