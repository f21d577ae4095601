//! The organisation audit's AWS side (`ecr-arch-guard scan --organization` or `--accounts`):
//! the caller's own account (STS GetCallerIdentity), the organisation's active accounts
//! (Organizations ListAccounts, from the management account or a delegated administrator),
//! and a CLI guard per account and region — the caller's own account read with its own
//! credentials, every other one through the audit role `deploy/member.yaml` creates
//! (`AuditPrincipalArn`, `AuditRoleName`).

use std::sync::Arc;

use aws_config::SdkConfig;

use super::accounts::{Accounts, MemberRole};
use super::map_sdk_error;
use super::wiring::{self, CliGuard, Connection};
use crate::handler::settings::Settings;
use crate::util::error::Error;

/// The name `deploy/member.yaml` gives the audit role unless told otherwise.
pub const DEFAULT_AUDIT_ROLE: &str = "ecr-arch-guard-audit";

/// Where an organisation audit reads from.
pub struct Audit {
    settings: Settings,
    connection: Connection,
    base: SdkConfig,
    accounts: Arc<Accounts>,
    /// The caller's own account (read with the caller's credentials).
    pub home: String,
}

/// The organisation's accounts, as ListAccounts returns them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationAccounts {
    /// Active accounts, sorted.
    pub active: Vec<String>,
    /// Accounts that cannot be read (suspended, being closed), left out.
    pub inactive: Vec<String>,
}

impl Audit {
    /// Checks the caller's credentials (one-line errors, see [`super::preflight`]) and finds its
    /// account.
    pub async fn connect(
        settings: Settings,
        connection: &Connection,
        role: MemberRole,
    ) -> Result<Audit, Error> {
        let base = connection.checked_config().await?;
        let me = aws_sdk_sts::Client::new(&base)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| map_sdk_error("sts:GetCallerIdentity", e))?;
        let home = me
            .account()
            .ok_or_else(|| Error::Malformed("GetCallerIdentity returned no account".into()))?
            .to_string();
        let accounts = Arc::new(Accounts::new(base.clone(), Some(home.clone()), Some(role)));
        Ok(Audit {
            settings,
            connection: connection.clone(),
            base,
            accounts,
            home,
        })
    }

    /// The region the caller's configuration names (`--region`, profile, environment).
    pub fn region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    /// Every account of the organisation.
    pub async fn organization_accounts(&self) -> Result<OrganizationAccounts, Error> {
        use aws_sdk_organizations::operation::list_accounts::ListAccountsError as E;
        use aws_sdk_organizations::types::AccountStatus;
        let client = aws_sdk_organizations::Client::new(&self.base);
        let mut pages = client.list_accounts().into_paginator().send();
        let mut out = OrganizationAccounts::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| match e.as_service_error() {
                Some(E::AwsOrganizationsNotInUseException(_)) => Error::Usage(
                    "this account is not in an AWS Organization: list the accounts with \
                     --accounts instead of --organization"
                        .into(),
                ),
                Some(E::AccessDeniedException(_)) => Error::Usage(format!(
                    "organizations:ListAccounts was denied for account {}: run from the \
                     management account or a delegated administrator, or list the accounts \
                     with --accounts",
                    self.home
                )),
                _ => map_sdk_error("organizations:ListAccounts", e),
            })?;
            for a in page.accounts() {
                let Some(id) = a.id() else { continue };
                #[allow(deprecated)] // `Status` still tells ACTIVE; `State` is newer.
                let active = a.status().is_none_or(|s| *s == AccountStatus::Active);
                if active {
                    out.active.push(id.to_string());
                } else {
                    out.inactive.push(id.to_string());
                }
            }
        }
        out.active.sort();
        out.inactive.sort();
        Ok(out)
    }

    /// The guard that reads `account` in `region`. A member account whose audit role cannot be
    /// assumed is [`Error::AccountUnreadable`].
    pub async fn guard(&self, account: &str, region: &str) -> Result<CliGuard, Error> {
        let config = self.accounts.config(Some(account), Some(region)).await?;
        wiring::guard_for(
            self.settings.clone(),
            &self.connection,
            &config,
            self.accounts.clone(),
        )
    }
}
