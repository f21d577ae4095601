//! [`crate::consumers::index_store::IndexStore`] over Amazon S3: one object per account and region,
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

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::s3_objects::{encode, status_error, xml_values, S3Objects};
use crate::consumers::consumer_index::MAX_INDEX_BYTES;
use crate::consumers::index_store::{Expect, IndexRead, IndexStore, Written};
use crate::image::RegistryId;
use crate::util::error::Error;

/// Where the indexes are, under the bucket.
const PREFIX: &str = "consumers/";
const SUFFIX: &str = ".json.gz";

/// The S3 actions the index needs (the template grants exactly these, on the bucket;
/// ListObjectsV2 is authorised as `s3:ListBucket`).
pub const IAM_ACTIONS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"];

#[derive(Debug)]
pub struct S3Index {
    objects: Arc<S3Objects>,
}

impl S3Index {
    pub fn new(objects: Arc<S3Objects>) -> S3Index {
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
        let a = self.objects.get_object(&Self::key(scope), held).await?;
        match a.status {
            304 => Ok(IndexRead::Unchanged),
            404 => Ok(IndexRead::Missing),
            _ if a.body.len() as u64 > MAX_INDEX_BYTES => Err(Error::Permanent(format!(
                "consumer index {} is larger than {MAX_INDEX_BYTES} bytes",
                Self::key(scope)
            ))),
            _ => Ok(IndexRead::Current {
                version: a.etag.clone().unwrap_or_default(),
                body: a.body.to_vec(),
            }),
        }
    }

    async fn put(
        &self,
        scope: &RegistryId,
        body: Vec<u8>,
        expect: Expect,
    ) -> Result<Written, Error> {
        self.objects
            .put_object(&Self::key(scope), body, "application/gzip", expect)
            .await
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
}
