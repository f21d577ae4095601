//! A role's credentials straight from STS AssumeRole, for the member role (organisation mode)
//! and the audit role (`scan --organization`). [`super::accounts::Refreshing`] keeps them until
//! shortly before they expire.
//!
//! Not `aws_config::sts::AssumeRoleProvider`: its builder can fall back to the SDK's whole
//! default configuration chain, which would link that chain (profiles, SSO) into `bootstrap`
//! (see `aws::environment`). The call is the same: AssumeRole with the base configuration's
//! credentials, in its region.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, future, ProvideCredentials};
use aws_credential_types::Credentials;

/// The session name CloudTrail shows for the guard's reads in other accounts.
pub const SESSION_NAME: &str = "ecr-arch-guard";

/// Credentials of `role_arn`, assumed with the base configuration's own.
#[derive(Debug, Clone)]
pub struct AssumeRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    external_id: Option<String>,
}

impl AssumeRole {
    pub fn new(base: &SdkConfig, role_arn: &str, external_id: Option<&str>) -> AssumeRole {
        AssumeRole {
            sts: aws_sdk_sts::Client::new(base),
            role_arn: role_arn.to_string(),
            external_id: external_id.map(str::to_string),
        }
    }

    async fn assume(&self) -> provider::Result {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(self.external_id.clone())
            .send()
            .await
            .map_err(CredentialsError::provider_error)?;
        let c = out
            .credentials
            .ok_or_else(|| CredentialsError::unhandled("AssumeRole returned no credentials"))?;
        let expiry = SystemTime::try_from(c.expiration).ok();
        Ok(Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expiry,
            "AssumeRole",
        ))
    }
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}
