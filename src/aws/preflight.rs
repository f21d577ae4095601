//! Before the CLI's first AWS call: what a user can act on, as one line naming the fix, instead
//! of a chain of retried "dispatch failure"s — a named profile that does not exist, no region,
//! no credentials, expired credentials.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

use crate::util::error::Error;

/// Checks the profile (`--profile`, else `AWS_PROFILE`), the region and the credentials of
/// `config` (the credentials are loaded once here; the SDK caches them for the calls after).
pub async fn check(profile: Option<&str>, config: &SdkConfig) -> Result<(), Error> {
    let named = profile
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    if let Some(name) = named {
        let set = aws_config::profile::load(
            &Fs::real(),
            &Env::real(),
            &EnvConfigFiles::default(),
            Some(Cow::Owned(name.clone())),
        )
        .await
        .map_err(|e| Error::Usage(format!("cannot read the AWS config files: {e}")))?;
        if set.get_profile(&name).is_none() {
            return Err(Error::Usage(format!(
                "AWS profile {name:?} is not in ~/.aws/config or ~/.aws/credentials: create it \
                 (aws configure --profile {name}, or aws configure sso --profile {name}) or pass \
                 another --profile"
            )));
        }
    }
    if config.region().is_none() {
        return Err(Error::Usage(
            "no AWS region: pass --region, set AWS_REGION, or set a region in your profile".into(),
        ));
    }
    let Some(provider) = config.credentials_provider() else {
        return Err(no_credentials(""));
    };
    match provider.provide_credentials().await {
        Ok(c) if c.expiry().is_some_and(|t| t <= SystemTime::now()) => Err(expired("")),
        Ok(_) => Ok(()),
        Err(e) => Err(credentials_error(&e)),
    }
}

/// The one-line error for a credentials failure.
pub fn credentials_error(e: &CredentialsError) -> Error {
    let chain = error_chain(e);
    let lower = chain.to_ascii_lowercase();
    if lower.contains("expired") {
        expired(&chain)
    } else {
        no_credentials(&chain)
    }
}

fn no_credentials(detail: &str) -> Error {
    Error::Usage(format!(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, or \
         run aws sso login{}",
        if detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", first_line(detail))
        }
    ))
}

fn expired(detail: &str) -> Error {
    Error::Usage(format!(
        "the AWS credentials have expired: run aws sso login (or refresh them){}",
        if detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", first_line(detail))
        }
    ))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The one-line form of an error the CLI got from its first calls: an endpoint that cannot be
/// reached (a misspelt region, a region the account has not enabled) or a region where the
/// credentials are not valid; other errors as they are.
pub fn explain(e: &Error, region: Option<&str>) -> String {
    let text = e.to_string();
    let region = region.unwrap_or("the configured region");
    if text.contains("dns error") || text.contains("failed to lookup address") {
        return format!(
            "cannot reach AWS in {region} (the endpoint's name does not resolve): check the \
             region name and your network"
        );
    }
    if text.contains("UnrecognizedClientException") || text.contains("InvalidClientTokenId") {
        return format!(
            "the credentials are not valid in {region}: enable the region for the account (an \
             opt-in region), or use credentials of an account where it is enabled"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_become_one_line_naming_the_fix() {
        let e = Error::Transient(
            "ecr:DescribeImages: dispatch failure: io: dns error: failed to lookup address".into(),
        );
        let line = explain(&e, Some("eu-nowhere-1"));
        assert!(
            line.starts_with("cannot reach AWS in eu-nowhere-1"),
            "{line}"
        );
        let e = Error::Permanent(
            "ecr:DescribeImages: UnrecognizedClientException: The security token included in the \
             request is invalid"
                .into(),
        );
        assert!(explain(&e, Some("ap-east-1")).contains("enable the region"));
        let e = Error::Usage("x".into());
        assert_eq!(explain(&e, None), "x");
        let c = CredentialsError::not_loaded("no credentials in the chain");
        assert!(credentials_error(&c)
            .to_string()
            .starts_with("no AWS credentials:"));
        let c = CredentialsError::provider_error("the SSO token has expired");
        assert!(credentials_error(&c)
            .to_string()
            .starts_with("the AWS credentials have expired"));
    }
}
