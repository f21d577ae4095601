//! Standard AWS configuration for the commands that talk to ECR: the SDK's default chain
//! (environment, profiles, SSO, `AWS_ENDPOINT_URL`), with `--region` and `--profile`.

use clap::Args;

use crate::aws::wiring::{self, CliGuard, Connection};
use crate::consumers::discovery;
use crate::handler::settings::Settings;
use crate::image::platform;
use crate::util::error::Error;

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
    /// Where to connect; `region` (from an image URI) wins over `--region`. Adaptive retry:
    /// throttling slows the client down instead of failing the scan.
    pub fn connection(&self, region: Option<&str>) -> Connection {
        Connection {
            profile: self.profile.clone(),
            region: region.map(str::to_string).or_else(|| self.region.clone()),
            adaptive_retry: true,
            ..Connection::default()
        }
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
    /// Deep check: also read what each image executes from its layers (downloaded from the top,
    /// only as far as needed, at most 64 MiB per image) and check each ELF's machine against the
    /// label; an image whose binaries disagree is `mislabelled`.
    #[arg(long)]
    pub deep: bool,
}

/// The guard the CLI judges with: the Lambda's settings from the environment (`RULES`,
/// `REQUIRED_PLATFORMS`, …), no action ever taken, every image judged (also untagged ones).
pub async fn guard(connection: &Connection, policy: &PolicyArgs) -> Result<CliGuard, Error> {
    wiring::cli_guard(settings(policy)?, connection).await
}

/// The CLI's settings: the Lambda's from the environment, never acting, every image judged.
pub fn settings(policy: &PolicyArgs) -> Result<Settings, Error> {
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
    if policy.deep {
        settings.deep.enabled = true;
    }
    Ok(settings)
}
