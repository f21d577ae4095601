//! A burst of pushes against an estate, as the Lambda sees it: `instances` warm guard
//! environments (each handles its events one at a time, as a Lambda environment does), the
//! pushes dealt to them round-robin and all started at once; images on the fake ECR, the
//! consumers (ECS, Lambda) and the consumer index (S3) on the fake estate, which counts every
//! call and throttles over the documented quotas. Shared by `tests/estate_index.rs` and
//! `examples/estate_bench.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecr_arch_guard::act::message::NoNotify;
use ecr_arch_guard::aws::accounts::Accounts;
use ecr_arch_guard::aws::discovery::AwsDiscovery;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::aws::index_s3::S3Index;
use ecr_arch_guard::aws::s3_objects::S3Objects;
use ecr_arch_guard::aws::trust::TrustRoots;
use ecr_arch_guard::consumers::discovery::{Discovery, DiscoveryConfig, RefreshReport, Service};
use ecr_arch_guard::handler::inputs::is_unknown_service;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::{Answer, Guard};
use ecr_arch_guard::image::RegistryId;

use super::fake_ecr::{FakeEcr, Fleet};
use super::fake_estate::{EstateSpec, FakeEstate};
use super::local_aws::{image_uri, push_event, sdk_config, ACCOUNT, REGION};

/// The estate: 1,000 ECS services in 20 clusters (50 task definition families), 1,000
/// Lambda functions of which 300 run images; consumers name the fleet's tagged images.
pub fn spec(images: Vec<String>) -> EstateSpec {
    EstateSpec {
        clusters: 20,
        services_per_cluster: 50,
        families: 50,
        functions: 1_000,
        image_functions: 300,
        images,
    }
}

/// 10 repositories of 10 single-platform images each: 100 tagged images to push.
pub const FLEET: Fleet = Fleet {
    repositories: 10,
    indexes: 0,
    singles: 10,
};

pub const BUCKET: &str = "guard-index";

/// Local fakes for one run, and the refresher (one warm environment, kept across refreshes).
pub struct World {
    pub ecr: FakeEcr,
    pub estate: FakeEstate,
    /// repository, tag, digest, media type of each image pushed.
    pub pushes: Vec<(String, String, String, &'static str)>,
    refresher: Option<Discovery<AwsDiscovery>>,
}

impl World {
    pub async fn start(latency: Duration) -> World {
        let ecr = FakeEcr::start(FLEET, latency).await;
        let pushes = ecr.tagged();
        let images = pushes.iter().map(|(r, t, _, _)| image_uri(r, t)).collect();
        let estate = FakeEstate::start(spec(images), latency, true).await;
        World {
            ecr,
            estate,
            pushes,
            refresher: None,
        }
    }

    pub fn scope() -> RegistryId {
        RegistryId::new(Some(ACCOUNT), Some(REGION))
    }

    fn discovery_config() -> DiscoveryConfig {
        DiscoveryConfig {
            services: vec![Service::Ecs, Service::Lambda],
            ..DiscoveryConfig::default()
        }
    }

    async fn index(&self) -> Arc<S3Index> {
        let config = sdk_config(&self.estate.endpoint).await;
        let objects = S3Objects::new(&config, BUCKET, TrustRoots::Bundled).unwrap();
        Arc::new(S3Index::new(Arc::new(objects)))
    }

    async fn aws_discovery(&self, share: u8) -> AwsDiscovery {
        let config = sdk_config(&self.estate.endpoint).await;
        let accounts = Arc::new(Accounts::new(config, Some(ACCOUNT.into()), None));
        AwsDiscovery::new(accounts, &[Service::Ecs, Service::Lambda]).with_quota_share(share)
    }

    /// One guard environment: `indexed` reads the consumer index; `share` paces its listing
    /// (0: unpaced, the SDK's standard retry — as before the index).
    pub async fn guard(&self, indexed: bool, share: u8) -> Guard<Ecr, NoNotify, AwsDiscovery> {
        let settings = Settings {
            actions: Actions::default(),
            discovery: Self::discovery_config(),
            ..Settings::default()
        };
        let ecr_config = sdk_config(&self.ecr.endpoint).await;
        let ecr = Ecr::new(
            aws_sdk_ecr::Client::new(&ecr_config),
            Download::new(true).unwrap(),
        );
        let guard = Guard::with_discovery(settings, ecr, NoNotify, self.aws_discovery(share).await);
        if indexed {
            guard.with_consumer_index(self.index().await)
        } else {
            guard
        }
    }

    /// A refresh by the refresher (created on the first, at `share` of the quotas): lists the
    /// estate and writes the index.
    pub async fn refresh(&mut self, share: u8) -> (RefreshReport, Duration) {
        if self.refresher.is_none() {
            let d = Discovery::new(Self::discovery_config(), self.aws_discovery(share).await)
                .with_index(self.index().await);
            self.refresher = Some(d);
        }
        let started = Instant::now();
        let refresher = self.refresher.as_ref().expect("created above");
        let report = refresher.refresh(&Self::scope()).await.unwrap();
        (report, started.elapsed())
    }
}

/// What a burst cost.
#[derive(Debug, Default)]
pub struct Burst {
    pub verdicts: usize,
    /// Verdicts whose consumers were partly unknown (a service that could not be listed).
    pub unknown: usize,
    /// Verdicts that said the consumer index was missing or stale.
    pub fell_back: usize,
    /// Calls to ECS, Lambda and S3, by action, and those throttled.
    pub calls: BTreeMap<String, usize>,
    pub throttled: BTreeMap<String, usize>,
    pub elapsed: Duration,
    pub errors: usize,
}

impl Burst {
    pub fn discovery_calls(&self) -> usize {
        self.calls.values().sum()
    }

    pub fn throttles(&self) -> usize {
        self.throttled.values().sum()
    }
}

/// Deals the world's pushes to `guards` round-robin, all environments at once, each one event
/// at a time; counts the estate's calls during the burst only.
pub async fn burst(world: &World, guards: Vec<Guard<Ecr, NoNotify, AwsDiscovery>>) -> Burst {
    world.estate.reset();
    let n = guards.len();
    let started = Instant::now();
    let jobs = guards.into_iter().enumerate().map(|(i, guard)| {
        let events: Vec<serde_json::Value> = world
            .pushes
            .iter()
            .skip(i)
            .step_by(n)
            .map(|(repo, tag, digest, media_type)| {
                push_event(
                    repo,
                    digest,
                    tag,
                    media_type,
                    "application/vnd.oci.image.config.v1+json",
                )
            })
            .collect();
        async move {
            let mut out = Vec::new();
            for e in events {
                // Boxed: the guard's future is deep, and every test crate that includes
                // tests/common would otherwise need a higher recursion limit to lay it out.
                out.push(Box::pin(guard.handle_any(e)).await);
            }
            out
        }
    });
    let answers = futures_util::future::join_all(jobs).await;
    let mut b = Burst {
        elapsed: started.elapsed(),
        calls: world.estate.calls(),
        throttled: world.estate.throttled(),
        ..Burst::default()
    };
    for answer in answers.into_iter().flatten() {
        match answer {
            Ok(Answer::Push(v)) => {
                b.verdicts += 1;
                b.unknown += usize::from(v.warnings.iter().any(|w| is_unknown_service(w)));
                b.fell_back += usize::from(v.warnings.iter().any(|w| w.contains("consumer index")));
            }
            _ => b.errors += 1,
        }
    }
    b
}
