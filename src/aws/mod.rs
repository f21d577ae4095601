//! Stage 10 — AWS adapters: the only code that imports `aws-sdk-*`. Each implements a port of the
//! core; may import every stage below (`util` … `scan`).
//!
//! - [`ecr`]: [`crate::image::ports::Registry`] over BatchGetImage, GetDownloadUrlForLayer,
//!   ListTagsForResource and PutImage.
//! - [`download`]: the one HTTPS GET of a config blob from its presigned URL.
//! - [`sns`]: [`crate::act::message::Notify`] over SNS Publish.
//! - [`discovery`]: [`crate::consumers::discovery::Discover`] over [`ecs`], [`apprunner`], [`lambda`] and
//!   [`batch`], one module per service.
//! - [`accounts`], [`routing`]: the organisation: credentials and region per event, a
//!   [`crate::image::ports::Registry`] that reads each repository with the right client.

pub mod accounts;
pub mod apprunner;
pub mod assume_role;
#[cfg(feature = "cli")]
pub mod audit;
pub mod batch;
pub mod clients;
pub mod consumer;
pub mod control_plane;
pub mod discovery;
pub mod download;
pub mod ecr;
pub mod ecr_catalog;
pub mod ecs;
pub mod ecs_deployments;
pub mod ecs_placement;
pub mod environment;
pub mod index_s3;
pub mod lambda;
pub mod lazy_http;
pub mod paced_http;
pub mod preflight;
pub mod proposed;
pub mod quotas;
#[cfg(feature = "cli")]
pub mod replay;
pub mod routing;
pub mod s3_claims;
pub mod s3_objects;
pub mod s3_signing;
pub mod sns;
pub mod timeouts;
pub mod trust;
pub mod wiring;

use crate::consumers::discovery::Service;

use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use crate::util::error::Error;

/// The HTTPS client every AWS SDK client uses: rustls with ring, the same TLS stack as the blob
/// download (the SDK's default would add aws-lc, about 1.5 MB more binary), trusting `roots`;
/// built on the first request ([`lazy_http`]).
pub fn http_client(roots: trust::TrustRoots) -> aws_sdk_ecr::config::SharedHttpClient {
    aws_sdk_ecr::config::SharedHttpClient::new(lazy_http::LazyHttpClient::new(move || {
        http_client_now(roots)
    }))
}

/// [`http_client`], built now.
fn http_client_now(roots: trust::TrustRoots) -> aws_sdk_ecr::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext};
    let context = TlsContext::builder()
        .with_trust_store(trust::sdk_trust_store(roots))
        .build()
        .expect("a trust store is a valid TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// The standard AWS configuration chain (environment, profiles, SSO, IMDS, container
/// credentials, `AWS_ENDPOINT_URL`) with [`http_client`] trusting `roots`.
pub fn config_loader(roots: trust::TrustRoots) -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client(roots))
        .timeout_config(timeouts::config())
}

/// The ECR and SNS API actions the guard calls. The SAM template must grant exactly these
/// (checked by a test).
pub const IAM_ACTIONS: [&str; 5] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:ListTagsForResource",
    "ecr:PutImage",
    "sns:Publish",
];

/// What Lambda itself does with the guard's role (not the code): write the function's logs to
/// its own log group, and send a failed asynchronous event to its dead-letter queue. The
/// template grants exactly these on exactly those (no AWSLambdaBasicExecutionRole).
pub const LAMBDA_SERVICE_IAM_ACTIONS: [&str; 3] = [
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
];

/// What the guard's role may add in central (organisation) mode: assuming the member role.
pub const ORGANISATION_IAM_ACTIONS: [&str; 1] = ["sts:AssumeRole"];

/// What the member role grants the central guard: the image reads (plus `ecr:PutImage` only
/// with tagging, plus discovery's reads per service), never `sns:Publish` (alerts go out from
/// the central account).
pub const MEMBER_IAM_ACTIONS: [&str; 3] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:ListTagsForResource",
];

/// What the audit role (deploy/member.yaml, `AuditPrincipalArn`) grants `ecr-arch-guard scan
/// --organization` in each member account: listing and reading images, never writing.
pub const AUDIT_IAM_ACTIONS: [&str; 5] = [
    "ecr:DescribeRepositories",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:ListTagsForResource",
];

/// What the principal running the organisation audit needs itself (deploy/audit.yaml): the
/// accounts (Organizations ListAccounts), the audit role in each, and the same reads in its
/// own account. (GetCallerIdentity needs no permission.)
pub const AUDIT_CALLER_IAM_ACTIONS: [&str; 2] = ["organizations:ListAccounts", "sts:AssumeRole"];

/// The read-only actions discovery calls, per service. The SAM template grants each service's
/// list only when discovery of that service is enabled (checked by a test).
pub fn discovery_iam_actions(service: Service) -> &'static [&'static str] {
    match service {
        Service::Ecs => &[
            "ecs:ListClusters",
            "ecs:ListServices",
            "ecs:DescribeServices",
            "ecs:ListTaskDefinitions",
            "ecs:DescribeTaskDefinition",
            "ecs:ListAttributes",
        ],
        Service::AppRunner => &["apprunner:ListServices", "apprunner:DescribeService"],
        Service::Lambda => &["lambda:ListFunctions", "lambda:GetFunction"],
        Service::Batch => &[
            "batch:DescribeJobDefinitions",
            "batch:DescribeComputeEnvironments",
        ],
    }
}

