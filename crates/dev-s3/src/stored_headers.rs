//! Headers kept with an object, as a `PutObject` would have set them, for objects put in
//! the folder by hand.

use std::io;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;

/// What S3 answers with an object when it was stored with these.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoredHeaders {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
}

/// Where s3s-fs keeps an object's attributes: a hidden file at the root, named after the
/// bucket and key in URL-safe base64.
fn attributes_path(root: &Path, bucket: &str, key: &str) -> PathBuf {
    let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    root.join(format!(
        ".bucket-{}.object-{}.metadata.json",
        encode(bucket),
        encode(key)
    ))
}

pub(crate) fn write(
    root: &Path,
    bucket: &str,
    key: &str,
    headers: &StoredHeaders,
) -> io::Result<()> {
    let json = serde_json::to_vec(headers).map_err(io::Error::other)?;
    std::fs::write(attributes_path(root, bucket, key), json)
}
