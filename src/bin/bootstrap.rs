//! The Lambda function: EventBridge ECR push and replication events, and consumer changes
//! (CloudTrail API call events), in; verdicts out.
//!
//! Init reads the settings and wires the guard once (`aws::wiring`); each invocation is
//! `Guard::handle`. A failed event (alert not sent, transient ECR error) fails the invocation
//! so Lambda retries it and, after the retries, sends it to the dead-letter queue.

#![recursion_limit = "256"]

use ecr_arch_guard::aws::wiring::{self, Connection};
use ecr_arch_guard::settings::Settings;
use ecr_arch_guard::Error;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = std::time::Instant::now();
    ecr_arch_guard::logging::init();
    let settings = Settings::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let settings_us = started.elapsed().as_micros() as u64;
    let connection = Connection::lambda(&settings);
    let guard = wiring::lambda_guard(settings, &connection).await?;
    // One line per cold start: where the init went (the AWS configuration and the clients are
    // in the "guard wired" line before it).
    tracing::info!(
        settings_us,
        total_us = started.elapsed().as_micros() as u64,
        "initialised"
    );
    let guard = &guard;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            guard.handle_any(event.payload).await.map_err(diagnostic)
        },
    ))
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
