//! Conditional GET and HEAD, which s3s-fs parses but ignores.
//!
//! Evaluated in RFC 9110 §13.2.2 order, as S3 does: `If-Match` wins over
//! `If-Unmodified-Since`, `If-None-Match` wins over `If-Modified-Since`, and the
//! first two (412) are checked before the last two (304).

use s3s::dto::{ETag, ETagCondition, GetObjectInput, HeadObjectInput, Timestamp, TimestampFormat};
use s3s::{S3Error, S3ErrorCode};

use http::{header, HeaderMap, HeaderValue};

/// The conditional headers of one request.
#[derive(Clone, Debug, Default)]
pub struct Preconditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

impl From<&GetObjectInput> for Preconditions {
    fn from(input: &GetObjectInput) -> Self {
        Self {
            if_match: input.if_match.clone(),
            if_none_match: input.if_none_match.clone(),
            if_modified_since: input.if_modified_since.clone(),
            if_unmodified_since: input.if_unmodified_since.clone(),
        }
    }
}

impl From<&HeadObjectInput> for Preconditions {
    fn from(input: &HeadObjectInput) -> Self {
        Self {
            if_match: input.if_match.clone(),
            if_none_match: input.if_none_match.clone(),
            if_modified_since: input.if_modified_since.clone(),
            if_unmodified_since: input.if_unmodified_since.clone(),
        }
    }
}

impl Preconditions {
    /// `Ok` when the object should be served; otherwise the 412 or 304 to answer with.
    pub fn check(
        &self,
        etag: Option<&ETag>,
        last_modified: Option<&Timestamp>,
    ) -> Result<(), S3Error> {
        let failed = match (&self.if_match, &self.if_unmodified_since) {
            (Some(cond), _) => !matches(cond, etag),
            (None, Some(since)) => modified_since(last_modified, since) == Some(true),
            (None, None) => false,
        };
        if failed {
            return Err(S3Error::with_message(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
        let not_modified = match (&self.if_none_match, &self.if_modified_since) {
            (Some(cond), _) => matches(cond, etag),
            (None, Some(since)) => modified_since(last_modified, since) == Some(false),
            (None, None) => false,
        };
        if not_modified {
            return Err(not_modified_error(etag, last_modified));
        }
        Ok(())
    }
}

/// S3 compares ETag values without regard to weakness, and `*` matches any existing object.
fn matches(cond: &ETagCondition, etag: Option<&ETag>) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(want) => etag.is_some_and(|have| have.value() == want.value()),
    }
}

/// HTTP dates have whole seconds while file times have nanoseconds, so compare seconds:
/// otherwise a date copied from `Last-Modified` would never count as "not modified".
/// `None` when there is no date to compare, in which case the condition is ignored.
fn modified_since(last_modified: Option<&Timestamp>, since: &Timestamp) -> Option<bool> {
    let secs = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
    last_modified.map(|lm| secs(lm) > secs(since))
}

/// A 304 carries the validators, like S3's; s3s replaces the response headers with these,
/// and hyper sends no body with a 304.
fn not_modified_error(etag: Option<&ETag>, last_modified: Option<&Timestamp>) -> S3Error {
    let mut err = S3Error::new(S3ErrorCode::NotModified);
    let mut headers = HeaderMap::new();
    if let Some(value) = etag.and_then(|e| e.to_http_header().ok()) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = last_modified.and_then(http_date) {
        headers.insert(header::LAST_MODIFIED, value);
    }
    err.set_headers(headers);
    err
}

fn http_date(ts: &Timestamp) -> Option<HeaderValue> {
    let mut buf = Vec::new();
    ts.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    HeaderValue::from_bytes(&buf).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use http::StatusCode;

    fn ts(secs: i64, nanos: u32) -> Timestamp {
        let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
        t.replace_nanosecond(nanos).unwrap().into()
    }

    fn etag(v: &str) -> ETagCondition {
        ETagCondition::ETag(ETag::Strong(v.to_owned()))
    }

    fn status(p: &Preconditions) -> StatusCode {
        let have = ETag::Strong("abc".to_owned());
        match p.check(Some(&have), Some(&ts(1_000, 500_000_000))) {
            Ok(()) => StatusCode::OK,
            Err(e) => e.status_code().unwrap(),
        }
    }

    #[test]
    fn none_given_serves() {
        assert_eq!(status(&Preconditions::default()), StatusCode::OK);
    }

    #[test]
    fn if_none_match() {
        let p = |c| Preconditions {
            if_none_match: Some(c),
            ..Default::default()
        };
        assert_eq!(status(&p(etag("abc"))), StatusCode::NOT_MODIFIED);
        assert_eq!(status(&p(ETagCondition::Any)), StatusCode::NOT_MODIFIED);
        assert_eq!(status(&p(etag("other"))), StatusCode::OK);
    }

    #[test]
    fn if_match() {
        let p = |c| Preconditions {
            if_match: Some(c),
            ..Default::default()
        };
        assert_eq!(status(&p(etag("abc"))), StatusCode::OK);
        assert_eq!(status(&p(ETagCondition::Any)), StatusCode::OK);
        assert_eq!(status(&p(etag("other"))), StatusCode::PRECONDITION_FAILED);
    }

    #[test]
    fn if_modified_since_compares_whole_seconds() {
        let p = |t| Preconditions {
            if_modified_since: Some(t),
            ..Default::default()
        };
        assert_eq!(status(&p(ts(1_000, 0))), StatusCode::NOT_MODIFIED);
        assert_eq!(status(&p(ts(2_000, 0))), StatusCode::NOT_MODIFIED);
        assert_eq!(status(&p(ts(999, 0))), StatusCode::OK);
    }

    #[test]
    fn if_unmodified_since_compares_whole_seconds() {
        let p = |t| Preconditions {
            if_unmodified_since: Some(t),
            ..Default::default()
        };
        assert_eq!(status(&p(ts(1_000, 0))), StatusCode::OK);
        assert_eq!(status(&p(ts(999, 0))), StatusCode::PRECONDITION_FAILED);
    }

    #[test]
    fn etag_conditions_win_over_dates() {
        let p = Preconditions {
            if_match: Some(etag("abc")),
            if_unmodified_since: Some(ts(1, 0)),
            ..Default::default()
        };
        assert_eq!(status(&p), StatusCode::OK);
        let p = Preconditions {
            if_none_match: Some(etag("other")),
            if_modified_since: Some(ts(5_000, 0)),
            ..Default::default()
        };
        assert_eq!(status(&p), StatusCode::OK);
    }

    #[test]
    fn precondition_failed_before_not_modified() {
        let p = Preconditions {
            if_match: Some(etag("other")),
            if_none_match: Some(etag("abc")),
            ..Default::default()
        };
        assert_eq!(status(&p), StatusCode::PRECONDITION_FAILED);
    }

    #[test]
    fn not_modified_carries_validators() {
        let p = Preconditions {
            if_none_match: Some(ETagCondition::Any),
            ..Default::default()
        };
        let err = p
            .check(Some(&ETag::Strong("abc".to_owned())), Some(&ts(0, 0)))
            .unwrap_err();
        let headers = err.headers().unwrap();
        assert_eq!(headers[header::ETAG], "\"abc\"");
        assert_eq!(
            headers[header::LAST_MODIFIED],
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
