//! Conditional request headers, read for forwarding to S3.

use std::time::SystemTime;

use http::{header, HeaderMap, HeaderName};

/// The client's preconditions. Entity tags are passed on as sent; dates are parsed, and
/// one that does not parse is dropped, as HTTP says to ignore an invalid date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub if_none_match: Option<String>,
    pub if_match: Option<String>,
    pub if_modified_since: Option<SystemTime>,
    pub if_unmodified_since: Option<SystemTime>,
}

fn text(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn date(headers: &HeaderMap, name: HeaderName) -> Option<SystemTime> {
    text(headers, name).and_then(|v| httpdate::parse_http_date(v.trim()).ok())
}

/// Reads the four conditional headers.
pub fn conditions(headers: &HeaderMap) -> Conditions {
    Conditions {
        if_none_match: text(headers, header::IF_NONE_MATCH).map(str::to_string),
        if_match: text(headers, header::IF_MATCH).map(str::to_string),
        if_modified_since: date(headers, header::IF_MODIFIED_SINCE),
        if_unmodified_since: date(headers, header::IF_UNMODIFIED_SINCE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tags_and_valid_dates_only() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, "\"abc\"".parse().unwrap());
        h.insert(
            header::IF_MODIFIED_SINCE,
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        h.insert(header::IF_UNMODIFIED_SINCE, "yesterday".parse().unwrap());
        let c = conditions(&h);
        assert_eq!(c.if_none_match.as_deref(), Some("\"abc\""));
        assert_eq!(c.if_match, None);
        assert_eq!(
            c.if_modified_since,
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784111777))
        );
        assert_eq!(c.if_unmodified_since, None);
    }
}
