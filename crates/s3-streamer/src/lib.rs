//! S3 objects as HTTP responses: status, the headers worth passing on, and the body as a
//! stream.
//!
//! [`S3Streamer::fetch`] sends a GetObject (or HeadObject) with the client's `Range` and
//! conditional headers and returns an [`ObjectResponse`]: the status (200 or 206), the
//! pass-through headers ([`PASS_THROUGH_HEADERS`]) and an [`ObjectBody`] that implements
//! [`http_body::Body`] and streams with backpressure — nothing is buffered beyond what
//! the connection read, and dropping the body closes the S3 connection. S3's answers
//! that are not an object map onto [`FetchError`], whose [`status`](FetchError::status)
//! is what a proxy should answer.
//!
//! The official AWS crates do what they are good at, and no more: `aws-config` finds
//! credentials (static keys, or the default chain: environment, profile, web identity,
//! ECS task role, IMDSv2), cached here and refreshed before they expire, one bounded
//! load at a time whose failure is shared and backed off (a 503,
//! [`FetchError::NoCredentials`]); the SDK's endpoint rules resolve the bucket's URL once (virtual-hosted on
//! AWS, path style for a custom endpoint such as MinIO); `aws-sigv4` signs each request.
//! The request itself goes out on this crate's own pooled hyper client — the SDK's
//! per-request orchestrator cost more CPU than the rest of a proxied request.
//!
//! ```no_run
//! use s3_streamer::{Method, ObjectRequest, S3Settings, S3Streamer};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut settings = S3Settings::new("eu-west-2", "my-bucket");
//! settings.key_prefix = "some/prefix".into();
//! let s3 = S3Streamer::new(settings).await?;
//!
//! let mut request = ObjectRequest::new(Method::Get, "videos/intro.mp4");
//! request.range = Some("bytes=0-1023".into());
//! match s3.fetch(&request).await {
//!     Ok(object) => println!("{} with {} headers", object.status, object.headers.len()),
//!     Err(e) => println!("answer {}: {e}", e.status()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! An [`ObjectBody`] is an `http_body::Body` of [`Bytes`](bytes::Bytes), so it is the
//! body of a hyper response as it is: a whole (small) object server, each object streamed
//! from S3 to its client with backpressure, and S3's status and headers passed on.
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use hyper::body::Incoming;
//! use hyper::server::conn::http1;
//! use hyper::service::service_fn;
//! use hyper::{header, Request, Response};
//! use hyper_util::rt::TokioIo;
//! use s3_streamer::{Method, ObjectBody, ObjectRequest, S3Settings, S3Streamer};
//!
//! /// `GET /<key>` answered with the object, or with S3's reason for not sending one.
//! async fn object(s3: S3Streamer, request: Request<Incoming>) -> Response<ObjectBody> {
//!     let key = request.uri().path().trim_start_matches('/');
//!     let mut get = ObjectRequest::new(Method::Get, key);
//!     get.range = request
//!         .headers()
//!         .get(header::RANGE)
//!         .and_then(|range| range.to_str().ok())
//!         .map(str::to_owned);
//!     match s3.fetch(&get).await {
//!         Ok(object) => {
//!             let mut response = Response::new(object.body);
//!             *response.status_mut() = object.status;
//!             *response.headers_mut() = object.headers;
//!             response
//!         }
//!         Err(e) => {
//!             let mut response = Response::new(ObjectBody::empty());
//!             *response.status_mut() = e.status();
//!             response
//!         }
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let s3 = S3Streamer::new(S3Settings::new("eu-west-2", "my-bucket")).await?;
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         let s3 = s3.clone();
//!         let service = service_fn(move |request| {
//!             let s3 = s3.clone();
//!             async move { Ok::<_, Infallible>(object(s3, request).await) }
//!         });
//!         tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
//!     }
//! }
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod answer;
mod body;
mod credentials;
mod error;
mod location;
mod request;
mod settings;
mod signing;
mod streamer;
mod transport;

pub use body::{BodyError, ObjectBody};
pub use error::FetchError;
pub use request::{Method, ObjectRequest, ObjectResponse, PASS_THROUGH_HEADERS};
pub use settings::{S3Settings, StaticKeys};
pub use streamer::S3Streamer;
