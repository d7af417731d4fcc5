//! Where the bucket's objects are: resolved once, at start-up, by the SDK's own endpoint
//! rules (virtual-hosted style on AWS, path style for buckets that cannot be a host name
//! and for a custom endpoint), then just a prefix for each key's URL.

use aws_sdk_s3::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::FetchError;

/// Every byte of a key is encoded except RFC 3986's unreserved ones and `/`, as S3's
/// own clients do: the signature then covers exactly the path sent (single encoding).
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The bucket's base URL: `https://<bucket>.s3.<region>.amazonaws.com` or
/// `<endpoint>/<bucket>`, without a trailing `/`.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    base: String,
}

impl Location {
    pub(crate) async fn resolve(
        region: &str,
        bucket: &str,
        custom_endpoint: Option<&str>,
    ) -> Result<Location, FetchError> {
        let mut params = Params::builder()
            .region(region)
            .bucket(bucket)
            .use_fips(false)
            .use_dual_stack(false)
            .accelerate(false)
            .force_path_style(custom_endpoint.is_some());
        if let Some(endpoint) = custom_endpoint {
            params = params.endpoint(endpoint);
        }
        let params = params
            .build()
            .map_err(|e| FetchError::Failed(format!("S3 endpoint parameters: {e}")))?;
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .map_err(|e| {
                FetchError::Failed(format!("cannot resolve the bucket's endpoint: {e}"))
            })?;
        Ok(Location {
            base: endpoint.url().trim_end_matches('/').to_string(),
        })
    }

    /// The URL of an object (the key as stored, prefix included).
    pub(crate) fn object_url(&self, key: &str) -> String {
        let encoded = utf8_percent_encode(key, KEY);
        let mut url = String::with_capacity(self.base.len() + 1 + key.len() * 3 / 2);
        url.push_str(&self.base);
        url.push('/');
        for piece in encoded {
            url.push_str(piece);
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn aws_buckets_are_virtual_hosted_and_custom_endpoints_path_style() {
        let aws = Location::resolve("eu-west-2", "my-bucket", None)
            .await
            .unwrap();
        assert_eq!(
            aws.object_url("a/b.txt"),
            "https://my-bucket.s3.eu-west-2.amazonaws.com/a/b.txt"
        );
        // A bucket with dots cannot be a TLS host name: path style.
        let dotted = Location::resolve("us-east-1", "my.bucket", None)
            .await
            .unwrap();
        assert!(
            dotted
                .object_url("k")
                .ends_with("amazonaws.com/my.bucket/k"),
            "{}",
            dotted.object_url("k")
        );
        let china = Location::resolve("cn-north-1", "b", None).await.unwrap();
        assert!(china.object_url("k").contains(".amazonaws.com.cn/"));
        let local = Location::resolve("us-east-1", "my-bucket", Some("http://127.0.0.1:9000"))
            .await
            .unwrap();
        assert_eq!(local.object_url("k"), "http://127.0.0.1:9000/my-bucket/k");
    }

    #[tokio::test]
    async fn keys_are_encoded_once_with_slashes_kept() {
        let local = Location::resolve("us-east-1", "b", Some("http://h:1"))
            .await
            .unwrap();
        assert_eq!(
            local.object_url("dir/a b+c%d~e é?#.txt"),
            "http://h:1/b/dir/a%20b%2Bc%25d~e%20%C3%A9%3F%23.txt"
        );
    }
}
