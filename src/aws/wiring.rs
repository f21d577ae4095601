//! The guard wired to AWS, in one place: the Lambda's (which `bootstrap` runs and
//! `ecr-arch-guard event` reproduces) and the CLI's (`check`, `scan`, which judge and never act).

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};

use super::accounts::Accounts;
use super::discovery::AwsDiscovery;
use super::download::Download;
use super::ecr::Ecr;
use super::quotas;
use super::replay::Replay;
use super::routing::RoutedEcr;
use super::sns::Sns;
use super::trust::TrustRoots;
use crate::discovery::Service;
use crate::error::Error;
use crate::handler::Guard;
use crate::pace::Paced;
use crate::ports::NoNotify;
use crate::settings::Settings;

/// The Lambda's guard: each event's repository read in its own account (the member role in
/// organisation mode) and region, alerts on the SNS topic, discovery per account and region.
pub type LambdaGuard = Guard<RoutedEcr, Sns, AwsDiscovery>;

/// The CLI's guard: one account and region, read at a share of ECR's rate quotas, no action
/// ever taken.
pub type CliGuard = Guard<Paced<Ecr>, NoNotify, AwsDiscovery>;

/// How many digests, read-ahead manifests and config blobs the CLI's guard remembers (an audit
/// of 10,000 images keeps every distinct config once: a few KB each).
const CLI_CACHE_ENTRIES: usize = 16_384;

/// Which AWS configuration to use: the SDK's default chain (environment, profiles, SSO,
/// `AWS_ENDPOINT_URL`, the Lambda's own credentials), optionally a named profile and region.
#[derive(Clone, Debug)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Adaptive retry (the CLI's long scans slow down on throttling instead of failing); the
    /// Lambda keeps the SDK's standard retry.
    pub adaptive_retry: bool,
    /// Read `~/.aws/config` and `~/.aws/credentials`: a person's machine has them; a Lambda
    /// never does (its credentials and region are in the environment), so it skips the look-ups.
    pub profile_files: bool,
    pub trust_roots: TrustRoots,
    /// The share of ECR's per-account rate quotas the CLI may use, in percent (0: unpaced).
    pub quota_share: u8,
}

impl Default for Connection {
    /// The CLI's: profiles read, standard retry, compiled-in trust roots.
    fn default() -> Self {
        Connection {
            profile: None,
            region: None,
            adaptive_retry: false,
            profile_files: true,
            trust_roots: TrustRoots::default(),
            quota_share: quotas::DEFAULT_SHARE_PERCENT,
        }
    }
}

impl Connection {
    /// The Lambda's: no profile files, the trust roots the settings choose.
    pub fn lambda(settings: &Settings) -> Connection {
        Connection {
            profile_files: false,
            trust_roots: settings.trust_roots,
            ..Connection::default()
        }
    }

    /// The SDK configuration.
    pub async fn config(&self) -> SdkConfig {
        let mut loader = super::config_loader(self.trust_roots);
        if !self.profile_files {
            use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
            let none = EnvConfigFiles::builder()
                .with_contents(EnvConfigFileKind::Config, "")
                .build();
            loader = loader.profile_files(none);
            // Lambda puts the function's credentials in the environment: take them from there
            // instead of building the whole provider chain (profile, SSO, web identity,
            // container, IMDS) at every cold start.
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
                use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
                loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
            }
        }
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

/// The guard the Lambda runs, from its settings. Clients for discovery are built only for
/// the enabled services, on first use per account and region.
pub async fn lambda_guard(
    settings: Settings,
    connection: &Connection,
) -> Result<LambdaGuard, Error> {
    let started = std::time::Instant::now();
    let config = connection.config().await;
    let config_us = started.elapsed().as_micros() as u64;
    let download = Download::new(settings.allow_http_downloads)?.trusting(settings.trust_roots);
    let accounts = Arc::new(Accounts::new(
        config.clone(),
        settings.home_account.clone(),
        settings.member_role.clone(),
    ));
    let ecr = RoutedEcr::new(accounts.clone(), download);
    let topic = settings.alert_topic_arn.clone().unwrap_or_default();
    let sns = Sns::lazy(config.clone(), topic);
    let discovery = AwsDiscovery::new(accounts, &Service::ALL);
    let guard = Guard::with_discovery(settings, ecr, sns, discovery);
    tracing::info!(
        config_us,
        clients_us = started.elapsed().as_micros() as u64 - config_us,
        "guard wired"
    );
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
