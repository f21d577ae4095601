//! [`crate::index_store::IndexStore`] over Amazon S3: one object per account and region,
//! `consumers/ACCOUNT/REGION.json.gz`, in the guard's own bucket (encrypted at rest by the
//! bucket's default encryption, see template.yaml). Versions are ETags:
//! - a read sends `If-None-Match: <ETag held>`; S3 answers 304 Not Modified when the object is
//!   unchanged (S3 API Reference, GetObject, "If-None-Match"): one request, no body;
//! - a write sends `If-Match: <ETag read>` (or `If-None-Match: *` to create); S3 answers 412
//!   Precondition Failed when the object changed (or exists), and 409 ConditionalRequestConflict
//!   when a concurrent write to it is in flight (S3 User Guide, "Conditional writes"): both
//!   are a conflict, read again.
//!
//! The client uses the guard's own credentials, also in organisation mode (the bucket is in
//! the guard's account; members are only listed through their role).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use futures_util::future::BoxFuture;

use super::map_sdk_error;
use crate::consumer_index::MAX_INDEX_BYTES;
use crate::error::Error;
use crate::image::RegistryId;
use crate::index_store::{Expect, IndexRead, IndexStore, Written};

/// Where the indexes are, under the bucket.
const PREFIX: &str = "consumers/";
const SUFFIX: &str = ".json.gz";

/// The S3 actions the index needs (the template grants exactly these, on the bucket).
pub const IAM_ACTIONS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"];

#[derive(Clone, Debug)]
pub struct S3Index {
    client: Client,
    bucket: String,
}

impl S3Index {
    pub fn new(client: Client, bucket: impl Into<String>) -> S3Index {
        S3Index {
            client,
            bucket: bucket.into(),
        }
    }

    /// An S3 client over `config`: virtual-hosted-style addressing on AWS, path-style against
    /// an endpoint override (`AWS_ENDPOINT_URL`: a local emulator has no per-bucket host names).
    pub fn client(config: &aws_config::SdkConfig) -> Client {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Client::from_conf(s3)
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
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(Self::key(scope))
            .set_if_none_match(held.map(str::to_string))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                if status == Some(304) {
                    return Ok(IndexRead::Unchanged);
                }
                if status == Some(404) || e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    return Ok(IndexRead::Missing);
                }
                return Err(map_sdk_error("s3:GetObject", e));
            }
        };
        if out.content_length().unwrap_or_default() as u64 > MAX_INDEX_BYTES {
            return Err(Error::Permanent(format!(
                "consumer index {} is larger than {MAX_INDEX_BYTES} bytes",
                Self::key(scope)
            )));
        }
        let version = out.e_tag().unwrap_or_default().to_string();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| Error::Transient(format!("s3:GetObject: reading the body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(IndexRead::Current { body, version })
    }

    async fn put(
        &self,
        scope: &RegistryId,
        body: Vec<u8>,
        expect: Expect,
    ) -> Result<Written, Error> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::key(scope))
            .content_type("application/gzip")
            .body(ByteStream::from(body));
        let request = match expect {
            Expect::Absent => request.if_none_match("*"),
            Expect::Version(v) => request.if_match(v),
        };
        match request.send().await {
            Ok(out) => Ok(Written::Stored(out.e_tag().unwrap_or_default().to_string())),
            Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
                Some(412 | 409) => Ok(Written::Conflict),
                _ => Err(map_sdk_error("s3:PutObject", e)),
            },
        }
    }

    async fn list(&self) -> Result<Vec<RegistryId>, Error> {
        let mut scopes = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(PREFIX)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk_error("s3:ListBucket", e))?;
            scopes.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().and_then(Self::scope_of)),
            );
        }
        Ok(scopes)
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
