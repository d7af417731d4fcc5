//! What a [`crate::S3Server`] serves and how it authenticates.

use std::path::PathBuf;

/// Settings for one [`crate::S3Server`].
#[derive(Clone, Debug)]
pub struct S3Config {
    /// Folder holding one sub-folder per bucket; `<root>/<bucket>/<key>` is an object.
    pub root: PathBuf,
    /// The only access key accepted in SigV4 signatures.
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// Buckets created (as folders) at start when missing.
    pub buckets: Vec<String>,
    /// Cap on response body bytes per second; `None` serves at full speed.
    pub throttle_bytes_per_sec: Option<u64>,
}

impl S3Config {
    /// Access key used unless told otherwise.
    pub const DEFAULT_ACCESS_KEY: &'static str = "test-access-key";
    /// Secret key used unless told otherwise.
    pub const DEFAULT_SECRET_KEY: &'static str = "test-secret-key";
    /// Bucket created unless told otherwise.
    pub const DEFAULT_BUCKET: &'static str = "my-bucket";

    /// Settings serving `root` with the test keys and one bucket, `my-bucket`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            access_key: Self::DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: Self::DEFAULT_SECRET_KEY.to_owned(),
            buckets: vec![Self::DEFAULT_BUCKET.to_owned()],
            throttle_bytes_per_sec: None,
        }
    }
}
