//! Discovery: which services run images of this registry, as a snapshot. One [`Discover`]
//! implementation lists the consumers of one service at a time; [`Discovery`] asks every
//! enabled service concurrently, each under a deadline, and keeps the snapshot for a TTL. A
//! service that fails or is too slow is *unknown* (with its reason), never "no consumers": the
//! policy then refuses to let partial knowledge decide alone.
//!
//! With a consumer index ([`crate::consumers::consumer_index`], in an [`IndexStore`]) the snapshot is read
//! from it instead — one conditional read per push, whatever the size of the estate — and only a
//! service whose part is missing or older than allowed is listed here, with a note saying so
//! ([`indexed`]). The index is written by [`Discovery::refresh`] (on a schedule) and by
//! [`Discovery::record_change`] (each consumer change).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Mutex;

use crate::consumers::consumer::Consumer;
use crate::consumers::consumer_index::ConsumerIndex;
use crate::consumers::index_store::IndexStore;
use crate::consumers::service_deployment::ServiceDeployment;
use crate::consumers::target::Target;
use crate::image::RegistryId;
use crate::util::cache::Cache;
use crate::util::clock::{self, Clock};
use crate::util::error::Error;

mod config;
pub mod indexed;

pub use config::{parse_services, DiscoveryConfig};
pub use indexed::RefreshReport;

pub use crate::consumers::service::Service;

/// Lists the consumers of one service in one account and region (an adapter per service sits
/// behind it).
pub trait Discover: Sync {
    fn consumers(
        &self,
        scope: &RegistryId,
        service: Service,
    ) -> impl Future<Output = Result<Vec<Consumer>, Error>> + Send;

    /// The current state of one consumer (a consumer change names it): one entry per image
    /// and platform it needs, empty when it runs no ECR-style container image (a .zip function,
    /// a source-code App Runner service). [`Error::NotFound`] when it no longer exists.
    fn consumer(
        &self,
        scope: &RegistryId,
        target: &Target,
    ) -> impl Future<Output = Result<Vec<Consumer>, Error>> + Send {
        let what = target.to_string();
        let _ = scope;
        async move {
            Err(Error::Permanent(format!(
                "reading {what} is not available in this build of the guard"
            )))
        }
    }

    /// The newest ongoing (PENDING or IN_PROGRESS) service deployment of `service` in
    /// `cluster`, for the deployment watcher; `None` when none is ongoing (it finished, or
    /// another superseded it).
    fn ongoing_deployment(
        &self,
        scope: &RegistryId,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Option<ServiceDeployment>, Error>> + Send {
        let _ = (scope, cluster, service);
        async move {
            Err(Error::Permanent(
                "reading ECS service deployments is not available in this build of the guard"
                    .into(),
            ))
        }
    }

    /// Stops the service deployment `arn` with a rollback to the previous revision
    /// (StopServiceDeployment, `stopType` ROLLBACK).
    fn roll_back(
        &self,
        scope: &RegistryId,
        arn: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = (scope, arn);
        async move {
            Err(Error::Permanent(
                "stopping ECS service deployments is not available in this build of the guard"
                    .into(),
            ))
        }
    }
}

/// A [`Discover`] for guards without discovery: no service, no consumer.
pub struct NoDiscovery;

impl Discover for NoDiscovery {
    async fn consumers(&self, _: &RegistryId, service: Service) -> Result<Vec<Consumer>, Error> {
        Err(Error::Permanent(format!(
            "discovery of {service} is not available in this build of the guard"
        )))
    }
}

/// What discovery knows at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub consumers: Vec<Consumer>,
    /// Services that could not be listed, with the reason.
    pub unknown: Vec<(Service, String)>,
    /// Services listed successfully.
    pub known: Vec<Service>,
    /// Where the snapshot came from when that is worth saying (a consumer index missing or
    /// stale, so that services were listed directly): for the verdict's warnings.
    pub notes: Vec<String>,
}

impl Snapshot {
    pub fn complete(&self) -> bool {
        self.unknown.is_empty()
    }

    /// Each service's outcome: its consumers, or why it is unknown.
    pub fn by_service(&self) -> Vec<(Service, Result<Vec<Consumer>, String>)> {
        let mut out: Vec<(Service, Result<Vec<Consumer>, String>)> = self
            .known
            .iter()
            .map(|&s| {
                let found = self
                    .consumers
                    .iter()
                    .filter(|c| c.kind.service() == s)
                    .cloned()
                    .collect();
                (s, Ok(found))
            })
            .collect();
        out.extend(self.unknown.iter().map(|(s, r)| (*s, Err(r.clone()))));
        out.sort_by_key(|(s, _)| *s);
        out
    }
}

/// A consumer index as last read in this environment, and its version.
#[derive(Clone)]
struct Held {
    version: String,
    index: Arc<ConsumerIndex>,
}

/// A snapshot that failed for some service is kept at most this long, so the next events retry
/// the failed service soon without every event paying for a full listing.
const INCOMPLETE_TTL: Duration = Duration::from_secs(30);

/// How many account/region snapshots a warm environment keeps.
const MAX_SCOPES: usize = 256;

/// The cached directory of consumers, one snapshot per account and region.
pub struct Discovery<D: Discover> {
    pub config: DiscoveryConfig,
    source: D,
    snapshots: Cache<(RegistryId, Vec<Service>), Arc<Snapshot>>,
    // Concurrent events wait for one listing instead of each starting one.
    listing: Mutex<()>,
    index: Option<Arc<dyn IndexStore>>,
    held: Cache<RegistryId, Held>,
    clock: Clock,
}