/// The read-only actions the deployment gates call ([`consumer`], [`proposed`]) beyond the base
/// ECR reads: the template grants them only when a gate is on (`DeployGate` not off, or
/// `EcsDeploymentHook`; checked by a test), in its own account and region.
pub const GATE_IAM_ACTIONS: [&str; 6] = [
    "ecs:DescribeTaskDefinition",
    "ecs:ListClusters",
    "ecs:ListAttributes",
    "ecs:DescribeServiceRevisions",
    "ecs:DescribeExpressGatewayService",
    "batch:DescribeComputeEnvironments",
];

/// The read-only actions reading one changed consumer calls ([`consumer`]): granted only with
/// the template's `ConsumerChanges` (checked by a test). The images are read with the base
/// ECR actions (BatchGetImage by tag for a tag reference).
pub const CONSUMER_CHANGE_IAM_ACTIONS: [&str; 9] = [
    "ecs:DescribeTaskDefinition",
    "ecs:DescribeServices",
    "ecs:DescribeExpressGatewayService",
    "ecs:ListClusters",
    "ecs:ListAttributes",
    "lambda:GetFunction",
    "apprunner:DescribeService",
    "batch:DescribeJobDefinitions",
    "batch:DescribeComputeEnvironments",
];

/// How many describe calls one service's listing runs at once (a burst small enough to stay
/// under every service's default rate limit; the SDK's standard retry backs off on throttling).
pub const DISCOVERY_CONCURRENCY: usize = 4;

/// Error codes that mean "try again later" (throttling is [`THROTTLING_CODES`], checked first).
const TRANSIENT_CODES: [&str; 5] = [
    "ServerException",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
];

/// Error codes that mean "slow down": the throttling codes of the services the guard and the CLI
/// call, each one the AWS SDK's retry classifier also counts as throttling
/// (`aws_runtime::retries::classifiers::THROTTLING_ERRORS`, checked by a test), plus
/// `KMSThrottling`, the code SNS Publish answers when the topic's KMS key is throttled (aws-sdk-sns
/// deserialises it as `KmsThrottlingException`). The SDK's other codes (e.g. ECR's
/// `LimitExceededException`, a service limit, not a rate) stay permanent here.
const THROTTLING_CODES: [&str; 5] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "KMSThrottling",
];

/// Error codes that mean "it is not there (any more)".
const NOT_FOUND_CODES: [&str; 6] = [
    "ImageNotFoundException",
    "RepositoryNotFoundException",
    "LayersNotFoundException",
    "LayerInaccessibleException",
    "NotFound",
    "ResourceNotFoundException",
];

/// Maps an SDK error to the core's error kinds: transient (retry), not found, or permanent.
///
/// A modelled error code decides first. Without one (a proxy's HTML page, an empty body, a code
/// this list does not know), the HTTP status does: 5xx and 429 are transient, as AWS's own SDK
/// retry classifiers treat them.
pub(crate) fn map_sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let transient_status = status.is_some_and(|s| s >= 500 || s == 429);
    let throttled = |code: &str| THROTTLING_CODES.contains(&code) || status == Some(429);
    match &err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown");
            let text = match se.err().message() {
                Some(message) => format!("{operation}: {code}: {message}"),
                // No metadata (a modelled error built in code, or a body that is no AWS error
                // document): its Display names it.
                None => format!(
                    "{operation}: {}{}",
                    status.map(|s| format!("HTTP {s}: ")).unwrap_or_default(),
                    error_chain(se.err())
                ),
            };
            if NOT_FOUND_CODES.contains(&code) {
                Error::NotFound(text)
            } else if throttled(code) {
                Error::Throttled(text)
            } else if TRANSIENT_CODES.contains(&code) || transient_status {
                Error::Transient(text)
            } else {
                Error::Permanent(text)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Error::Transient(format!("{operation}: {}", error_chain(&err)))
        }
        _ => {
            let text = format!("{operation}: {}", error_chain(&err));
            if status == Some(429) {
                Error::Throttled(text)
            } else if transient_status {
                Error::Transient(text)
            } else {
                Error::Permanent(text)
            }
        }
    }
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2026-11-25T10:00:00Z`), as the AWS SDK
/// parses them.
pub fn epoch_seconds(rfc3339: &str) -> Option<i64> {
    use aws_sdk_ecr::primitives::{DateTime, DateTimeFormat};
    DateTime::from_str(rfc3339, DateTimeFormat::DateTime)
        .ok()
        .map(|d| d.secs())
}

/// An error and its sources, `: `-separated (no request, so never a presigned URL).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_the_sdks_own_plus_kms() {
        use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
        for code in THROTTLING_CODES {
            assert!(
                THROTTLING_ERRORS.contains(&code) || code == "KMSThrottling",
                "{code} is not a throttling code for the AWS SDK"
            );
        }
    }

    /// The CLI's configuration (the SDK's default chain) bounds every call as the Lambda's
    /// does (`aws::timeouts`): a hung answer ends in an error, not a wait without end.
    #[tokio::test]
    async fn the_clis_configuration_bounds_every_call() {
        let c = config_loader(trust::TrustRoots::Bundled)
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .load()
            .await;
        let t = c.timeout_config().unwrap();
        assert_eq!(t.connect_timeout(), Some(timeouts::CONNECT));
        assert_eq!(t.operation_attempt_timeout(), Some(timeouts::ATTEMPT));
        assert_eq!(t.operation_timeout(), Some(timeouts::OPERATION));
    }
}
