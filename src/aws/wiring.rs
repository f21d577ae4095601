//! The guard wired to AWS, in one place: the Lambda's (which `bootstrap` runs and
//! `ecr-arch-guard event` reproduces) and the CLI's (`check`, `scan`, which judge and never act).

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};

use super::accounts::Accounts;
use super::discovery::AwsDiscovery;
use super::download::Download;
use super::ecr::Ecr;
use super::index_s3::S3Index;
use super::quotas;
#[cfg(feature = "cli")]
use super::replay::Replay;
use super::routing::RoutedEcr;
use super::s3_claims::S3Claims;
use super::s3_objects::S3Objects;
use super::sns::Sns;
use super::trust::TrustRoots;
use crate::act::alert_claim::ClaimStore;
use crate::act::message::NoNotify;
use crate::consumers::discovery::Service;
use crate::consumers::index_store::IndexStore;
use crate::handler::settings::Settings;
use crate::handler::Guard;
use crate::scan::pace::Paced;
use crate::util::error::Error;

/// The Lambda's guard: each event's repository read in its own account (the member role in
/// organisation mode) and region, alerts on the SNS topic, discovery per account and region.
pub type LambdaGuard = Guard<RoutedEcr, Sns, AwsDiscovery>;

/// The CLI's guard: one account and region, read at a share of ECR's rate quotas, no action
/// ever taken.
pub type CliGuard = Guard<Paced<Ecr>, NoNotify, AwsDiscovery>;

/// How many digests, read-ahead manifests and config blobs the CLI's guard remembers (an audit
/// of 10,000 images keeps every distinct config once: a few KB each).
const CLI_CACHE_ENTRIES: usize = 16_384;

/// Which AWS configuration the CLI uses: the SDK's default chain (environment, profiles, SSO,
/// `AWS_ENDPOINT_URL`), optionally a named profile and region. (The Lambda reads only its
/// environment: [`super::environment`].)
#[derive(Clone, Debug)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Adaptive retry (the CLI's long scans slow down on throttling instead of failing).
    pub adaptive_retry: bool,
    pub trust_roots: TrustRoots,
    /// The share of ECR's per-account rate quotas the CLI may use, in percent (0: unpaced).
    pub quota_share: u8,
}

impl Default for Connection {
    /// Standard retry, compiled-in trust roots, the default share of the quotas.
    fn default() -> Self {
        Connection {
            profile: None,
            region: None,
            adaptive_retry: false,
            trust_roots: TrustRoots::default(),
            quota_share: quotas::DEFAULT_SHARE_PERCENT,
        }
    }
}

impl Connection {
    /// The SDK configuration.
    pub async fn config(&self) -> SdkConfig {
        let mut loader = super::config_loader(self.trust_roots);
        if self.adaptive_retry {
            loader = loader.retry_config(RetryConfig::adaptive().with_max_attempts(8));
        }
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &self.region {
            loader = loader.region(Region::new(r.clone()));
        }
        loader.load().await
    }

    /// The CLI's SDK configuration, once what a user can act on is checked (a missing
    /// profile, no region, no or expired credentials: one line naming the fix).
    pub async fn checked_config(&self) -> Result<SdkConfig, Error> {
        let config = self.config().await;
        super::preflight::check(self.profile.as_deref(), &config).await?;
        Ok(config)
    }
}

/// The guard `bootstrap` runs: its settings, and the SDK configuration from the environment
/// Lambda sets ([`super::environment`]). Logs where the init went.
pub fn lambda(settings: Settings) -> Result<LambdaGuard, Error> {
    let started = std::time::Instant::now();
    let env = aws_types::os_shim_internal::Env::real();
    let config = super::environment::sdk_config(&env, settings.trust_roots)?;
    let config_us = started.elapsed().as_micros() as u64;
    let guard = lambda_guard(settings, config)?;
    tracing::info!(
        config_us,
        clients_us = started.elapsed().as_micros() as u64 - config_us,
        "guard wired"
    );
    Ok(guard)
}

