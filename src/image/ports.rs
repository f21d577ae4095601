//! The traits the core needs from the outside world. Adapters (OCI layout, ECR) implement them;
//! tests implement them in memory.

use std::future::Future;

use crate::image::digest::Digest;
use crate::image::layer::LayerSource;
use crate::image::media_type::MediaType;
use crate::image::{RegistryId, Repository};
use crate::util::error::Error;

/// Bytes read for a digest, with the media type the source reported for them (if any).
#[derive(Clone, Debug)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: Option<MediaType>,
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

/// The most image ids one batched manifest read asks for (ECR's BatchGetImage limit: "Minimum
/// number of 1 item. Maximum number of 100 items", API reference, `imageIds`).
pub const MAX_BATCH: usize = 100;

/// What happened when a marker tag was put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagOutcome {
    Tagged,
    /// The tag already points at this digest (a redelivered event): nothing to do.
    AlreadyTagged,
}

/// A registry: reads manifests and blobs of a repository, its policy tags, and retags.
pub trait Registry: Sync {
    fn manifest(
        &self,
        repo: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Fetched, Error>> + Send;

    fn blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send;

    /// Manifests of one repository by digest, in as few calls as the registry allows (ECR's
    /// BatchGetImage takes up to [`MAX_BATCH`] image ids): one result per digest, in the order
    /// asked. `Err` when the whole read failed. Default: one [`Registry::manifest`] each.
    fn manifests(
        &self,
        repo: &Repository,
        digests: &[Digest],
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<Result<Fetched, Error>>, Error>> + Send {
        async move {
            let mut out = Vec::with_capacity(digests.len());
            for d in digests {
                out.push(self.manifest(repo, d, max_bytes).await);
            }
            Ok(out)
        }
    }

    /// The manifest a tag points at now (a consumer names its image by tag). The caller
    /// computes the digest from the bytes.
    fn manifest_by_tag(
        &self,
        repo: &Repository,
        tag: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Fetched, Error>> + Send {
        let what = format!("{}:{tag}", repo.name);
        let _ = max_bytes;
        async move {
            Err(Error::Permanent(format!(
                "this registry cannot read {what} by tag"
            )))
        }
    }

    /// The repository's resource tags (`ecr-arch-guard:platforms` among them).
    fn repository_tags(
        &self,
        repo: &Repository,
    ) -> impl Future<Output = Result<Vec<(String, String)>, Error>> + Send;

    /// Puts `tag` on the manifest `bytes` (same digest) of the repository.
    fn put_tag(
        &self,
        repo: &Repository,
        manifest: &[u8],
        media_type: &MediaType,
        digest: &Digest,
        tag: &str,
    ) -> impl Future<Output = Result<TagOutcome, Error>> + Send;

    /// The layers of `repo` for the deep check ([`crate::binary::deep`]), to be read from a blocking
    /// thread; `None` when this registry does not read layers.
    fn layer_source(
        &self,
        repo: &Repository,
    ) -> impl Future<Output = Result<Option<Box<dyn LayerSource + Send + Sync>>, Error>> + Send
    {
        let _ = repo;
        async { Ok(None) }
    }
}

/// One image of a repository, as a registry lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    pub digest: Digest,
    pub tags: Vec<String>,
    /// The manifest media type, when the registry reports it.
    pub media_type: Option<MediaType>,
    /// Push time, seconds since the Unix epoch.
    pub pushed_at: Option<i64>,
}

/// Lists what a registry holds (the CLI's `check` by tag and `scan`).
pub trait Catalog: Sync {
    /// Repository names of the registry.
    fn repositories(
        &self,
        registry: &RegistryId,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// Every image of a repository.
    fn images(
        &self,
        repo: &Repository,
    ) -> impl Future<Output = Result<Vec<ImageSummary>, Error>> + Send;

    /// The image a tag points at now.
    fn image_by_tag(
        &self,
        repo: &Repository,
        tag: &str,
    ) -> impl Future<Output = Result<ImageSummary, Error>> + Send;
}
