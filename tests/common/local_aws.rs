//! Local AWS for end-to-end runs, no account needed, started by one call ([`LocalAws::start`]):
//!
//! - [`Moto`](super::moto::Moto): `moto_server` on a free loopback port (`moto.rs`);
//! - [`GapFiller`]: the proxy in front of it that fills moto's GetDownloadUrlForLayer gap and
//!   records every call (`gap_filler.rs`);
//! - an `SdkConfig` pointed at the proxy.
//!
//! Beside it: push helpers and ECR's events (`push.rs`), the services around the guard
//! (`services.rs`), and the real `bootstrap` under AWS's own Runtime Interface Emulator
//! (`lambda_rie.rs`). Tests import all of it through `local_aws::*`.
// Each test binary and example uses its own subset of the re-exports.
#![allow(unused_imports)]

pub use super::gap_filler::{assert_only_granted, GapFiller};
pub use super::moto::Moto;
pub use super::push::*;
pub use super::services::*;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// moto, the gap filler in front of it, and an SDK config pointed at the gap filler. Dropping
/// it stops moto.
pub struct LocalAws {
    pub gap: GapFiller,
    pub config: aws_config::SdkConfig,
    // Last: dropped after the proxy that forwards to it.
    pub moto: Moto,
}

impl LocalAws {
    pub async fn start() -> LocalAws {
        let moto = Moto::start();
        let gap = GapFiller::start(&moto);
        let config = sdk_config(&gap.endpoint).await;
        LocalAws { gap, config, moto }
    }

    /// The endpoint every client (and the bootstrap's `AWS_ENDPOINT_URL`) talks to.
    pub fn endpoint(&self) -> &str {
        &self.gap.endpoint
    }
}

/// SDK clients pointed at the local endpoint.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    ecr_arch_guard::aws::config_loader(Default::default())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "testing", "testing", None, None, "local",
        ))
        .load()
        .await
}

/// `config` acting as `account` in `region`: its `pusher` role assumed through STS, as that
/// account's own pipeline would push (moto's STS lets any role be assumed).
pub async fn acting_as(
    config: &aws_config::SdkConfig,
    account: &str,
    region: &str,
) -> aws_config::SdkConfig {
    let provider =
        aws_config::sts::AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/pusher"))
            .session_name("pusher")
            .configure(config)
            .build()
            .await;
    config
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// The CLI binary `bin` (a test's `env!("CARGO_BIN_EXE_ecr-arch-guard")`) run as a user would
/// against the local endpoint: a clean environment with test credentials, the region, plain
/// http downloads allowed (the gap filler serves blobs on loopback) and no colour. Add
/// arguments and further variables to the returned command.
pub fn local_cli(bin: &str, endpoint: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("ALLOW_HTTP_DOWNLOADS", "true")
        .env("NO_COLOR", "1");
    cmd
}
