//! How long one AWS call may take, for every SDK client the guard and the CLI build, and the
//! guard's own S3 calls. Without these the SDK clients had a connect timeout only: a hung ECR,
//! SNS or S3 answer held the invocation until Lambda ended it at the function's timeout (then
//! retried, and each retry could hang the same way).
//!
//! The numbers fit the guard function's 30 s timeout (template.yaml): an attempt is given
//! [`ATTEMPT`]; an operation, its retries and their back-off included, [`OPERATION`]; a push
//! makes its calls one after another, and the handler's own deadline (the invocation's, less
//! [`MARGIN`]: `lambda/src/main.rs`) fails the invocation cleanly — retried, then
//! dead-lettered — before Lambda would end it. The deployment gates answer within their own
//! deadline (`DEPLOY_GATE_DEADLINE_SECONDS`, 20 s), inside these.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

/// Connecting (the SDK loader's default, aws-config's `SDK_DEFAULT_CONNECT_TIMEOUT`).
pub const CONNECT: Duration = Duration::from_millis(3100);

/// One attempt of one call, answer read in full. ECR, ECS, Lambda, SNS and S3 answer the
/// guard's small requests in well under a second; 5 s is a hung or very slow answer.
pub const ATTEMPT: Duration = Duration::from_secs(5);

/// One operation: its attempts (3 with the standard retry) and the back-off between them.
pub const OPERATION: Duration = Duration::from_secs(12);

/// What the handler keeps back from the invocation's deadline to fail it cleanly (log, metrics,
/// the runtime's error call) rather than be ended by Lambda.
pub const MARGIN: Duration = Duration::from_secs(2);

/// The SDK clients' time limits.
pub fn config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT)
        .operation_attempt_timeout(ATTEMPT)
        .operation_timeout(OPERATION)
        .build()
}

const _: () = assert!(
    ATTEMPT.as_secs() * 2 < OPERATION.as_secs(),
    "an operation has room for a retry"
);
