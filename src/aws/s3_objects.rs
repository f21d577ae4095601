//! The three Amazon S3 calls the consumer index makes — GetObject, PutObject (both
//! conditional) and ListObjectsV2 under one prefix — signed with Signature Version 4
//! (`aws-sigv4`, the signer the AWS SDK itself uses) and sent over the hyper + rustls stack the
//! guard already links. Not aws-sdk-s3: measured, it adds 1.47 MB to the release `bootstrap`
//! (7.93 → 9.40 MB, past its 8 MB budget) for these three calls (docs/architecture.md).
//!
//! From the S3 API Reference: SigV4 with the `x-amz-content-sha256` header (the payload's
//! SHA-256), the URI path not normalised; virtual-hosted-style addressing
//! (`https://BUCKET.s3.REGION.amazonaws.com/KEY`, `.amazonaws.com.cn` in China) and path-style
//! against an endpoint override (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`); an error is an XML
//! document whose `<Code>` names it. 5xx answers and transport errors are tried up to 3 times.

use std::time::{Duration, SystemTime};

use super::accounts::Refreshing;
use super::download::LazyHttps;
use super::s3_signing::sign_headers;
use super::trust::TrustRoots;
use crate::consumers::index_store::{Expect, Written};
use crate::util::error::Error;
use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The one 404 that means "no such object" (S3 API Reference, "Error responses"); every other
/// 404 code (`NoSuchBucket`, …) means the store itself is missing.
pub const NO_SUCH_KEY: &str = "NoSuchKey";

/// Attempts per call (5xx and transport errors are tried again).
const ATTEMPTS: u32 = 3;
/// One attempt, and the whole call, as the SDK clients ([`super::timeouts`]).
const TIMEOUT: Duration = super::timeouts::ATTEMPT;
const OPERATION: Duration = super::timeouts::OPERATION;

/// An answer: status, ETag, body.
#[derive(Debug)]
pub struct S3Answer {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Bytes,
}

impl S3Answer {
    /// The `<Code>` of an error document.
    pub fn code(&self) -> String {
        xml_values(&self.body, "Code")
            .into_iter()
            .next()
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }
}

/// Where requests go: `https://BUCKET.s3.REGION.SUFFIX` or, overridden, `ENDPOINT/BUCKET`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
}

impl Endpoint {
    pub fn of(bucket: &str, region: &str, overridden: Option<&str>) -> Endpoint {
        let base = match overridden {
            Some(url) => format!("{}/{bucket}", url.trim_end_matches('/')),
            None => {
                let suffix = if region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                format!("https://{bucket}.s3.{region}.{suffix}")
            }
        };
        Endpoint { base }
    }

    fn url(&self, key: &str, query: &str) -> String {
        let mut url = format!("{}/{}", self.base, encode_key(key));
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }
}

/// An S3 client for one bucket.
pub struct S3Objects {
    endpoint: Endpoint,
    region: String,
    /// Kept until 5 minutes before they expire.
    credentials: Refreshing<SharedCredentialsProvider>,
    /// Built on the first call (init does not load the trust roots for it).
    http: LazyHttps,
}

impl std::fmt::Debug for S3Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Objects")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish()
    }
}

impl S3Objects {
    /// For `bucket`, with `config`'s region, credentials and endpoint override.
    pub fn new(config: &SdkConfig, bucket: &str, roots: TrustRoots) -> Result<S3Objects, Error> {
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| Error::Usage("no region for the consumer index bucket".into()))?;
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| Error::Usage("no credentials for the consumer index bucket".into()))?;
        let endpoint = Endpoint::of(bucket, &region, endpoint_override(config).as_deref());
        let local = endpoint_override(config).is_some_and(|u| u.starts_with("http://"));
        let http = LazyHttps::new(roots, local, Duration::from_secs(5));
        Ok(S3Objects {
            endpoint,
            region,
            credentials: Refreshing::new(credentials),
            http,
        })
    }

    /// Sends one request (`headers` besides the signature's), tried again on 5xx and transport
    /// errors; any other status is the caller's to read.
    pub async fn send(
        &self,
        method: &str,
        key: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        what: &str,
    ) -> Result<S3Answer, Error> {
        let url = self.endpoint.url(key, query);
        let mut last = String::new();
        let started = tokio::time::Instant::now();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let pause = Duration::from_millis(100 << attempt);
                if started.elapsed() + pause + TIMEOUT > OPERATION {
                    break;
                }
                tokio::time::sleep(pause).await;
            }
            let request = self.signed(method, &url, headers, body.clone()).await?;
            match tokio::time::timeout(TIMEOUT, self.http.get()?.request(request)).await {
                Err(_) => last = format!("{what}: no answer within {} s", TIMEOUT.as_secs()),
                Ok(Err(e)) => last = format!("{what}: {}", super::error_chain(&e)),
                Ok(Ok(resp)) => {
                    let status = resp.status().as_u16();
                    let etag = resp
                        .headers()
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let body = resp
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| Error::Transient(format!("{what}: reading the answer: {e}")))?
                        .to_bytes();
                    let answer = S3Answer { status, etag, body };
                    if status < 500 {
                        return Ok(answer);
                    }
                    last = format!("{what}: {}", answer.code());
                }
            }
        }
        Err(Error::Transient(last))
    }

    async fn signed(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<http::Request<Full<Bytes>>, Error> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| Error::Transient(format!("credentials for S3: {e}")))?;
        let signature = sign_headers(
            method,
            url,
            headers,
            &body,
            credentials,
            &self.region,
            SystemTime::now(),
        )?;
        let mut builder = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        for (k, v) in &signature {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder
            .body(Full::new(body))
            .map_err(|e| Error::Permanent(format!("S3 request: {e}")))
    }

    /// GetObject of `key`, with `If-None-Match: held` when given: the answer as S3 gave it
    /// (200 with the object, 304 unchanged, 404 `NoSuchKey`: no such object), any other status
    /// an error — a 404 with another code among them: `NoSuchBucket` is the store missing, not
    /// the record (S3 API Reference, "Error responses": both are 404).
    pub async fn get_object(&self, key: &str, held: Option<&str>) -> Result<S3Answer, Error> {
        let headers: Vec<(&str, &str)> = held.map(|v| ("if-none-match", v)).into_iter().collect();
        let a = self
            .send("GET", key, "", &headers, Bytes::new(), "s3:GetObject")
            .await?;
        match a.status {
            200 | 304 => Ok(a),
            404 if a.code() == NO_SUCH_KEY => Ok(a),
            s => Err(status_error("s3:GetObject", s, &a.code())),
        }
    }

    /// PutObject of `body` at `key` if `expect` holds: `If-None-Match: *` to create,
    /// `If-Match: <ETag>` to replace. 412 PreconditionFailed, 409 ConditionalRequestConflict (a
    /// concurrent write) and 404 `NoSuchKey` (If-Match on an object deleted meanwhile) are a
    /// conflict; any other 404 (`NoSuchBucket`) is the store failing, an error.
    pub async fn put_object(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        expect: Expect,
    ) -> Result<Written, Error> {
        let condition = match &expect {
            Expect::Absent => ("if-none-match", "*"),
            Expect::Version(v) => ("if-match", v.as_str()),
        };
        let headers = [("content-type", content_type), condition];
        let a = self
            .send("PUT", key, "", &headers, Bytes::from(body), "s3:PutObject")
            .await?;
        match a.status {
            200 => Ok(Written::Stored(a.etag.clone().unwrap_or_default())),
            412 | 409 => Ok(Written::Conflict),
            404 if a.code() == NO_SUCH_KEY => Ok(Written::Conflict),
            s => Err(status_error("s3:PutObject", s, &a.code())),
        }
    }
}

