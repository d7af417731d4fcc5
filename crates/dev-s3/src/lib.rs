//! A local S3-compatible server over a folder, for tests and local development.
//!
//! Files under `<root>/<bucket>/<key>` are objects. Requests must be signed with
//! SigV4 (any region) using the configured key pair, and use path-style addressing
//! (`http://127.0.0.1:<port>/<bucket>/<key>`). The storage is [s3s-fs]; on top of it
//! GET and HEAD get what real S3 has and s3s-fs lacks: conditional requests (304/412),
//! `Accept-Ranges: bytes`, a content type guessed from the extension for files put in
//! the folder by hand, `Content-Range: bytes */<size>` on 416, and ranged HEAD.
//!
//! For tests of clients there are a request counter, a switch that makes the server
//! stop answering, a cap on download speed, and temporary credentials whose session
//! token is checked and which expire ([`S3Server::temporary_credentials`]).
//!
//! Note that ETags are MD5 sums which s3s-fs computes by reading the whole file on
//! every GET and HEAD of a file that was not uploaded through the server, before the
//! first byte is sent: about 1.8 s for 64 MiB in an unoptimised build.
//!
//! The `dev-s3` binary serves a folder the same way for local development:
//! `dev-s3 --root DIR [--port 9000] [--bind 127.0.0.1] [--access-key K] [--secret-key S]
//! [--bucket NAME]...`, with keys `s3proxy-local` / `s3proxy-local-secret` by default.
//!
//! [s3s-fs]: https://docs.rs/s3s-fs
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use aws_sdk_s3::config::{Credentials, Region};
//! use dev_s3::{S3Config, S3Server};
//!
//! let dir = tempfile::tempdir()?;
//! let mut server = S3Server::start(S3Config::new(dir.path())).await?;
//! std::fs::write(server.bucket_dir("my-bucket").join("hello.txt"), "hello")?;
//!
//! let config = aws_sdk_s3::Config::builder()
//!     .endpoint_url(server.endpoint())
//!     .force_path_style(true)
//!     .region(Region::new("eu-west-2"))
//!     .credentials_provider(Credentials::new("test-access-key", "test-secret-key", None, None, "dev-s3"))
//!     .build();
//! let client = aws_sdk_s3::Client::from_conf(config);
//!
//! let object = client.get_object().bucket("my-bucket").key("hello.txt").send().await?;
//! assert_eq!(object.content_type(), Some("text/plain"));
//! assert_eq!(object.accept_ranges(), Some("bytes"));
//! assert_eq!(&object.body.collect().await?.into_bytes()[..], b"hello");
//! assert_eq!(server.request_count(), 1);
//!
//! server.stop().await;
//! # Ok(())
//! # }
//! ```

mod backend;
mod config;
mod content_type;
mod gaps;
mod keys;
mod preconditions;
mod server;
mod service;
mod stored_headers;
mod throttle;

pub use config::S3Config;
pub use server::{S3Server, TemporaryCredentials};
pub use stored_headers::StoredHeaders;
