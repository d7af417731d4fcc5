//! Which bucket, where, and how to reach it.

use std::time::Duration;

/// Static credentials. `Debug` hides the secret.
#[derive(Clone)]
pub struct StaticKeys {
    /// The access key id.
    pub access_key_id: String,
    /// The secret key. Never printed.
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Which bucket, where, and how to reach it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The bucket's region, e.g. `eu-west-2` (signed into every request).
    pub region: String,
    /// The bucket's name.
    pub bucket: String,
    /// Prepended to every key with a `/`; empty for none. No leading or trailing `/`.
    pub key_prefix: String,
    /// `None`: the default AWS credential chain (env, profile, web identity, ECS, IMDSv2).
    pub static_keys: Option<StaticKeys>,
    /// A custom endpoint (MinIO, a local server), addressed path-style.
    pub endpoint: Option<String>,
    /// Bound on establishing a connection to S3.
    pub connect_timeout: Duration,
    /// Bound on waiting for S3's response head (not on streaming the body).
    pub response_timeout: Duration,
    /// DER certificates of the authorities to trust for https; `None`: the system's.
    pub tls_roots: Option<Vec<Vec<u8>>>,
}

impl S3Settings {
    /// The settings for `bucket` in `region`: no prefix, the default credential chain, AWS's
    /// endpoint, a 3 s connect and a 10 s response timeout, the system's trusted roots.
    pub fn new(region: impl Into<String>, bucket: impl Into<String>) -> S3Settings {
        S3Settings {
            region: region.into(),
            bucket: bucket.into(),
            key_prefix: String::new(),
            static_keys: None,
            endpoint: None,
            connect_timeout: Duration::from_secs(3),
            response_timeout: Duration::from_secs(10),
            tls_roots: None,
        }
    }
}