/// The Lambda's guard over `config`: each event's repository read in its own account (the
/// member role in organisation mode) and region. Clients for discovery are built only for the
/// enabled services, on first use per account and region; the SNS client on the first alert.
/// `ecr-arch-guard event` runs it with the CLI's configuration.
pub fn lambda_guard(settings: Settings, config: SdkConfig) -> Result<LambdaGuard, Error> {
    let download = Download::new(settings.allow_http_downloads)?.trusting(settings.trust_roots);
    let accounts = Arc::new(Accounts::new(
        config.clone(),
        settings.home_account.clone(),
        settings.member_role.clone(),
    ));
    let ecr = RoutedEcr::new(accounts.clone(), download);
    let topic = settings.alert_topic_arn.clone().unwrap_or_default();
    let config_for_index = config.clone();
    let sns = Sns::lazy(config, topic);
    let discovery =
        AwsDiscovery::new(accounts, &Service::ALL).with_quota_share(settings.discovery.quota_share);
    // The guard's own credentials: the bucket is in its account, also in organisation mode.
    let mut buckets: Vec<(String, Arc<S3Objects>)> = Vec::new();
    let mut objects = |bucket: &str| -> Result<Arc<S3Objects>, Error> {
        if let Some((_, o)) = buckets.iter().find(|(b, _)| b == bucket) {
            return Ok(o.clone());
        }
        let o = Arc::new(S3Objects::new(
            &config_for_index,
            bucket,
            settings.trust_roots,
        )?);
        buckets.push((bucket.to_string(), o.clone()));
        Ok(o)
    };
    let index = match settings.discovery.index_bucket.as_deref() {
        Some(bucket) => Some(Arc::new(S3Index::new(objects(bucket)?)) as Arc<dyn IndexStore>),
        None => None,
    };
    let claims = match settings.alert_claims_bucket.as_deref() {
        Some(bucket) => Some(Arc::new(S3Claims::new(objects(bucket)?)) as Arc<dyn ClaimStore>),
        None => None,
    };
    let mut guard = Guard::with_discovery(settings, ecr, sns, discovery);
    if let Some(store) = index {
        guard = guard.with_consumer_index(store);
    }
    if let Some(store) = claims {
        guard = guard.with_alert_claims(store);
    }
    Ok(guard)
}

/// The guard the CLI judges with (its registry is also the catalog `check` and `scan` list
/// images from).
pub async fn cli_guard(settings: Settings, connection: &Connection) -> Result<CliGuard, Error> {
    let config = connection.checked_config().await?;
    let accounts = Arc::new(Accounts::new(config.clone(), None, None));
    guard_for(settings, connection, &config, accounts)
}

/// The CLI's guard over one account and region's configuration.
pub(crate) fn guard_for(
    settings: Settings,
    connection: &Connection,
    config: &SdkConfig,
    accounts: Arc<Accounts>,
) -> Result<CliGuard, Error> {
    let ecr = Ecr::new(
        aws_sdk_ecr::Client::new(config),
        Download::new(settings.allow_http_downloads)?.trusting(settings.trust_roots),
    );
    let ecr = Paced::new(ecr, quotas::rates(connection.quota_share));
    let discovery = AwsDiscovery::new(accounts, &Service::ALL);
    Ok(Guard::with_discovery(settings, ecr, NoNotify, discovery)
        .with_cache_entries(CLI_CACHE_ENTRIES))
}

/// The dead-letter queue and the function, for `ecr-arch-guard replay`.
#[cfg(feature = "cli")]
pub async fn replay(
    connection: &Connection,
    queue_url: &str,
    function: &str,
) -> Result<Replay, Error> {
    let config = connection.checked_config().await?;
    Ok(Replay {
        sqs: aws_sdk_sqs::Client::new(&config),
        lambda: aws_sdk_lambda::Client::new(&config),
        queue_url: queue_url.to_string(),
        function: function.to_string(),
    })
}
