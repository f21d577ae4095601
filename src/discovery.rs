//! Discovery: which services run images of this registry, as a snapshot cached in the warm
//! environment. One [`Discover`] implementation lists the consumers of one service at a time;
//! [`Discovery`] asks every enabled service concurrently, each under a deadline, and keeps the
//! snapshot for a TTL. A service that fails or is too slow is *unknown* (with its reason),
//! never "no consumers": the policy then refuses to let partial knowledge decide alone.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Mutex;

use crate::cache::Cache;
use crate::change::Target;
use crate::consumer::Consumer;
use crate::error::Error;
use crate::image::RegistryId;

/// A service whose consumers can be discovered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Ecs,
    AppRunner,
    Lambda,
    Batch,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Ecs,
        Service::AppRunner,
        Service::Lambda,
        Service::Batch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::AppRunner => "apprunner",
            Service::Lambda => "lambda",
            Service::Batch => "batch",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `DISCOVER`: a comma list of `ecs`, `apprunner`, `lambda`, `batch`, or `all`;
/// empty or `off` disables discovery. Sorted, de-duplicated.
pub fn parse_services(s: &str) -> Result<Vec<Service>, Error> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.to_ascii_lowercase().as_str() {
            "all" => out.extend(Service::ALL),
            "off" | "none" => {}
            name => match Service::ALL.iter().find(|s| s.as_str() == name) {
                Some(s) => out.push(*s),
                None => {
                    return Err(Error::Usage(format!(
                    "DISCOVER: unknown service {name:?}; use ecs, apprunner, lambda, batch or all"
                )))
                }
            },
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

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
}

impl Snapshot {
    pub fn complete(&self) -> bool {
        self.unknown.is_empty()
    }
}

/// How discovery behaves.
#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    pub services: Vec<Service>,
    /// How long a complete snapshot is reused (`DISCOVERY_TTL_SECONDS`, default 300).
    pub ttl: Duration,
    /// How long one service may take before it counts as unknown.
    pub deadline: Duration,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            services: Vec::new(),
            ttl: Duration::from_secs(300),
            deadline: Duration::from_secs(10),
        }
    }
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
    snapshots: Cache<RegistryId, Arc<Snapshot>>,
    // Concurrent events wait for one listing instead of each starting one.
    listing: Mutex<()>,
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
        }
    }

    pub fn enabled(&self) -> bool {
        !self.config.services.is_empty()
    }

    /// The current snapshot of a scope, listing the services again when the cached one has
    /// expired.
    pub async fn snapshot(&self, scope: &RegistryId) -> Arc<Snapshot> {
        let _one_listing = self.listing.lock().await;
        if let Some((snapshot, age)) = self.snapshots.get_with_age(scope) {
            let ttl = if snapshot.complete() {
                self.config.ttl
            } else {
                self.config.ttl.min(INCOMPLETE_TTL)
            };
            if age < ttl {
                return snapshot;
            }
        }
        let snapshot = Arc::new(self.list(scope).await);
        self.snapshots.insert(scope.clone(), snapshot.clone());
        snapshot
    }

    /// Lists every enabled service concurrently, each under the deadline.
    async fn list(&self, scope: &RegistryId) -> Snapshot {
        let started = Instant::now();
        let deadline = self.config.deadline;
        let jobs = self.config.services.iter().map(|&service| async move {
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
    use crate::consumer::ConsumerKind;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn services_parse() {
        assert_eq!(parse_services("").unwrap(), vec![]);
        assert_eq!(parse_services("off").unwrap(), vec![]);
        assert_eq!(parse_services("all").unwrap(), Service::ALL.to_vec());
        assert_eq!(
            parse_services(" Lambda, ecs ,lambda").unwrap(),
            vec![Service::Ecs, Service::Lambda]
        );
        assert!(parse_services("ecs,eks").is_err());
    }

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