/// An S3 error answer as the core's error kinds: 429 and SlowDown are throttling.
pub fn status_error(what: &str, status: u16, code: &str) -> Error {
    let text = format!("{what}: {code} (HTTP {status})");
    match (status, code) {
        (429, _) | (_, "SlowDown") => Error::Throttled(text),
        (s, _) if s >= 500 => Error::Transient(text),
        _ => Error::Permanent(text),
    }
}

/// `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL` (through the configuration's service
/// settings, as the SDK clients read them), or the configuration's own endpoint.
fn endpoint_override(config: &SdkConfig) -> Option<String> {
    if let Some(url) = config.endpoint_url() {
        return Some(url.to_string());
    }
    let key = aws_types::service_config::ServiceConfigKey::builder()
        .service_id("S3")
        .profile("endpoint_url")
        .env("AWS_ENDPOINT_URL")
        .build()
        .ok()?;
    config.service_config()?.load_config(key)
}

/// A key as a URI path: each segment percent-encoded (RFC 3986 unreserved kept), `/` kept.
fn encode_key(key: &str) -> String {
    key.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// All but RFC 3986's unreserved characters (ALPHA / DIGIT / `-` / `.` / `_` / `~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes all but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// The text of every `<tag>…</tag>` in an XML document, entities decoded (S3's answers:
/// `Key`, `Code`, `NextContinuationToken`, `IsTruncated`).
pub fn xml_values(xml: &[u8], tag: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(xml);
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let Some(end) = rest.find(&close) else { break };
        out.push(
            rest[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &rest[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_virtual_hosted_on_aws_and_path_style_when_overridden() {
        let e = Endpoint::of("guard-index", "eu-west-1", None);
        assert_eq!(
            e.url("consumers/123456789012/eu-west-1.json.gz", ""),
            "https://guard-index.s3.eu-west-1.amazonaws.com/consumers/123456789012/eu-west-1.json.gz"
        );
        let cn = Endpoint::of("b", "cn-north-1", None);
        assert!(cn
            .url("k", "")
            .starts_with("https://b.s3.cn-north-1.amazonaws.com.cn/"));
        let local = Endpoint::of("b", "us-east-1", Some("http://127.0.0.1:5000/"));
        assert_eq!(
            local.url("", "list-type=2&prefix=consumers%2F"),
            "http://127.0.0.1:5000/b/?list-type=2&prefix=consumers%2F"
        );
        assert_eq!(encode_key("a b/c+d"), "a%20b/c%2Bd");
    }

    #[test]
    fn xml_values_and_error_codes() {
        let list = br#"<?xml version="1.0"?><ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>consumers/1/a.json.gz</Key></Contents><Contents><Key>x&amp;y</Key></Contents><NextContinuationToken>tok</NextContinuationToken></ListBucketResult>"#;
        assert_eq!(xml_values(list, "Key"), ["consumers/1/a.json.gz", "x&y"]);
        assert_eq!(xml_values(list, "NextContinuationToken"), ["tok"]);
        let error = S3Answer {
            status: 412,
            etag: None,
            body: Bytes::from_static(
                b"<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>",
            ),
        };
        assert_eq!(error.code(), "PreconditionFailed");
        let bare = S3Answer {
            status: 503,
            etag: None,
            body: Bytes::new(),
        };
        assert_eq!(bare.code(), "HTTP 503");
    }
}
