//! [`crate::consumers::discovery::Discover`] over the AWS APIs: clients for the enabled services only, per
//! account and region (the member role's credentials in organisation mode), each service's
//! listing in its own module ([`super::ecs`], [`super::apprunner`], [`super::lambda`],
//! [`super::batch`]).
//!
//! Every call is paced under a share of the documented control-plane quotas of its account and
//! region ([`super::paced_http`]) and retried in the SDK's adaptive mode (which also slows
//! down after a throttling answer). What never changes is not read twice by a warm
//! environment: a task definition revision (immutable), and a function's image while its
//! `LastModified` and `CodeSha256` stay the same.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use tokio::sync::Mutex;

use super::accounts::Accounts;
use super::clients::Clients;
use super::control_plane::Buckets;
use super::paced_http::PacedHttpClient;
use super::{apprunner, batch, ecs, lambda};
use crate::consumers::consumer::Consumer;
use crate::consumers::discovery::{Discover, Service};
use crate::consumers::service_deployment::ServiceDeployment;
use crate::consumers::target::Target;
use crate::image::RegistryId;
use crate::util::cache::Cache;
use crate::util::error::Error;

#[derive(Debug)]
enum Source {
    /// Built per account and region from the accounts' configurations.
    Accounts(Arc<Accounts>, Vec<Service>),
    /// The same clients for every scope (tests).
    Fixed(Clients),
}

/// Attempts per call in the adaptive retry mode.
const ADAPTIVE_ATTEMPTS: u32 = 5;

/// How many task definitions and function images a warm environment remembers.
const LISTING_CACHE_ENTRIES: usize = 4_096;

/// What a listing reads once per warm environment.
pub struct ListingCaches {
    /// Task definitions by ARN (with revision: immutable).
    pub task_definitions: Cache<String, aws_sdk_ecs::types::TaskDefinition>,
    /// Image URIs by function ARN, `LastModified` and `CodeSha256`.
    pub function_images: Cache<String, String>,
}

impl Default for ListingCaches {
    fn default() -> Self {
        ListingCaches {
            task_definitions: Cache::new(LISTING_CACHE_ENTRIES),
            function_images: Cache::new(LISTING_CACHE_ENTRIES),
        }
    }
}

impl std::fmt::Debug for ListingCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListingCaches")
            .field("task_definitions", &self.task_definitions.len())
            .field("function_images", &self.function_images.len())
            .finish()
    }
}

#[derive(Debug)]
pub struct AwsDiscovery {
    source: Source,
    clients: Mutex<HashMap<RegistryId, Clients>>,
    /// Percent of the control-plane quotas the calls may use (0: unpaced).
    quota_share: u8,
    caches: ListingCaches,
}

impl AwsDiscovery {
    /// Clients are built on first use per account and region, only for `services` (a consumer
    /// change may name any service: its wiring passes them all).
    pub fn new(accounts: Arc<Accounts>, services: &[Service]) -> Self {
        AwsDiscovery {
            source: Source::Accounts(accounts, services.to_vec()),
            clients: Mutex::default(),
            quota_share: Buckets::DEFAULT_SHARE_PERCENT,
            caches: ListingCaches::default(),
        }
    }

    /// Paces the calls at `percent` of the control-plane quotas (0: unpaced).
    pub fn with_quota_share(mut self, percent: u8) -> Self {
        self.quota_share = percent;
        self
    }

    /// `config` paced by the scope's own buckets, with adaptive retry; at a share of 0, as it
    /// is (unpaced, the configuration's own retry).
    fn paced(&self, config: SdkConfig) -> SdkConfig {
        let Some(http) = config.http_client().filter(|_| self.quota_share > 0) else {
            return config;
        };
        let buckets = Arc::new(Buckets::at_share(self.quota_share));
        config
            .to_builder()
            .retry_config(RetryConfig::adaptive().with_max_attempts(ADAPTIVE_ATTEMPTS))
            .http_client(PacedHttpClient::shared(http, buckets))
            .build()
    }

    /// From explicit clients, used for every scope (tests).
    pub fn from_clients(
        ecs: Option<aws_sdk_ecs::Client>,
        apprunner: Option<aws_sdk_apprunner::Client>,
        lambda: Option<aws_sdk_lambda::Client>,
        batch: Option<aws_sdk_batch::Client>,
    ) -> Self {
        AwsDiscovery {
            source: Source::Fixed(Clients {
                ecs,
                apprunner,
                lambda,
                batch,
            }),
            clients: Mutex::default(),
            quota_share: 0,
            caches: ListingCaches::default(),
        }
    }

    async fn clients(&self, scope: &RegistryId) -> Result<Clients, Error> {
        let (accounts, services) = match &self.source {
            Source::Fixed(c) => return Ok(c.clone()),
            Source::Accounts(a, s) => (a, s),
        };
        if let Some(c) = self.clients.lock().await.get(scope) {
            return Ok(c.clone());
        }
        let config = accounts
            .config(scope.account.as_deref(), scope.region.as_deref())
            .await?;
        let clients = Clients::new(&self.paced(config), services);
        self.clients
            .lock()
            .await
            .insert(scope.clone(), clients.clone());
        Ok(clients)
    }
}

fn disabled(service: Service) -> Error {
    Error::Usage(format!("discovery of {service} is not enabled"))
}

impl Discover for AwsDiscovery {
    async fn consumers(
        &self,
        scope: &RegistryId,
        service: Service,
    ) -> Result<Vec<Consumer>, Error> {
        let c = self.clients(scope).await?;
        match service {
            Service::Ecs => {
                let client = c.ecs.as_ref().ok_or(disabled(service))?;
                ecs::consumers(client, &self.caches.task_definitions).await
            }
            Service::AppRunner => {
                apprunner::consumers(c.apprunner.as_ref().ok_or(disabled(service))?).await
            }
            Service::Lambda => {
                let client = c.lambda.as_ref().ok_or(disabled(service))?;
                lambda::consumers(client, &self.caches.function_images).await
            }
            Service::Batch => batch::consumers(c.batch.as_ref().ok_or(disabled(service))?).await,
        }
    }

    async fn consumer(&self, scope: &RegistryId, target: &Target) -> Result<Vec<Consumer>, Error> {
        let c = self.clients(scope).await?;
        super::consumer::read(&c, target).await
    }

    async fn ongoing_deployment(
        &self,
        scope: &RegistryId,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceDeployment>, Error> {
        let c = self.clients(scope).await?;
        let client = c.ecs.as_ref().ok_or(disabled(Service::Ecs))?;
        super::ecs_deployments::ongoing(client, cluster, service).await
    }

    async fn roll_back(&self, scope: &RegistryId, arn: &str) -> Result<(), Error> {
        let c = self.clients(scope).await?;
        let client = c.ecs.as_ref().ok_or(disabled(Service::Ecs))?;
        super::ecs_deployments::roll_back(client, arn).await
    }
}
