//! [`crate::index_store::IndexStore`] over Amazon S3: one object per account and region,
//! `consumers/ACCOUNT/REGION.json.gz`, in the guard's own bucket (encrypted at rest by the
//! bucket's default encryption, see template.yaml), through [`super::s3_objects`]. Versions
//! are ETags:
//! - a read sends `If-None-Match: <ETag held>`; S3 answers 304 Not Modified when the object is
//!   unchanged (S3 API Reference, GetObject, "If-None-Match"): one request, no body;
//! - a write sends `If-Match: <ETag read>` (or `If-None-Match: *` to create); S3 answers 412
//!   Precondition Failed when the object changed (or exists), and 409 ConditionalRequestConflict
//!   when a concurrent write to it is in flight (S3 User Guide, "Conditional writes"): both
//!   are a conflict, read again.
//!
//! The client uses the guard's own credentials, also in organisation mode (the bucket is in
//! the guard's account; members are only listed through their role).

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::s3_objects::{encode, xml_values, S3Objects};
use crate::consumer_index::MAX_INDEX_BYTES;
use crate::error::Error;
use crate::image::RegistryId;
use crate::index_store::{Expect, IndexRead, IndexStore, Written};

/// Where the indexes are, under the bucket.
const PREFIX: &str = "consumers/";
const SUFFIX: &str = ".json.gz";

/// The S3 actions the index needs (the template grants exactly these, on the bucket;
/// ListObjectsV2 is authorised as `s3:ListBucket`).
pub const IAM_ACTIONS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"];

#[derive(Debug)]
pub struct S3Index {
    objects: S3Objects,
}

impl S3Index {
    pub fn new(objects: S3Objects) -> S3Index {
        S3Index { objects }
    }

    /// The object key of `scope`'s index.
    pub fn key(scope: &RegistryId) -> String {
        format!(
            "{PREFIX}{}/{}{SUFFIX}",
            scope.account.as_deref().unwrap_or("self"),
            scope.region.as_deref().unwrap_or("default")
        )
    }

    /// The scope an object key names (`None` for anything else under the prefix).
    pub fn scope_of(key: &str) -> Option<RegistryId> {
        let path = key.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
        let (account, region) = path.split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        (ok(account) && ok(region)).then(|| RegistryId::new(Some(account), Some(region)))
    }

    async fn get(&self, scope: &RegistryId, held: Option<&str>) -> Result<IndexRead, Error> {
        let headers: Vec<(&str, &str)> = held.map(|v| ("if-none-match", v)).into_iter().collect();
        let a = self
            .objects
            .send(
                "GET",
                &Self::key(scope),
                "",
                &headers,
                Bytes::new(),
                "s3:GetObject",
            )
            .await?;
        match a.status {
            200 => {
                if a.body.len() as u64 > MAX_INDEX_BYTES {
                    return Err(Error::Permanent(format!(
                        "consumer index {} is larger than {MAX_INDEX_BYTES} bytes",
                        Self::key(scope)
                    )));
                }
                Ok(IndexRead::Current {
                    version: a.etag.clone().unwrap_or_default(),
                    body: a.body.to_vec(),
                })
            }
            304 => Ok(IndexRead::Unchanged),
            404 => Ok(IndexRead::Missing),
            s => Err(status_error("s3:GetObject", s, &a.code())),
        }
    }

    async fn put(
        &self,
        scope: &RegistryId,
        body: Vec<u8>,
        expect: Expect,
    ) -> Result<Written, Error> {
        let condition = match &expect {
            Expect::Absent => ("if-none-match", "*"),
            Expect::Version(v) => ("if-match", v.as_str()),
        };
        let headers = [("content-type", "application/gzip"), condition];
        let a = self
            .objects
            .send(
                "PUT",
                &Self::key(scope),
                "",
                &headers,
                Bytes::from(body),
                "s3:PutObject",
            )
            .await?;
        match a.status {
            200 => Ok(Written::Stored(a.etag.clone().unwrap_or_default())),
            // 412 PreconditionFailed; 409 ConditionalRequestConflict (a concurrent write);
            // 404 NoSuchKey for If-Match on an object deleted meanwhile.
            412 | 409 | 404 => Ok(Written::Conflict),
            s => Err(status_error("s3:PutObject", s, &a.code())),
        }
    }

    async fn list(&self) -> Result<Vec<RegistryId>, Error> {
        let mut scopes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = format!("list-type=2&prefix={}", encode(PREFIX));
            if let Some(t) = &token {
                query.push_str(&format!("&continuation-token={}", encode(t)));
            }
            let a = self
                .objects
                .send("GET", "", &query, &[], Bytes::new(), "s3:ListBucket")
                .await?;
            if a.status != 200 {
                return Err(status_error("s3:ListBucket", a.status, &a.code()));
            }
            scopes.extend(
                xml_values(&a.body, "Key")
                    .iter()
                    .filter_map(|k| Self::scope_of(k)),
            );
            let truncated = xml_values(&a.body, "IsTruncated")
                .first()
                .map(String::as_str)
                == Some("true");
            token = xml_values(&a.body, "NextContinuationToken")
                .into_iter()
                .next();
            if !truncated || token.is_none() {
                return Ok(scopes);
            }
        }
    }
}

/// An S3 error answer as the core's error kinds: 429 and SlowDown are throttling.
fn status_error(what: &str, status: u16, code: &str) -> Error {
    let text = format!("{what}: {code} (HTTP {status})");
    match (status, code) {
        (429, _) | (_, "SlowDown") => Error::Throttled(text),
        (403, _) | (400, _) => Error::Permanent(text),
        (s, _) if s >= 500 => Error::Transient(text),
        _ => Error::Permanent(text),
    }
}

impl IndexStore for S3Index {
    fn read<'a>(
        &'a self,
        scope: &'a RegistryId,
        held: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IndexRead, Error>> {
        Box::pin(self.get(scope, held))
    }

    fn write<'a>(
        &'a self,
        scope: &'a RegistryId,
        body: Vec<u8>,
        expect: Expect,
    ) -> BoxFuture<'a, Result<Written, Error>> {
        Box::pin(self.put(scope, body, expect))
    }

    fn scopes(&self) -> BoxFuture<'_, Result<Vec<RegistryId>, Error>> {
        Box::pin(self.list())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_scopes_round_trip() {
        let scope = RegistryId::new(Some("123456789012"), Some("eu-west-1"));
        let key = S3Index::key(&scope);
        assert_eq!(key, "consumers/123456789012/eu-west-1.json.gz");
        assert_eq!(S3Index::scope_of(&key), Some(scope));
        for other in [
            "consumers/123456789012.json.gz",
            "other/123456789012/eu-west-1.json.gz",
            "consumers/../x/eu-west-1.json.gz",
            "consumers/123456789012/eu-west-1.json",
        ] {
            assert_eq!(S3Index::scope_of(other), None, "{other}");
        }
    }

    #[test]
    fn errors_keep_their_kind() {
        assert!(matches!(
            status_error("s3:GetObject", 403, "AccessDenied"),
            Error::Permanent(_)
        ));
        assert!(matches!(
            status_error("s3:PutObject", 503, "SlowDown"),
            Error::Throttled(_)
        ));
    }
}
