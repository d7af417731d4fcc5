//! S3's answers mapped onto what a proxy sends: the object, or a [`FetchError`].

use http::{HeaderMap, HeaderName, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::error::FetchError;
use crate::request::PASS_THROUGH_HEADERS;

/// Error bodies are small XML documents; anything larger is not read.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Headers a 304 keeps (RFC 9110 §15.4.5).
const NOT_MODIFIED_HEADERS: [&str; 4] = ["etag", "last-modified", "cache-control", "expires"];

/// The pass-through headers of S3's answer, values as S3 sent them.
pub(crate) fn pass_through(response: &Response<Incoming>) -> HeaderMap {
    copy(response.headers(), &PASS_THROUGH_HEADERS)
}

fn copy(from: &HeaderMap, names: &[&'static str]) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(names.len());
    for name in names {
        if let Some(value) = from.get(*name) {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
    }
    headers
}

/// What an answer other than 200 or 206 means for the client. Its body is read by
/// `deadline` (the end of the response timeout); an S3 that stalls mid-body is answered
/// from the status alone.
pub(crate) async fn failure(
    response: Response<Incoming>,
    what: &str,
    deadline: Instant,
) -> FetchError {
    let status = response.status();
    let size = range_size(response.headers());
    match status {
        StatusCode::NOT_MODIFIED => {
            return FetchError::NotModified {
                headers: copy(response.headers(), &NOT_MODIFIED_HEADERS),
            }
        }
        StatusCode::PRECONDITION_FAILED => return FetchError::PreconditionFailed,
        _ => {}
    }
    let (code, message) = match tokio::time::timeout_at(deadline, error_details(response)).await {
        Ok(details) => details,
        Err(_) => (
            None,
            Some("its error body did not arrive within the response timeout".to_string()),
        ),
    };
    match (status, code.as_deref()) {
        (_, Some("NoSuchBucket")) => FetchError::Failed(format!(
            "{what}: S3 answered {status} NoSuchBucket: {}",
            message.unwrap_or_default()
        )),
        (StatusCode::NOT_FOUND, _) | (_, Some("NoSuchKey")) => FetchError::NotFound,
        (StatusCode::RANGE_NOT_SATISFIABLE, _) | (_, Some("InvalidRange")) => {
            FetchError::RangeNotSatisfiable { size }
        }
        _ => FetchError::Failed(format!(
            "{what}: S3 answered {status}{}{}",
            code.map(|c| format!(" {c}")).unwrap_or_default(),
            message.map(|m| format!(": {m}")).unwrap_or_default()
        )),
    }
}

/// `Content-Range: bytes */<size>` of a 416.
fn range_size(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes */")?
        .trim()
        .parse()
        .ok()
}

/// `<Code>` and `<Message>` of S3's XML error body (HEAD answers have none).
async fn error_details(response: Response<Incoming>) -> (Option<String>, Option<String>) {
    let Ok(body) = Limited::new(response.into_body(), MAX_ERROR_BODY)
        .collect()
        .await
    else {
        return (None, None);
    };
    let body = body.to_bytes();
    let text = String::from_utf8_lossy(&body);
    (element(&text, "Code"), element(&text, "Message"))
}

/// The text of the first `<name>…</name>` (S3's error documents are flat and unescaped
/// where it matters here).
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..start + end].trim().to_string()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_code_and_message_from_an_s3_error() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>X</RequestId></Error>";
        assert_eq!(element(xml, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(element(xml, "Message").as_deref(), Some("Access Denied"));
        assert_eq!(element(xml, "Key"), None);
        assert_eq!(element("<Code></Code>", "Code"), None);
        assert_eq!(element("<Code>unclosed", "Code"), None);
    }

    #[test]
    fn reads_the_size_of_a_416() {
        let mut h = HeaderMap::new();
        h.insert("content-range", "bytes */1234".parse().unwrap());
        assert_eq!(range_size(&h), Some(1234));
        h.insert("content-range", "bytes 0-1/1234".parse().unwrap());
        assert_eq!(range_size(&h), None);
    }
}
