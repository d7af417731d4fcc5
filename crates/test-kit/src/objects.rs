//! Objects written straight into the S3 server's bucket folder, as a test sets them up.

use std::path::PathBuf;

use dev_s3::{S3Server, StoredHeaders};

use crate::BUCKET;

/// Writes `bytes` as `key` of the test bucket; returns the file's path.
pub fn put_object(s3: &S3Server, key: &str, bytes: &[u8]) -> PathBuf {
    let path = s3.bucket_dir(BUCKET).join(key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("object folder");
    }
    std::fs::write(&path, bytes).expect("write object");
    path
}

/// [`put_object`], with the headers S3 would keep with it (`Cache-Control`,
/// `Content-Disposition`...).
pub fn put_object_with(s3: &S3Server, key: &str, bytes: &[u8], headers: &StoredHeaders) -> PathBuf {
    let path = put_object(s3, key, bytes);
    s3.set_stored_headers(BUCKET, key, headers)
        .expect("write the object's headers");
    path
}
