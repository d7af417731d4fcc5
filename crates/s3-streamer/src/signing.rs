//! SigV4 for S3 GET and HEAD requests, with `aws-sigv4` (the SDK's own signer) and S3's
//! settings: the path signed as sent (single encoding, no normalisation), an unsigned
//! payload, the session token of temporary credentials included.

use std::time::SystemTime;

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderValue};

use crate::error::FetchError;

#[derive(Debug, Clone)]
pub(crate) struct Signer {
    region: String,
}

fn settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.session_token_mode = SessionTokenMode::Include;
    settings
}

impl Signer {
    pub(crate) fn new(region: &str) -> Signer {
        Signer {
            region: region.to_string(),
        }
    }

    /// Adds the signature headers (`authorization`, `x-amz-date`,
    /// `x-amz-content-sha256`, and `x-amz-security-token` for temporary credentials)
    /// for a bodiless request to `url` with `headers`.
    pub(crate) fn sign(
        &self,
        identity: &Identity,
        method: &str,
        url: &str,
        headers: &mut HeaderMap,
    ) -> Result<(), FetchError> {
        let failed = |e: &dyn std::fmt::Display| {
            FetchError::Failed(format!("cannot sign the S3 request: {e}"))
        };
        let params = v4::SigningParams::builder()
            .identity(identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings())
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| failed(&e))?
            .into_parts();
        let (signature_headers, _query) = instructions.into_parts();
        for header in signature_headers {
            let mut value = HeaderValue::from_str(header.value()).map_err(|e| failed(&e))?;
            value.set_sensitive(header.sensitive());
            headers.insert(header.name(), value);
        }
        Ok(())
    }
}
