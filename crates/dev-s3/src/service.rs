//! What happens to each HTTP request around s3s: counting, the hang switch,
//! logging, throttled bodies.

use crate::keys::{Keys, TokenProblem};
use crate::throttle::ThrottledBody;

use s3s::service::S3Service;
use s3s::{Body, StdError};

use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The switches a test flips while the server runs, and the keys it accepts.
pub struct Switches {
    requests: AtomicUsize,
    hang: AtomicBool,
    /// Bytes per second; 0 means no limit.
    throttle: AtomicU64,
    keys: Keys,
}

impl Switches {
    pub(crate) fn new(keys: Keys) -> Switches {
        Switches {
            requests: AtomicUsize::new(0),
            hang: AtomicBool::new(false),
            throttle: AtomicU64::new(0),
            keys,
        }
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn set_hang(&self, hang: bool) {
        self.hang.store(hang, Ordering::SeqCst);
    }

    pub fn set_throttle(&self, bytes_per_sec: Option<u64>) {
        self.throttle
            .store(bytes_per_sec.unwrap_or(0), Ordering::SeqCst);
    }

    fn throttle(&self) -> Option<u64> {
        Some(self.throttle.load(Ordering::SeqCst)).filter(|&rate| rate > 0)
    }
}

/// Answers one request.
pub async fn handle(
    s3: S3Service,
    switches: Arc<Switches>,
    req: Request<Incoming>,
) -> Result<Response<ThrottledBody<Body>>, StdError> {
    // Counted before anything else, auth included, so a test can tell that a
    // request never reached S3 at all.
    switches.requests.fetch_add(1, Ordering::SeqCst);
    let method = req.method().clone();
    // The path only: a presigned query string would carry credentials.
    let path = req.uri().path().to_owned();
    if switches.hang.load(Ordering::SeqCst) {
        log::info!("{method} {path} -> hanging (never answered)");
        std::future::pending::<()>().await;
    }

    let started = Instant::now();
    // s3s checks the signature, which covers the token; whether the token is the one
    // issued with the key, and still valid, is checked here.
    if let Err(problem) = switches.keys.check_token(req.headers()) {
        log::info!("{method} {path} -> 403 ({problem:?} session token)");
        return Ok(token_refused(problem));
    }
    let mut resp = match s3.call(req.map(Body::from)).await {
        Ok(resp) => resp,
        Err(err) => return Err(err.into()),
    };
    mark_partial_head(&method, &mut resp);
    log::info!(
        "{method} {path} -> {} in {} ms",
        resp.status().as_u16(),
        started.elapsed().as_millis()
    );
    let rate = switches.throttle();
    Ok(resp.map(|body| ThrottledBody::new(body, rate)))
}

/// S3's answer to a request whose session token is wrong or expired.
fn token_refused(problem: TokenProblem) -> Response<ThrottledBody<Body>> {
    let (code, message) = match problem {
        TokenProblem::Invalid => (
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
        ),
        TokenProblem::Expired => ("ExpiredToken", "The provided token has expired."),
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = Response::new(ThrottledBody::new(Body::from(xml), None));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}

/// s3s always answers HEAD with 200 (it ignores the status an `S3` implementation
/// sets), but a ranged HEAD is a 206 like the GET it describes.
fn mark_partial_head<B>(method: &Method, resp: &mut Response<B>) {
    if method == Method::HEAD
        && resp.status() == StatusCode::OK
        && resp.headers().contains_key(header::CONTENT_RANGE)
    {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(range: bool) -> Response<()> {
        let mut builder = Response::builder();
        if range {
            builder = builder.header(header::CONTENT_RANGE, "bytes 0-0/1");
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn ranged_head_becomes_206() {
        let mut r = resp(true);
        mark_partial_head(&Method::HEAD, &mut r);
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    }

    #[test]
    fn other_answers_untouched() {
        let mut r = resp(false);
        mark_partial_head(&Method::HEAD, &mut r);
        assert_eq!(r.status(), StatusCode::OK);
        let mut r = resp(true);
        mark_partial_head(&Method::GET, &mut r);
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn throttle_zero_means_off() {
        let s = Switches::new(Keys::new("a", "b"));
        s.set_throttle(Some(0));
        assert_eq!(s.throttle(), None);
        s.set_throttle(Some(5));
        assert_eq!(s.throttle(), Some(5));
    }
}