impl<D: Discover> Discovery<D> {
    /// The adapter behind it (reads one consumer for a consumer change).
    pub fn source(&self) -> &D {
        &self.source
    }

    pub fn new(config: DiscoveryConfig, source: D) -> Self {
        Discovery {
            config,
            source,
            snapshots: Cache::new(MAX_SCOPES),
            listing: Mutex::new(()),
            index: None,
            held: Cache::new(MAX_SCOPES),
            clock: clock::system(),
        }
    }

    /// Reads consumers from (and writes changes to) the consumer index in `store`.
    pub fn with_index(mut self, store: Arc<dyn IndexStore>) -> Self {
        self.index = Some(store);
        self
    }

    /// The index's clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn enabled(&self) -> bool {
        !self.config.services.is_empty()
    }

    /// Whether a consumer index is configured.
    pub fn indexed(&self) -> bool {
        self.index.is_some()
    }

    /// The current snapshot of a scope: from the consumer index when there is one (listing
    /// only what it lacks), else listed here and cached for the TTL.
    pub async fn snapshot(&self, scope: &RegistryId) -> Arc<Snapshot> {
        match &self.index {
            Some(store) => Arc::new(self.snapshot_from_index(store.as_ref(), scope).await),
            None => self.listed(scope, &self.config.services).await,
        }
    }

    /// `services` listed here, the snapshot cached for the TTL.
    async fn listed(&self, scope: &RegistryId, services: &[Service]) -> Arc<Snapshot> {
        let _one_listing = self.listing.lock().await;
        let key = (scope.clone(), services.to_vec());
        if let Some((snapshot, age)) = self.snapshots.get_with_age(&key) {
            let ttl = if snapshot.complete() {
                self.config.ttl
            } else {
                self.config.ttl.min(INCOMPLETE_TTL)
            };
            if age < ttl {
                return snapshot;
            }
        }
        let snapshot = Arc::new(
            self.list_within(scope, services, self.config.deadline)
                .await,
        );
        self.snapshots.insert(key, snapshot.clone());
        snapshot
    }

    /// Lists `services` concurrently, each under `deadline`.
    async fn list_within(
        &self,
        scope: &RegistryId,
        services: &[Service],
        deadline: Duration,
    ) -> Snapshot {
        let started = Instant::now();
        let jobs = services.iter().map(|&service| async move {
            let result =
                tokio::time::timeout(deadline, self.source.consumers(scope, service)).await;
            let result = match result {
                Ok(r) => r,
                Err(_) => Err(Error::Transient(format!(
                    "no answer within {} ms",
                    deadline.as_millis()
                ))),
            };
            (service, result)
        });
        let mut snapshot = Snapshot::default();
        for (service, result) in futures_util::future::join_all(jobs).await {
            match result {
                Ok(found) => {
                    tracing::debug!(service = %service, consumers = found.len(), "discovered");
                    snapshot.known.push(service);
                    snapshot.consumers.extend(found);
                }
                Err(e) => {
                    tracing::warn!(service = %service, error = %e, "discovery failed; this service's consumers are unknown");
                    snapshot.unknown.push((service, e.to_string()));
                }
            }
        }
        tracing::info!(
            consumers = snapshot.consumers.len(),
            unknown = snapshot.unknown.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "discovery snapshot taken"
        );
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumers::consumer::ConsumerKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fake {
        calls: AtomicUsize,
    }

    impl Discover for Fake {
        async fn consumers(
            &self,
            _: &RegistryId,
            service: Service,
        ) -> Result<Vec<Consumer>, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match service {
                Service::Ecs => Ok(vec![Consumer {
                    kind: ConsumerKind::EcsService,
                    name: "prod/web".into(),
                    arn: "arn".into(),
                    image: "img".into(),
                    platform: Some("linux/amd64".parse().unwrap()),
                    architecture_label: "X86_64".into(),
                    detail: None,
                }]),
                Service::Lambda => Err(Error::Permanent("AccessDeniedException".into())),
                Service::Batch => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(vec![])
                }
                Service::AppRunner => Ok(vec![]),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_and_slow_services_are_unknown_and_snapshots_are_cached() {
        let d = Discovery::new(
            DiscoveryConfig {
                services: Service::ALL.to_vec(),
                ttl: Duration::from_secs(300),
                deadline: Duration::from_secs(5),
                ..DiscoveryConfig::default()
            },
            Fake {
                calls: AtomicUsize::new(0),
            },
        );
        let here = RegistryId::default();
        let s = d.snapshot(&here).await;
        assert_eq!(s.consumers.len(), 1);
        assert_eq!(s.known, vec![Service::Ecs, Service::AppRunner]);
        let unknown: Vec<Service> = s.unknown.iter().map(|(s, _)| *s).collect();
        assert_eq!(unknown, vec![Service::Lambda, Service::Batch]);
        assert!(s.unknown[1].1.contains("no answer within 5000 ms"));
        assert_eq!(d.source.calls.load(Ordering::SeqCst), 4);
        d.snapshot(&here).await;
        assert_eq!(d.source.calls.load(Ordering::SeqCst), 4, "cached");
        let elsewhere = RegistryId::new(Some("222222222222"), Some("eu-west-1"));
        d.snapshot(&elsewhere).await;
        assert_eq!(
            d.source.calls.load(Ordering::SeqCst),
            8,
            "one snapshot per scope"
        );
        // Incomplete snapshots are retried after 30 s, not after the full TTL.
        tokio::time::advance(Duration::from_secs(31)).await;
        d.snapshot(&here).await;
        assert_eq!(d.source.calls.load(Ordering::SeqCst), 12);
    }
}
