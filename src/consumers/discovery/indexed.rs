//! Discovery through the consumer index: a push reads one document (conditionally: an
//! unchanged index costs no transfer), a refresh lists and writes it, a consumer change writes
//! its one slot. Writes go over the version read, so neither overwrites the other; a conflict
//! reads again and retries.

use std::sync::Arc;

use serde::Serialize;
use tokio::time::Instant;

use super::{Discover, Discovery, Held, Service, Snapshot};
use crate::consumers::consumer::Consumer;
use crate::consumers::consumer_index::{ConsumerIndex, Freshness, Slot};
use crate::consumers::index_store::{Expect, IndexRead, IndexStore, Written};
use crate::image::RegistryId;
use crate::util::error::Error;

/// How many times a write is tried again after someone else wrote first.
const WRITE_ATTEMPTS: usize = 5;

/// How many accounts and regions a refresh lists at once (each has its own rate quotas).
const SCOPES_AT_ONCE: usize = 4;

/// What a refresh of one account and region did.
#[derive(Clone, Debug, Serialize)]
pub struct RefreshReport {
    pub account: Option<String>,
    pub region: Option<String>,
    pub consumers: usize,
    /// Services listed completely.
    pub listed: Vec<Service>,
    /// Services whose listing failed (the index keeps their previous consumers), with why.
    pub failed: Vec<(Service, String)>,
    pub bytes: usize,
    pub write_attempts: usize,
    pub elapsed_ms: u64,
}

impl<D: Discover> Discovery<D> {
    /// The snapshot the index gives; services it lacks (or holds too old) are listed here and
    /// said so; no index at all: everything listed here, and the index seeded with it.
    pub(super) async fn snapshot_from_index(
        &self,
        store: &dyn IndexStore,
        scope: &RegistryId,
    ) -> Snapshot {
        let index = match self.read_index(store, scope).await {
            Ok(Some(index)) => index,
            Ok(None) => {
                let listed = self.listed(scope, &self.config.services).await;
                let mut snapshot = (*listed).clone();
                snapshot.notes.push(
                    "no consumer index for this account and region yet: its consumers were \
                     listed directly"
                        .into(),
                );
                if listed.complete() {
                    self.seed(store, scope, &listed).await;
                }
                return snapshot;
            }
            Err(e) => {
                tracing::warn!(error = %e, "consumer index unreadable; listing directly");
                let mut snapshot = (*self.listed(scope, &self.config.services).await).clone();
                snapshot.notes.push(format!(
                    "the consumer index could not be read ({e}): consumers were listed directly"
                ));
                return snapshot;
            }
        };
        let now = (self.clock)();
        let max_age = self.config.index_max_age.as_secs();
        let mut snapshot = Snapshot::default();
        let mut lacking = Vec::new();
        for &service in &self.config.services {
            match index.freshness(service, now, max_age) {
                Freshness::Fresh => {
                    snapshot.known.push(service);
                    snapshot
                        .consumers
                        .extend(index.consumers_of(service).cloned());
                }
                Freshness::Stale { age, error } => {
                    let why = error.map(|e| format!("; its last refresh failed: {e}"));
                    snapshot.notes.push(format!(
                        "the consumer index's {service} part is {age} s old (more than \
                         {max_age} s{}): {service} was listed directly",
                        why.unwrap_or_default()
                    ));
                    lacking.push(service);
                }
                Freshness::Missing { error } => {
                    let why = error.map(|e| format!(" (its last refresh failed: {e})"));
                    snapshot.notes.push(format!(
                        "the consumer index has no listing of {service} yet{}: {service} was \
                         listed directly",
                        why.unwrap_or_default()
                    ));
                    lacking.push(service);
                }
            }
        }
        if !lacking.is_empty() {
            for (service, outcome) in self.listed(scope, &lacking).await.by_service() {
                match outcome {
                    Ok(found) => {
                        snapshot.known.push(service);
                        snapshot.consumers.extend(found);
                    }
                    Err(reason) => snapshot.unknown.push((service, reason)),
                }
            }
        }
        snapshot
    }

