//! S3 objects as HTTP responses: status, the headers worth passing on, and the body as a
//! stream.
//!
//! [`S3Streamer`] wraps the official AWS SDK client (static keys or the default credential
//! chain, IMDSv2 included; a custom endpoint with path-style addressing for MinIO and
//! friends). [`S3Streamer::fetch`] runs a GetObject (or HeadObject) with the client's
//! `Range` and conditional headers and returns an [`ObjectResponse`]: the status (200 or
//! 206), the pass-through headers ([`PASS_THROUGH_HEADERS`]) and an [`ObjectBody`] that
//! implements [`http_body::Body`] and streams with backpressure — nothing is buffered
//! beyond the chunk in flight, and dropping the body closes the S3 connection. S3's
//! answers that are not an object map onto [`FetchError`], whose
//! [`status`](FetchError::status) is what a proxy should answer.
//!
//! Response checksum validation runs only when S3 requires it: validating costs CPU on
//! every byte and could only fail after the bytes have gone to the client anyway.
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

mod body;
mod client;
mod error;
mod http_client;
mod request;

pub use body::{BodyError, ObjectBody};
pub use client::{S3Settings, S3Streamer, StaticKeys};
pub use error::FetchError;
pub use request::{Method, ObjectRequest, ObjectResponse, PASS_THROUGH_HEADERS};
