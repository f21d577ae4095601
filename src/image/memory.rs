//! An in-memory [`Fetch`] source: the test fake, and a cache front for real sources.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::image::digest::Digest;
use crate::image::media_type::MediaType;
use crate::image::ports::{Fetch, Fetched, Registry, TagOutcome};
use crate::image::Repository;
use crate::util::error::Error;

/// A stored document: its bytes and the media type the source reports for it.
type Stored = (Vec<u8>, Option<String>);

/// Documents by digest, with counters of the reads made.
#[derive(Debug, Default)]
pub struct MemoryFetch {
    docs: Mutex<HashMap<Digest, Stored>>,
    pub manifest_reads: AtomicUsize,
    pub blob_reads: AtomicUsize,
}

impl MemoryFetch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `bytes` under their own digest, returning it.
    pub fn put(&self, bytes: &[u8], media_type: Option<&str>) -> Digest {
        let d = Digest::of(bytes);
        self.put_as(d.clone(), bytes, media_type);
        d
    }

    /// Stores `bytes` under any digest (to test tampering).
    pub fn put_as(&self, digest: Digest, bytes: &[u8], media_type: Option<&str>) {
        if let Ok(mut docs) = self.docs.lock() {
            docs.insert(digest, (bytes.to_vec(), media_type.map(str::to_string)));
        }
    }

    pub fn reads(&self) -> (usize, usize) {
        (
            self.manifest_reads.load(Ordering::Relaxed),
            self.blob_reads.load(Ordering::Relaxed),
        )
    }

    fn get(&self, digest: &Digest) -> Result<Stored, Error> {
        let docs = self
            .docs
            .lock()
            .map_err(|_| Error::Permanent("memory store poisoned".into()))?;
        docs.get(digest)
            .cloned()
            .ok_or_else(|| Error::NotFound(digest.to_string()))
    }
}

impl Fetch for MemoryFetch {
    async fn manifest(
        &self,
        digest: &Digest,
        hint: Option<&str>,
        _max: u64,
    ) -> Result<Fetched, Error> {
        self.manifest_reads.fetch_add(1, Ordering::Relaxed);
        let (bytes, mt) = self.get(digest)?;
        Ok(Fetched {
            bytes,
            media_type: mt
                .map(MediaType::from)
                .or_else(|| hint.map(MediaType::from)),
        })
    }

    async fn blob(&self, digest: &Digest, _max: u64) -> Result<Vec<u8>, Error> {
        self.blob_reads.fetch_add(1, Ordering::Relaxed);
        Ok(self.get(digest)?.0)
    }
}

/// The same store as a one-repository [`Registry`] (benchmarks, tests): no repository tags,
/// every marker tag succeeds.
impl Registry for MemoryFetch {
    async fn manifest(&self, _: &Repository, digest: &Digest, max: u64) -> Result<Fetched, Error> {
        Fetch::manifest(self, digest, None, max).await
    }

    async fn blob(&self, _: &Repository, digest: &Digest, max: u64) -> Result<Vec<u8>, Error> {
        Fetch::blob(self, digest, max).await
    }

    async fn repository_tags(&self, _: &Repository) -> Result<Vec<(String, String)>, Error> {
        Ok(Vec::new())
    }

    async fn put_tag(
        &self,
        _: &Repository,
        _: &[u8],
        _: &MediaType,
        _: &Digest,
        _: &str,
    ) -> Result<TagOutcome, Error> {
        Ok(TagOutcome::Tagged)
    }
}