    /// The index of `scope`, read conditionally on the version this environment holds; `None`
    /// when there is none (or of another format).
    async fn read_index(
        &self,
        store: &dyn IndexStore,
        scope: &RegistryId,
    ) -> Result<Option<Arc<ConsumerIndex>>, Error> {
        let held = self.held.get(scope);
        let read = store
            .read(scope, held.as_ref().map(|h| h.version.as_str()))
            .await?;
        match read {
            IndexRead::Unchanged => match held {
                Some(h) => Ok(Some(h.index)),
                None => Err(Error::Permanent(
                    "the index store answered 'unchanged' to an unconditional read".into(),
                )),
            },
            IndexRead::Current { body, version } => match ConsumerIndex::decode(&body) {
                Ok(index) => {
                    let index = Arc::new(index);
                    self.held.insert(
                        scope.clone(),
                        Held {
                            version,
                            index: index.clone(),
                        },
                    );
                    Ok(Some(index))
                }
                Err(Error::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
            IndexRead::Missing => {
                self.held.take(scope);
                Ok(None)
            }
        }
    }

    /// The index of `scope` and what a write over it must expect.
    async fn current(
        &self,
        store: &dyn IndexStore,
        scope: &RegistryId,
    ) -> Result<Option<(Arc<ConsumerIndex>, Expect)>, Error> {
        Ok(match self.read_index(store, scope).await? {
            Some(index) => {
                let version = self.held.get(scope).map(|h| h.version).unwrap_or_default();
                Some((index, Expect::Version(version)))
            }
            None => None,
        })
    }

    /// Writes `index` as the one of `scope`; `false` when someone else wrote first.
    async fn write(
        &self,
        store: &dyn IndexStore,
        scope: &RegistryId,
        index: ConsumerIndex,
        expect: Expect,
    ) -> Result<bool, Error> {
        match store.write(scope, index.encode(), expect).await? {
            Written::Stored(version) => {
                self.held.insert(
                    scope.clone(),
                    Held {
                        version,
                        index: Arc::new(index),
                    },
                );
                Ok(true)
            }
            Written::Conflict => {
                self.held.take(scope);
                Ok(false)
            }
        }
    }

    /// A complete listing made here for want of an index becomes the index, unless someone
    /// wrote one meanwhile (the refresher keeps it fresh from then on).
    async fn seed(&self, store: &dyn IndexStore, scope: &RegistryId, listed: &Snapshot) {
        let started = (self.clock)().saturating_sub(self.config.ttl.as_secs());
        let index = ConsumerIndex::refreshed(None, listed.by_service(), started);
        match self.write(store, scope, index, Expect::Absent).await {
            Ok(true) => tracing::info!("consumer index seeded from a direct listing"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "consumer index not seeded"),
        }
    }

    /// Lists every enabled service of `scope` (each under the refresh deadline) and writes the
    /// index: what was listed, the slots changed since the listing began, and, for a service
    /// that failed, its previous consumers with the error.
    pub async fn refresh(&self, scope: &RegistryId) -> Result<RefreshReport, Error> {
        let store = self.store()?;
        let begun = Instant::now();
        let started = (self.clock)();
        let listed = self
            .list_within(scope, &self.config.services, self.config.refresh_deadline)
            .await
            .by_service();
        let mut report = RefreshReport {
            account: scope.account.clone(),
            region: scope.region.clone(),
            consumers: 0,
            listed: Vec::new(),
            failed: Vec::new(),
            bytes: 0,
            write_attempts: 0,
            elapsed_ms: 0,
        };
        for (service, result) in &listed {
            match result {
                Ok(_) => report.listed.push(*service),
                Err(e) => report.failed.push((*service, e.clone())),
            }
        }
        for attempt in 1..=WRITE_ATTEMPTS {
            let current = self.current(store, scope).await?;
            let (previous, expect) = match current {
                Some((index, expect)) => (Some(index), expect),
                None => (None, Expect::Absent),
            };
            let next = ConsumerIndex::refreshed(previous.as_deref(), listed.clone(), started);
            report.consumers = next.consumers.len();
            report.bytes = next.encode().len();
            report.write_attempts = attempt;
            if self.write(store, scope, next, expect).await? {
                report.elapsed_ms = begun.elapsed().as_millis() as u64;
                tracing::info!(
                    account = scope.account.as_deref().unwrap_or(""),
                    region = scope.region.as_deref().unwrap_or(""),
                    consumers = report.consumers,
                    bytes = report.bytes,
                    failed = report.failed.len(),
                    elapsed_ms = report.elapsed_ms,
                    "consumer index refreshed"
                );
                return Ok(report);
            }
        }
        Err(Error::Transient(format!(
            "the consumer index changed under each of {WRITE_ATTEMPTS} writes; the next refresh tries again"
        )))
    }

    /// Refreshes `home` and every account and region that has an index, a few at a time.
    /// One scope's failure does not stop the others; it is in the answer.
    pub async fn refresh_all(
        &self,
        home: &RegistryId,
    ) -> Result<Vec<Result<RefreshReport, String>>, Error> {
        use futures_util::StreamExt;
        let mut scopes = self.store()?.scopes().await?;
        if !scopes.contains(home) {
            scopes.insert(0, home.clone());
        }
        Ok(
            futures_util::stream::iter(scopes.into_iter().map(|scope| async move {
                self.refresh(&scope).await.map_err(|e| {
                    let what = format!(
                        "{}/{}: {e}",
                        scope.account.as_deref().unwrap_or("?"),
                        scope.region.as_deref().unwrap_or("?")
                    );
                    tracing::error!(error = %e, scope = %what, "consumer index refresh failed");
                    what
                })
            }))
            .buffer_unordered(SCOPES_AT_ONCE)
            .collect()
            .await,
        )
    }

    /// Writes a consumer change: `slot` now holds `state` (empty: it runs no image or no longer
    /// exists). `false` when there is no index to change (no store, or none written yet: the
    /// next refresh or push lists it anyway).
    pub async fn record_change(
        &self,
        scope: &RegistryId,
        slot: &Slot,
        state: Vec<Consumer>,
    ) -> Result<bool, Error> {
        let Some(store) = self.index.as_deref() else {
            return Ok(false);
        };
        for _ in 0..WRITE_ATTEMPTS {
            let Some((index, expect)) = self.current(store, scope).await? else {
                return Ok(false);
            };
            let mut next = (*index).clone();
            next.apply_change(slot, state.clone(), (self.clock)());
            if self.write(store, scope, next, expect).await? {
                return Ok(true);
            }
        }
        Err(Error::Transient(format!(
            "the consumer index changed under each of {WRITE_ATTEMPTS} writes"
        )))
    }

    fn store(&self) -> Result<&dyn IndexStore, Error> {
        self.index
            .as_deref()
            .ok_or_else(|| Error::Usage("no consumer index is configured".into()))
    }
}

#[cfg(test)]
mod tests;
