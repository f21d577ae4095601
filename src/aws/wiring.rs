//! The guard wired to AWS, in one place: the Lambda's (which `bootstrap` runs and
//! `ecr-arch-guard event` reproduces) and the CLI's (`check`, `scan`, which judge and never act).

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};

use super::accounts::Accounts;
use super::discovery::AwsDiscovery;
use super::download::Download;
use super::ecr::Ecr;
use super::routing::RoutedEcr;
use super::sns::Sns;
use crate::error::Error;
use crate::handler::Guard;
use crate::ports::NoNotify;
use crate::settings::Settings;

/// The Lambda's guard: each event's repository read in its own account (the member role in
/// organisation mode) and region, alerts on the SNS topic, discovery per account and region.
pub type LambdaGuard = Guard<RoutedEcr, Sns, AwsDiscovery>;

/// The CLI's guard: one account and region, no action ever taken.
pub type CliGuard = Guard<Ecr, NoNotify, AwsDiscovery>;

/// Which AWS configuration to use: the SDK's default chain (environment, profiles, SSO,
/// `AWS_ENDPOINT_URL`, the Lambda's own credentials), optionally a named profile and region.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Adaptive retry (the CLI's long scans slow down on throttling instead of failing); the
    /// Lambda keeps the SDK's standard retry.
    pub adaptive_retry: bool,
}

impl Connection {
    /// The SDK configuration.
    pub async fn config(&self) -> SdkConfig {
        let mut loader = super::config_loader();
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
}

/// The guard the Lambda runs, from its settings. Clients for discovery are built only for
/// the enabled services, on first use per account and region.
pub async fn lambda_guard(
    settings: Settings,
    connection: &Connection,
) -> Result<LambdaGuard, Error> {
    let config = connection.config().await;
    let download = Download::new(settings.allow_http_downloads)?;
    let accounts = Arc::new(Accounts::new(
        config.clone(),
        settings.home_account.clone(),
        settings.member_role.clone(),
    ));
    let ecr = RoutedEcr::new(accounts.clone(), download);
    let topic = settings.alert_topic_arn.clone().unwrap_or_default();
    let sns = Sns::new(aws_sdk_sns::Client::new(&config), topic);
    let discovery = AwsDiscovery::new(accounts, &settings.discovery.services);
    Ok(Guard::with_discovery(settings, ecr, sns, discovery))
}

/// The guard the CLI judges with (its registry is also the catalog `check` and `scan` list
/// images from).
pub async fn cli_guard(settings: Settings, connection: &Connection) -> Result<CliGuard, Error> {
    let config = connection.config().await;
    let ecr = Ecr::new(
        aws_sdk_ecr::Client::new(&config),
        Download::new(settings.allow_http_downloads)?,
    );
    let accounts = Arc::new(Accounts::new(config, None, None));
    let discovery = AwsDiscovery::new(accounts, &settings.discovery.services);
    Ok(Guard::with_discovery(settings, ecr, NoNotify, discovery))
}
