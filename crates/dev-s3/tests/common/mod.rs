//! A server over a temporary folder, and an SDK client configured like the proxy's.

#![allow(dead_code)] // Each test file uses a different part.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;
use dev_s3::{S3Config, S3Server};

pub const BUCKET: &str = "my-bucket";
pub const HELLO_KEY: &str = "hello.txt";
pub const HELLO: &[u8] = b"hello, dev-s3!";
/// `printf 'hello, dev-s3!' | md5sum`
pub const HELLO_MD5: &str = "1870f84f913fd990ef1d3833ec96e41e";

pub struct Fixture {
    pub server: S3Server,
    pub client: Client,
    // Kept last so the folder outlives the server.
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// A server with `my-bucket/hello.txt` in it.
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = S3Server::start(S3Config::new(dir.path())).await.unwrap();
        std::fs::write(server.bucket_dir(BUCKET).join(HELLO_KEY), HELLO).unwrap();
        let client = client(
            &server.endpoint(),
            "test-access-key",
            "test-secret-key",
            "us-east-1",
        );
        Fixture {
            server,
            client,
            dir,
        }
    }

    pub fn write(&self, key: &str, data: &[u8]) {
        let path = self.server.bucket_dir(BUCKET).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
}

pub fn client(endpoint: &str, access_key: &str, secret_key: &str, region: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(endpoint)
        .force_path_style(true)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "dev-s3-tests",
        ))
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    Client::from_conf(config)
}

/// The HTTP status of a failed call.
pub fn status<E: std::fmt::Debug>(err: &SdkError<E, HttpResponse>) -> u16 {
    let raw = err
        .raw_response()
        .unwrap_or_else(|| panic!("no response: {err:?}"));
    raw.status().as_u16()
}

/// The S3 error code of a failed call, when the response had one.
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned)
}
