//! Standard AWS configuration for the commands that talk to ECR: the SDK's default chain
//! (environment, profiles, SSO, `AWS_ENDPOINT_URL`), with `--region` and `--profile`.

use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};
use clap::Args;

use crate::aws::accounts::Accounts;
use crate::aws::discovery::AwsDiscovery;
use crate::aws::download::Download;
use crate::aws::ecr::Ecr;
use crate::discovery;
use crate::error::Error;
use crate::handler::Guard;
use crate::platform;
use crate::ports::NoNotify;
use crate::settings::Settings;

#[derive(Clone, Debug, Default, Args)]
pub struct AwsArgs {
    /// AWS region [default: from the environment or profile].
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile from the AWS config files.
    #[arg(long)]
    pub profile: Option<String>,
}

impl AwsArgs {
    /// The SDK configuration; `region` (from an image URI) wins over `--region`. Adaptive retry:
    /// throttling slows the client down instead of failing the scan.
    pub async fn config(&self, region: Option<&str>) -> SdkConfig {
        let mut loader =
            crate::aws::config_loader().retry_config(RetryConfig::adaptive().with_max_attempts(8));
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = region.map(str::to_string).or_else(|| self.region.clone()) {
            loader = loader.region(Region::new(r));
        }
        loader.load().await
    }
}

/// The policy flags shared by `check` and `scan`.
#[derive(Clone, Debug, Default, Args)]
pub struct PolicyArgs {
    /// Platforms the image must run on, overriding every other source (comma-separated).
    #[arg(long, value_name = "PLATFORMS")]
    pub require: Option<String>,
    /// Discover consumers: comma list of ecs, apprunner, lambda, batch, or all.
    #[arg(long, value_name = "SERVICES")]
    pub discover: Option<String>,
}

/// The guard the CLI judges with: the Lambda's settings from the environment (`RULES`,
/// `REQUIRED_PLATFORMS`, …), no action ever taken, every image judged (also untagged ones).
pub fn guard(
    config: &SdkConfig,
    policy: &PolicyArgs,
) -> Result<Guard<Ecr, NoNotify, AwsDiscovery>, Error> {
    let mut settings = Settings::read(|k| match k {
        "ACTIONS" | "DISCOVER" => None,
        _ => std::env::var(k).ok(),
    })?;
    settings.actions = Default::default();
    settings.inspect_untagged = true;
    if let Some(r) = &policy.require {
        settings.require = Some(platform::parse_list(r)?);
    }
    if let Some(d) = &policy.discover {
        settings.discovery.services = discovery::parse_services(d)?;
    }
    let ecr = ecr(config, settings.allow_http_downloads)?;
    let accounts = std::sync::Arc::new(Accounts::new(config.clone(), None, None));
    let found = AwsDiscovery::new(accounts, &settings.discovery.services);
    Ok(Guard::with_discovery(settings, ecr, NoNotify, found))
}

pub fn ecr(config: &SdkConfig, allow_http: bool) -> Result<Ecr, Error> {
    Ok(Ecr::new(
        aws_sdk_ecr::Client::new(config),
        Download::new(allow_http)?,
    ))
}
