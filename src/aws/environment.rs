//! The Lambda's SDK configuration, read from the environment Lambda sets: its region
//! (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; AWS Lambda Developer Guide, "Defined runtime
//! environment variables"), or, where a runtime serves them over HTTP instead
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI`), the SDKs' container provider.
//!
//! Why not `aws_config::defaults(..).load()`: inside Lambda every step of the default chain
//! but the environment is a look-up that cannot succeed (profile files, SSO, web identity,
//! IMDS), and calling it links all of them into `bootstrap` (1 MB of the binary, SSO's two
//! clients included: 8.08 → 7.04 MB) and runs its providers at every cold start (0.4 ms). The
//! CLI keeps the whole chain (`aws::wiring::Connection`).
//!
//! What the environment may still say is honoured, as the SDK's loader reads it:
//! `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (unless
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), `AWS_USE_FIPS_ENDPOINT`,
//! `AWS_USE_DUALSTACK_ENDPOINT`, `AWS_MAX_ATTEMPTS`. Timeouts and retries are the SDK's
//! defaults for the latest behaviour version (3.1 s to connect, standard retry).

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_runtime::env_config::EnvConfigValue;
use aws_types::os_shim_internal::Env;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use super::trust::TrustRoots;
use crate::util::error::Error;

/// The SDK configuration the environment `env` describes, over [`super::http_client`]
/// trusting `roots`. No region or no credentials in it is an error naming the variables.
pub fn sdk_config(env: &Env, roots: TrustRoots) -> Result<SdkConfig, Error> {
    let var = |k: &str| env.get(k).ok().filter(|v| !v.trim().is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or_else(|| Error::Usage("no region: AWS_REGION is not set (Lambda sets it)".into()))?;
    let keys = var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some();
    let container = var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
        || var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some();
    let credentials = if keys {
        SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new())
    } else if container {
        // A runtime that serves the role's credentials over HTTP instead (the SDKs' container
        // credential provider), so they can be renewed in a long-lived environment.
        let provider = aws_config::provider_config::ProviderConfig::default()
            .with_http_client(super::http_client(roots));
        SharedCredentialsProvider::new(
            aws_config::ecs::EcsCredentialsProvider::builder()
                .configure(&provider)
                .build(),
        )
    } else {
        return Err(Error::Usage(
            "no credentials: neither AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY nor a \
             container credentials URI is set (Lambda sets them from the execution role; to run \
             bootstrap elsewhere, export them, e.g. with AWS CLI v2: \
             `eval \"$(aws configure export-credentials --format env)\"`)"
                .into(),
        ));
    };
    let flag = |k: &str| var(k).map(|v| v.trim().eq_ignore_ascii_case("true"));
    let mut retry = RetryConfig::standard();
    if let Some(n) = var("AWS_MAX_ATTEMPTS").and_then(|v| v.trim().parse::<u32>().ok()) {
        retry = retry.with_max_attempts(n.max(1));
    }
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .http_client(super::http_client(roots))
        .retry_config(retry)
        .timeout_config(super::timeouts::config())
        .service_config(Endpoints { env: env.clone() });
    builder.set_use_fips(flag("AWS_USE_FIPS_ENDPOINT"));
    builder.set_use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
    Ok(builder.build())
}

/// Service settings from the environment only (there are no profile files in Lambda): what
/// the clients ask for is the endpoint URL, service-specific first
/// (`AWS_ENDPOINT_URL_ECR`), then `AWS_ENDPOINT_URL`.
#[derive(Debug)]
struct Endpoints {
    env: Env,
}

impl LoadServiceConfig for Endpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let ignore = self
            .env
            .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if ignore && key.env() == "AWS_ENDPOINT_URL" {
            return None;
        }
        let (value, _) = EnvConfigValue::new()
            .env(key.env())
            .service_id(key.service_id())
            .load(&self.env, None)?;
        Some(value.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Lambda sets for a function (AWS Lambda Developer Guide, "Defined runtime
    /// environment variables": `AWS_REGION`, and `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` from the execution role). The end-to-end tests run `bootstrap` under
    /// AWS's Runtime Interface Emulator with the same variables.
    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    fn config(extra: &[(&'static str, &'static str)]) -> Result<SdkConfig, Error> {
        let vars: Vec<_> = LAMBDA.iter().chain(extra).copied().collect();
        sdk_config(&Env::from_slice(&vars), TrustRoots::Bundled)
    }

    fn endpoint(config: &SdkConfig, service: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service)
            .profile("endpoint_url")
            .env("AWS_ENDPOINT_URL")
            .build()
            .unwrap();
        config.service_config().unwrap().load_config(key)
    }

    #[tokio::test]
    async fn lambdas_environment_gives_region_credentials_and_the_sdks_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.region().unwrap().as_ref(), "eu-west-1");
        assert!(c.credentials_provider().is_some());
        assert_eq!(c.retry_config().unwrap().max_attempts(), 3);
        let t = c.timeout_config().unwrap();
        assert_eq!(t.connect_timeout(), Some(crate::aws::timeouts::CONNECT));
        // Every attempt and operation bounded (a hung answer no longer holds the invocation).
        assert_eq!(
            t.operation_attempt_timeout(),
            Some(crate::aws::timeouts::ATTEMPT)
        );
        assert_eq!(t.operation_timeout(), Some(crate::aws::timeouts::OPERATION));
        assert_eq!(c.use_fips(), None);
        assert_eq!(endpoint(&c, "ECR"), None);
    }

    /// The precedence is the SDK's own (aws-runtime's `EnvConfigValue`, which the SDK's loader
    /// uses too): `AWS_ENDPOINT_URL_<SERVICE>` before `AWS_ENDPOINT_URL`.
    #[tokio::test]
    async fn endpoint_urls_service_specific_first_unless_ignored() {
        let c = config(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:6000"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_MAX_ATTEMPTS", "5"),
        ])
        .unwrap();
        assert_eq!(
            endpoint(&c, "ECR").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            endpoint(&c, "SNS").as_deref(),
            Some("http://127.0.0.1:6000")
        );
        assert_eq!(c.use_fips(), Some(true));
        assert_eq!(c.retry_config().unwrap().max_attempts(), 5);
        let ignored = config(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ])
        .unwrap();
        assert_eq!(endpoint(&ignored, "ECR"), None);
    }

    #[tokio::test]
    async fn credentials_served_over_http_are_taken_when_no_keys_are_set() {
        let env = Env::from_slice(&[
            ("AWS_REGION", "eu-west-1"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:9/creds",
            ),
        ]);
        let c = sdk_config(&env, TrustRoots::Bundled).unwrap();
        assert!(c.credentials_provider().is_some());
    }

    #[test]
    fn no_region_or_no_credentials_is_a_clear_error() {
        let none = sdk_config(&Env::from_slice(&[]), TrustRoots::Bundled).unwrap_err();
        assert!(none.to_string().contains("AWS_REGION"), "{none}");
        let no_keys = sdk_config(
            &Env::from_slice(&[("AWS_REGION", "eu-west-1")]),
            TrustRoots::Bundled,
        )
        .unwrap_err();
        assert!(
            no_keys.to_string().contains("AWS_ACCESS_KEY_ID")
                && no_keys.to_string().contains("export-credentials"),
            "{no_keys}"
        );
    }
}
