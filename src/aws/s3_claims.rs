//! [`crate::act::alert_claim::ClaimStore`] over Amazon S3: each alert's claim an object under
//! `alerts/` of the stack's bucket, written with `If-None-Match: *` (claim) or `If-Match`
//! (settle, take over) — S3's conditional writes ([`super::s3_objects`]). The bucket's lifecycle
//! rule expires them after a day.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::s3_objects::S3Objects;
use crate::act::alert_claim::{ClaimStore, Versioned};
use crate::consumers::index_store::{Expect, Written};
use crate::util::error::Error;

/// The S3 actions the claims need (granted on `alerts/*` of the bucket).
pub const IAM_ACTIONS: [&str; 2] = ["s3:GetObject", "s3:PutObject"];

#[derive(Debug)]
pub struct S3Claims {
    objects: Arc<S3Objects>,
}

impl S3Claims {
    pub fn new(objects: Arc<S3Objects>) -> S3Claims {
        S3Claims { objects }
    }

    async fn read(&self, key: &str) -> Result<Option<Versioned>, Error> {
        let a = self.objects.get_object(key, None).await?;
        Ok((a.status == 200).then(|| (a.body.to_vec(), a.etag.clone().unwrap_or_default())))
    }
}

impl ClaimStore for S3Claims {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, Error>> {
        Box::pin(self.read(key))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        expect: Expect,
    ) -> BoxFuture<'a, Result<Written, Error>> {
        Box::pin(
            self.objects
                .put_object(key, body, "application/json", expect),
        )
    }
}
