//! Where the consumer index lives: one document per account and region, read conditionally
//! (unchanged since the version a reader holds costs no transfer) and written only over the
//! version the writer read (so a refresh and a consumer change never overwrite each other).
//! The AWS adapter is `aws::index_s3` (an S3 object per account and region, ETags as versions);
//! [`MemoryIndexStore`] is the in-memory one for tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use futures_util::future::BoxFuture;

use crate::image::RegistryId;
use crate::util::error::Error;

/// What a read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexRead {
    /// The version the reader holds is still the current one.
    Unchanged,
    /// The current document and its version.
    Current { body: Vec<u8>, version: String },
    /// No index for this account and region yet.
    Missing,
}

/// What a write may replace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Only create: no document may exist yet.
    Absent,
    /// Only replace this version.
    Version(String),
}

/// What a write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// Stored, as this version.
    Stored(String),
    /// Someone else wrote first: read again and retry.
    Conflict,
}

/// The store of consumer indexes.
pub trait IndexStore: Send + Sync {
    /// The index of `scope`; `held`: the version the caller has (then [`IndexRead::Unchanged`]
    /// when it is still current).
    fn read<'a>(
        &'a self,
        scope: &'a RegistryId,
        held: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IndexRead, Error>>;

    /// Writes `body` as the index of `scope` if `expect` holds.
    fn write<'a>(
        &'a self,
        scope: &'a RegistryId,
        body: Vec<u8>,
        expect: Expect,
    ) -> BoxFuture<'a, Result<Written, Error>>;

    /// Every account and region that has an index (the refresher keeps them all fresh).
    fn scopes(&self) -> BoxFuture<'_, Result<Vec<RegistryId>, Error>>;
}

/// Documents in memory, each written only as its [`Expect`] allows and stored as a new
/// version: the rule of the in-memory stores (this one, and `alert_claim::MemoryClaims`).
#[derive(Debug)]
pub struct MemoryVersions<K> {
    docs: Mutex<BTreeMap<K, (Vec<u8>, u64)>>,
    next_version: AtomicU64,
}

impl<K> Default for MemoryVersions<K> {
    fn default() -> Self {
        MemoryVersions {
            docs: Mutex::new(BTreeMap::new()),
            next_version: AtomicU64::new(0),
        }
    }
}

impl<K: Ord + Clone> MemoryVersions<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<K, (Vec<u8>, u64)>> {
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The document at `key` and its version.
    pub fn get(&self, key: &K) -> Option<(Vec<u8>, String)> {
        self.lock()
            .get(key)
            .map(|(body, v)| (body.clone(), v.to_string()))
    }

    /// Writes `body` at `key` if `expect` holds.
    pub fn put(&self, key: &K, body: Vec<u8>, expect: &Expect) -> Written {
        let mut docs = self.lock();
        let current = docs.get(key).map(|(_, v)| v.to_string());
        let ok = match (expect, &current) {
            (Expect::Absent, None) => true,
            (Expect::Version(want), Some(have)) => want == have,
            _ => false,
        };
        if !ok {
            return Written::Conflict;
        }
        let v = self.next_version.fetch_add(1, Ordering::SeqCst) + 1;
        docs.insert(key.clone(), (body, v));
        Written::Stored(v.to_string())
    }

    /// Every key with a document.
    pub fn keys(&self) -> Vec<K> {
        self.lock().keys().cloned().collect()
    }
}

/// Indexes in memory, versions counted, every call counted.
#[derive(Debug, Default)]
pub struct MemoryIndexStore {
    docs: MemoryVersions<RegistryId>,
    pub reads: AtomicUsize,
    pub writes: AtomicUsize,
    pub conflicts: AtomicUsize,
}

impl MemoryIndexStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored document of `scope`.
    pub fn body(&self, scope: &RegistryId) -> Option<Vec<u8>> {
        self.docs.get(scope).map(|(body, _)| body)
    }
}

impl IndexStore for MemoryIndexStore {
    fn read<'a>(
        &'a self,
        scope: &'a RegistryId,
        held: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IndexRead, Error>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let answer = match self.docs.get(scope) {
            None => IndexRead::Missing,
            Some((_, version)) if held == Some(version.as_str()) => IndexRead::Unchanged,
            Some((body, version)) => IndexRead::Current { body, version },
        };
        Box::pin(async move { Ok(answer) })
    }

    fn write<'a>(
        &'a self,
        scope: &'a RegistryId,
        body: Vec<u8>,
        expect: Expect,
    ) -> BoxFuture<'a, Result<Written, Error>> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let answer = self.docs.put(scope, body, &expect);
        if answer == Written::Conflict {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        Box::pin(async move { Ok(answer) })
    }

    fn scopes(&self) -> BoxFuture<'_, Result<Vec<RegistryId>, Error>> {
        let scopes = self.docs.keys();
        Box::pin(async move { Ok(scopes) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_are_conditional_and_writes_need_the_version_read() {
        let store = MemoryIndexStore::new();
        let here = RegistryId::new(Some("123456789012"), Some("us-east-1"));
        assert_eq!(store.read(&here, None).await.unwrap(), IndexRead::Missing);
        let Written::Stored(v1) = store
            .write(&here, b"one".to_vec(), Expect::Absent)
            .await
            .unwrap()
        else {
            panic!("first write")
        };
        assert_eq!(
            store
                .write(&here, b"again".to_vec(), Expect::Absent)
                .await
                .unwrap(),
            Written::Conflict
        );
        assert_eq!(
            store.read(&here, Some(&v1)).await.unwrap(),
            IndexRead::Unchanged
        );
        let Written::Stored(v2) = store
            .write(&here, b"two".to_vec(), Expect::Version(v1.clone()))
            .await
            .unwrap()
        else {
            panic!("write over the version read")
        };
        assert_eq!(
            store
                .write(&here, b"stale".to_vec(), Expect::Version(v1.clone()))
                .await
                .unwrap(),
            Written::Conflict
        );
        assert_eq!(
            store.read(&here, Some(&v1)).await.unwrap(),
            IndexRead::Current {
                body: b"two".to_vec(),
                version: v2
            }
        );
        assert_eq!(store.scopes().await.unwrap(), vec![here]);
    }
}
