//! The guard's reads at the registry API's own granularity: manifests read ahead in batches
//! ([`Registry::manifests`], up to [`crate::image::ports::MAX_BATCH`] per call) are used before any
//! single read, and each config blob is read once per digest however many images share it —
//! concurrent readers of one digest wait for the first read instead of starting their own.
//! Everything kept here is still size-checked and digest-verified by [`crate::image::resolve`] on use.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::image::digest::Digest;
use crate::image::media_type::MediaType;
use crate::image::ports::{Fetch, Fetched, Registry};
use crate::image::Repository;
use crate::util::cache::Cache;
use crate::util::error::Error;

/// Config blobs larger than this are not kept after use (a typical config is a few KB; a
/// registry of large ones must not fill the memory of a 128 MB Lambda or of the CLI).
const KEEP_BLOBS_UP_TO: usize = 64 * 1024;

/// Manifests read ahead and config blobs read, shared by every image the guard judges.
pub struct Reads {
    ahead: Cache<Digest, Fetched>,
    blobs: Cache<Digest, Arc<OnceCell<Arc<Vec<u8>>>>>,
}

impl Reads {
    /// Keeps at most `entries` manifests read ahead and `entries` config blobs.
    pub fn new(entries: usize) -> Reads {
        Reads {
            ahead: Cache::new(entries),
            blobs: Cache::new(entries),
        }
    }

    /// Reads the manifests of `digests` in `repo` in batches and keeps them for
    /// [`Reads::fetch`]. A digest the batch could not return is left for its own read, which
    /// reports why; so is every digest when the whole batch failed.
    pub async fn read_ahead<R: Registry>(
        &self,
        registry: &R,
        repo: &Repository,
        digests: &[Digest],
        max_bytes: u64,
    ) {
        // The registry splits the digests into calls of at most MAX_BATCH itself.
        let Ok(results) = registry.manifests(repo, digests, max_bytes).await else {
            return;
        };
        for (digest, fetched) in digests.iter().zip(results) {
            if let Ok(f) = fetched {
                self.ahead.insert(digest.clone(), f);
            }
        }
    }

    /// A [`Fetch`] of `repo` through these reads.
    pub fn fetch<'a, R: Registry>(
        &'a self,
        registry: &'a R,
        repo: &'a Repository,
    ) -> ReadsFetch<'a, R> {
        ReadsFetch {
            reads: self,
            registry,
            repo,
        }
    }
}

/// [`Reads`] seen as the [`Fetch`] source of one repository.
pub struct ReadsFetch<'a, R: Registry> {
    reads: &'a Reads,
    registry: &'a R,
    repo: &'a Repository,
}

impl<R: Registry> Fetch for ReadsFetch<'_, R> {
    async fn manifest(
        &self,
        digest: &Digest,
        hint: Option<&str>,
        max_bytes: u64,
    ) -> Result<Fetched, Error> {
        let mut f = match self.reads.ahead.take(digest) {
            Some(f) => f,
            None => self.registry.manifest(self.repo, digest, max_bytes).await?,
        };
        if f.media_type.is_none() {
            f.media_type = hint.map(MediaType::from);
        }
        Ok(f)
    }

    async fn blob(&self, digest: &Digest, max_bytes: u64) -> Result<Vec<u8>, Error> {
        let cell = self
            .reads
            .blobs
            .get_or_insert_with(digest.clone(), || Arc::new(OnceCell::new()));
        let bytes = cell
            .get_or_try_init(|| async {
                let bytes = self.registry.blob(self.repo, digest, max_bytes).await?;
                // Only verified bytes are shared: a corrupt read stays this image's error.
                digest.verify(&bytes)?;
                Ok::<_, Error>(Arc::new(bytes))
            })
            .await?
            .clone();
        if bytes.len() > KEEP_BLOBS_UP_TO {
            self.reads.blobs.take(digest);
        }
        Ok(bytes.as_ref().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::memory::MemoryFetch;
    use crate::image::RegistryId;

    #[tokio::test]
    async fn a_shared_config_is_read_once_and_a_large_one_is_not_kept() {
        let registry = MemoryFetch::new();
        let small = registry.put(b"{\"os\":\"linux\"}", None);
        let large = registry.put(&vec![b' '; KEEP_BLOBS_UP_TO + 1], None);
        let repo = Repository::new(RegistryId::default(), "r");
        let reads = Reads::new(8);
        let fetch = reads.fetch(&registry, &repo);
        let both = futures_util::future::join_all((0..4).map(|_| fetch.blob(&small, 1 << 20)));
        assert!(both.await.iter().all(|b| b.is_ok()));
        assert_eq!(registry.reads().1, 1, "four readers at once, one read");
        for _ in 0..2 {
            fetch.blob(&large, 1 << 20).await.unwrap();
        }
        assert_eq!(registry.reads().1, 3, "a large config is read each time");
    }

    #[tokio::test]
    async fn manifests_read_ahead_are_used_once() {
        let registry = MemoryFetch::new();
        let d = registry.put(b"{\"schemaVersion\":2}", None);
        let repo = Repository::new(RegistryId::default(), "r");
        let reads = Reads::new(8);
        reads
            .read_ahead(&registry, &repo, std::slice::from_ref(&d), 1 << 20)
            .await;
        let before = registry.reads().0;
        let fetch = reads.fetch(&registry, &repo);
        fetch.manifest(&d, None, 1 << 20).await.unwrap();
        assert_eq!(registry.reads().0, before, "taken from the read-ahead");
        fetch.manifest(&d, None, 1 << 20).await.unwrap();
        assert_eq!(registry.reads().0, before + 1, "then read again");
    }
}
