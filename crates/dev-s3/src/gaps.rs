//! Small fixes to s3s-fs answers so they look like real S3's.

use crate::content_type;

use s3s::dto::{GetObjectOutput, HeadObjectOutput, Range};
use s3s::{S3Error, S3ErrorCode};

use http::{header, HeaderMap, HeaderValue};

/// The `Accept-Ranges` value S3 sends on every object.
const BYTES: &str = "bytes";

/// Adds what s3s-fs leaves out of a GET answer: `Accept-Ranges`, and a content type
/// for files that were not uploaded with one.
pub fn fill_get(output: &mut GetObjectOutput, key: &str) {
    output.accept_ranges = Some(BYTES.to_owned());
    output
        .content_type
        .get_or_insert_with(|| content_type::guess(key).to_owned());
}

/// The same for HEAD.
pub fn fill_head(output: &mut HeadObjectOutput, key: &str) {
    output.accept_ranges = Some(BYTES.to_owned());
    output
        .content_type
        .get_or_insert_with(|| content_type::guess(key).to_owned());
}

/// s3s-fs ignores `Range` on HEAD; S3 answers with the length and `Content-Range`
/// of the part a GET would send (and 416 when it could not), so HEAD and GET agree.
pub fn apply_head_range(output: &mut HeadObjectOutput, range: &Range) -> Result<(), S3Error> {
    let size = output
        .content_length
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    let part = range.check(size).map_err(|_| invalid_range(size))?;
    output.content_length = i64::try_from(part.end - part.start).ok();
    output.content_range = Some(format!("bytes {}-{}/{size}", part.start, part.end - 1));
    Ok(())
}

/// 416 with `Content-Range: bytes */<size>`, as S3 sends it, so a client can tell the
/// object's size. s3s replaces the error's headers with these, hence the content type.
pub fn invalid_range(size: u64) -> S3Error {
    let mut err = S3Error::with_message(
        S3ErrorCode::InvalidRange,
        "The requested range is not satisfiable",
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    if let Ok(value) = HeaderValue::try_from(format!("bytes */{size}")) {
        headers.insert(header::CONTENT_RANGE, value);
    }
    err.set_headers(headers);
    err
}

/// s3s-fs opens a folder as if it were a file and then fails with a 500;
/// S3 has no object there, so: 404.
pub fn reject_directory(path: &std::path::Path) -> Result<(), S3Error> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(S3Error::new(S3ErrorCode::NoSuchKey)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(len: i64) -> HeadObjectOutput {
        HeadObjectOutput {
            content_length: Some(len),
            ..Default::default()
        }
    }

    #[test]
    fn head_range_narrows_length() {
        let mut out = head(10);
        apply_head_range(
            &mut out,
            &Range::Int {
                first: 1,
                last: Some(3),
            },
        )
        .unwrap();
        assert_eq!(out.content_length, Some(3));
        assert_eq!(out.content_range.as_deref(), Some("bytes 1-3/10"));
    }

    #[test]
    fn head_range_past_end_is_416_with_size() {
        let err = apply_head_range(
            &mut head(10),
            &Range::Int {
                first: 10,
                last: None,
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), &S3ErrorCode::InvalidRange);
        assert_eq!(err.headers().unwrap()[header::CONTENT_RANGE], "bytes */10");
    }

    #[test]
    fn fills_accept_ranges_and_keeps_stored_content_type() {
        let mut out = GetObjectOutput {
            content_type: Some("image/png".to_owned()),
            ..Default::default()
        };
        fill_get(&mut out, "a.txt");
        assert_eq!(out.accept_ranges.as_deref(), Some("bytes"));
        assert_eq!(out.content_type.as_deref(), Some("image/png"));
    }
}
