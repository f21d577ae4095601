//! The traits the core needs from the outside world. Adapters (OCI layout, ECR) implement them;
//! tests implement them in memory.

use std::future::Future;

use crate::digest::Digest;
use crate::error::Error;

/// Bytes read for a digest, with the media type the source reported for them (if any).
#[derive(Clone, Debug)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: Option<String>,
}

/// Reads manifests and blobs by digest. Implementations should stop reading past `max_bytes`
/// (returning [`Error::TooLarge`]); the core verifies the digest of whatever comes back.
pub trait Fetch: Sync {
    /// A manifest or index. `hint` is the media type the referring descriptor gave.
    fn manifest(
        &self,
        digest: &Digest,
        hint: Option<&str>,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Fetched, Error>> + Send;

    /// A blob (the image config).
    fn blob(
        &self,
        digest: &Digest,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send;
}
