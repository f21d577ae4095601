//! The Lambda function: EventBridge "ECR Image Action" events in, verdicts out.
//!
//! Init reads the settings and builds the AWS clients once; each invocation is
//! `Guard::handle`. A failed event (alert not sent, transient ECR error) fails the invocation
//! so Lambda retries it and, after the retries, sends it to the dead-letter queue.

#![recursion_limit = "256"]

use std::sync::Arc;

use ecr_arch_guard::aws::accounts::Accounts;
use ecr_arch_guard::aws::discovery::AwsDiscovery;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::routing::RoutedEcr;
use ecr_arch_guard::aws::sns::Sns;
use ecr_arch_guard::event::EcrEvent;
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::settings::Settings;
use ecr_arch_guard::Error;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecr_arch_guard::logging::init();
    let settings = Settings::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let config = ecr_arch_guard::aws::config_loader().load().await;
    let download = Download::new(settings.allow_http_downloads)?;
    // Each event's repository is read in its own account (the member role in organisation
    // mode) and region; clients are built on first use.
    let accounts = Arc::new(Accounts::new(
        config.clone(),
        settings.home_account.clone(),
        settings.member_role.clone(),
    ));
    let ecr = RoutedEcr::new(accounts.clone(), download);
    let topic = settings.alert_topic_arn.clone().unwrap_or_default();
    let sns = Sns::new(aws_sdk_sns::Client::new(&config), topic);
    // Clients only for the services discovery is enabled for; none when it is off.
    let discovery = AwsDiscovery::new(accounts, &settings.discovery.services);
    let guard = Guard::with_discovery(settings, ecr, sns, discovery);
    let guard = &guard;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EcrEvent>| async move {
        guard.handle(&event.payload).await.map_err(diagnostic)
    }))
    .await
}

fn diagnostic(e: Error) -> Diagnostic {
    Diagnostic {
        error_type: if e.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        }
        .to_string(),
        error_message: e.to_string(),
    }
}
