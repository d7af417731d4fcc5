//! Conditional request headers, read for forwarding to S3.

use std::time::SystemTime;

use http::{header, HeaderMap, HeaderName};

/// The client's preconditions. Entity tags are passed on as sent; dates are parsed, and
/// one that does not parse is dropped, as HTTP says to ignore an invalid date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `If-None-Match`, as sent.
    pub if_none_match: Option<String>,
    /// `If-Match`, as sent.
    pub if_match: Option<String>,
    /// `If-Modified-Since`, when it is a valid HTTP date.
    pub if_modified_since: Option<SystemTime>,
    /// `If-Unmodified-Since`, when it is a valid HTTP date.
    pub if_unmodified_since: Option<SystemTime>,
}

fn text(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn date(headers: &HeaderMap, name: HeaderName) -> Option<SystemTime> {
    text(headers, name).and_then(|v| httpdate::parse_http_date(v.trim()).ok())
}

/// What an `If-Range` asks (RFC 9110 §13.1.5): send the range only if the object is
/// still the one the client has part of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfRange {
    /// A strong entity tag, as sent (quotes included).
    Tag(String),
    /// The `Last-Modified` the client saw.
    Date(SystemTime),
    /// A weak tag, or no valid value: the range cannot be trusted, so it is ignored.
    Unusable,
}

/// The `If-Range` header, if there is one.
pub fn if_range(headers: &HeaderMap) -> Option<IfRange> {
    let value = headers.get(header::IF_RANGE)?;
    let Ok(value) = value.to_str().map(str::trim) else {
        return Some(IfRange::Unusable);
    };
    Some(if is_strong_tag(value) {
        IfRange::Tag(value.to_string())
    } else if let Ok(date) = httpdate::parse_http_date(value) {
        IfRange::Date(date)
    } else {
        IfRange::Unusable
    })
}

impl IfRange {
    /// Whether a response with these headers (a 206's, or the whole object's) is of the
    /// object the client has part of: its `ETag` is the same strong tag, octet for octet,
    /// or its `Last-Modified` is exactly the date (RFC 9110 §13.1.5). Never for
    /// [`IfRange::Unusable`].
    pub fn matches(&self, response: &HeaderMap) -> bool {
        let text = |name| {
            response
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        match self {
            IfRange::Tag(tag) => {
                text(header::ETAG).is_some_and(|etag| is_strong_tag(etag) && etag == tag)
            }
            IfRange::Date(date) => text(header::LAST_MODIFIED)
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .is_some_and(|modified| modified == *date),
            IfRange::Unusable => false,
        }
    }
}

/// `"..."` with no quote inside: a strong entity tag (a weak one starts with `W/`).
fn is_strong_tag(value: &str) -> bool {
    value.len() >= 2
        && value.starts_with('"')
        && value.ends_with('"')
        && !value[1..value.len() - 1].contains('"')
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
    fn if_range_is_a_strong_tag_a_date_or_unusable() {
        let read = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_RANGE, v.parse().unwrap());
            if_range(&h)
        };
        assert_eq!(read("\"abc\""), Some(IfRange::Tag("\"abc\"".into())));
        assert_eq!(
            read("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(IfRange::Date(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784111777)
            ))
        );
        for unusable in ["W/\"abc\"", "abc", "\"a\"b\"", "\"", "yesterday", ""] {
            assert_eq!(read(unusable), Some(IfRange::Unusable), "{unusable:?}");
        }
        assert_eq!(if_range(&HeaderMap::new()), None);
    }

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

    #[test]
    fn if_range_matches_the_same_strong_tag_or_exactly_the_date() {
        let response = |etag: &str, modified: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ETAG, etag.parse().unwrap());
            h.insert(header::LAST_MODIFIED, modified.parse().unwrap());
            h
        };
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784111777);
        let same = response("\"abc\"", date);
        assert!(IfRange::Tag("\"abc\"".into()).matches(&same));
        assert!(IfRange::Date(at).matches(&same));
        for other in [
            response("\"abd\"", "Sun, 06 Nov 1994 08:49:38 GMT"),
            response("W/\"abc\"", "Sun, 06 Nov 1994 08:49:36 GMT"),
            response("\"ABC\"", "yesterday"),
        ] {
            assert!(!IfRange::Tag("\"abc\"".into()).matches(&other), "{other:?}");
            assert!(!IfRange::Date(at).matches(&other), "{other:?}");
        }
        assert!(!IfRange::Tag("\"abc\"".into()).matches(&HeaderMap::new()));
        assert!(!IfRange::Date(at).matches(&HeaderMap::new()));
        assert!(!IfRange::Unusable.matches(&same));
    }
}
