//! A ceiling on the request rate: the audit reads a registry at a chosen share of the
//! registry's documented per-account rate quotas, so it never throttles the account's own
//! image pulls (which share those quotas). [`Paced`] spaces the manifest reads and the blob
//! reads of a [`Registry`] each at its own rate; listing and tags pass straight through.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::image::digest::Digest;
use crate::image::media_type::MediaType;
use crate::image::ports::{Catalog, Fetched, ImageSummary, Registry, TagOutcome, MAX_BATCH};
use crate::image::{RegistryId, Repository};
use crate::util::error::Error;

/// Requests spaced at most `rate` per second (no burst: each waits for its own slot).
pub struct Pace {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pace {
    /// `rate` requests per second; 0 or less: unpaced.
    pub fn per_second(rate: f64) -> Pace {
        Pace {
            interval: if rate > 0.0 {
                Duration::from_secs_f64(1.0 / rate)
            } else {
                Duration::ZERO
            },
            next: Mutex::new(None),
        }
    }

    /// Waits for the next free slot.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The request rates a registry is read at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// Manifest reads (ECR: BatchGetImage calls) per second.
    pub manifests: f64,
    /// Blob reads (ECR: GetDownloadUrlForLayer calls, each followed by its download) per second.
    pub blobs: f64,
}

/// A [`Registry`] (and [`Catalog`]) read at [`Rates`].
pub struct Paced<R> {
    inner: R,
    manifests: Pace,
    blobs: Pace,
}

impl<R> Paced<R> {
    pub fn new(inner: R, rates: Rates) -> Paced<R> {
        Paced {
            inner,
            manifests: Pace::per_second(rates.manifests),
            blobs: Pace::per_second(rates.blobs),
        }
    }

    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: Registry + Send> Registry for Paced<R> {
    /// Layers are read only by an opt-in deep check, one image at a time: not paced.
    async fn layer_source(
        &self,
        repo: &Repository,
    ) -> Result<Option<Box<dyn crate::binary::rootfs::LayerSource + Send + Sync>>, Error> {
        self.inner.layer_source(repo).await
    }

    async fn manifest(
        &self,
        repo: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Fetched, Error> {
        self.manifests.wait().await;
        self.inner.manifest(repo, digest, max_bytes).await
    }

    async fn manifests(
        &self,
        repo: &Repository,
        digests: &[Digest],
        max_bytes: u64,
    ) -> Result<Vec<Result<Fetched, Error>>, Error> {
        // One BatchGetImage per MAX_BATCH digests, as the registry splits them: one turn of
        // the pace per call, not one for the whole list.
        let mut out = Vec::with_capacity(digests.len());
        for chunk in digests.chunks(MAX_BATCH) {
            self.manifests.wait().await;
            out.extend(self.inner.manifests(repo, chunk, max_bytes).await?);
        }
        Ok(out)
    }

    async fn manifest_by_tag(
        &self,
        repo: &Repository,
        tag: &str,
        max_bytes: u64,
    ) -> Result<Fetched, Error> {
        self.manifests.wait().await;
        self.inner.manifest_by_tag(repo, tag, max_bytes).await
    }

    async fn blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, Error> {
        self.blobs.wait().await;
        self.inner.blob(repo, digest, max_bytes).await
    }

    async fn repository_tags(&self, repo: &Repository) -> Result<Vec<(String, String)>, Error> {
        self.inner.repository_tags(repo).await
    }

    async fn put_tag(
        &self,
        repo: &Repository,
        manifest: &[u8],
        media_type: &MediaType,
        digest: &Digest,
        tag: &str,
    ) -> Result<TagOutcome, Error> {
        self.inner
            .put_tag(repo, manifest, media_type, digest, tag)
            .await
    }
}

impl<R: Catalog + Send> Catalog for Paced<R> {
    async fn repositories(&self, registry: &RegistryId) -> Result<Vec<String>, Error> {
        self.inner.repositories(registry).await
    }

    async fn images(&self, repo: &Repository) -> Result<Vec<ImageSummary>, Error> {
        self.inner.images(repo).await
    }

    async fn image_by_tag(&self, repo: &Repository, tag: &str) -> Result<ImageSummary, Error> {
        self.inner.image_by_tag(repo, tag).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_at_the_rate() {
        let pace = Pace::per_second(100.0);
        let start = Instant::now();
        for _ in 0..50 {
            pace.wait().await;
        }
        // The first goes at once; the 50th 49 intervals of 10 ms later.
        assert_eq!(start.elapsed(), Duration::from_millis(490));
        let unpaced = Pace::per_second(0.0);
        let start = Instant::now();
        unpaced.wait().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_registry_spaces_batches_and_blobs_each_at_its_rate() {
        use crate::image::memory::MemoryFetch;
        use crate::image::RegistryId;
        let store = MemoryFetch::new();
        let digests: Vec<Digest> = (0..250)
            .map(|i| store.put(format!("{{\"n\":{i}}}").as_bytes(), None))
            .collect();
        let paced = Paced::new(
            store,
            Rates {
                manifests: 10.0,
                blobs: 100.0,
            },
        );
        let repo = Repository::new(RegistryId::default(), "r");
        let start = Instant::now();
        let read = paced.manifests(&repo, &digests, 1 << 20).await.unwrap();
        assert_eq!(read.len(), 250);
        // Three batches (100 + 100 + 50) at 10 per second: at 0, 0.1 and 0.2 s.
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        let start = Instant::now();
        for d in &digests[..50] {
            paced.blob(&repo, d, 1 << 20).await.unwrap();
        }
        // Blobs have their own pace: 50 at 100 per second, the first at once.
        assert_eq!(start.elapsed(), Duration::from_millis(490));
    }
}
