//! Signature Version 4 for the consumer index's and the alert claims' S3 requests, by
//! `aws-sigv4` (the signer the AWS SDK itself uses), with S3's settings (S3 API Reference,
//! "Authenticating Requests (AWS Signature Version 4)"): the payload's SHA-256 signed and sent in
//! `x-amz-content-sha256`, the URI path not normalised, single percent-encoding.
//! `tests/s3_signing.rs` holds the result equal to botocore's `S3SigV4Auth`.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use sha2::{Digest as _, Sha256};

use crate::util::error::Error;

/// The headers Signature Version 4 adds to an S3 request made at `time`: `authorization`,
/// `x-amz-date`, `x-amz-content-sha256` (the body's SHA-256, signed) and, with temporary
/// credentials, `x-amz-security-token`. `headers` are the request's own, all signed.
pub fn sign_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: Credentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, Error> {
    let failed = |e: &dyn std::fmt::Display| Error::Permanent(format!("S3 signing: {e}"));
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| failed(&e))?
        .into();
    let hash = hex::encode(Sha256::digest(body));
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Precomputed(hash),
    )
    .map_err(|e| failed(&e))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| failed(&e))?
        .into_parts();
    let (added, _) = instructions.into_parts();
    Ok(added
        .into_iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}
