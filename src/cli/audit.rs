//! `ecr-arch-guard scan` over several accounts and regions: `--organization` (every active
//! account, through AWS Organizations) or `--accounts`, times `--regions`. Each account and
//! region is scanned as a single one is (its own rate quotas, so up to [`TARGETS_AT_ONCE`] at
//! once), through the audit role in every account but the caller's; one that cannot be read is
//! an `error` row, never left out.

use clap::Args;
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar};

use super::progress::Bar;
use crate::aws::accounts::MemberRole;
use crate::aws::audit::{Audit, DEFAULT_AUDIT_ROLE};
use crate::aws::preflight::explain;
use crate::aws::wiring::Connection;
use crate::handler::settings::Settings;
use crate::image::RegistryId;
use crate::scan::{self, Report, RowVerdict, ScanOptions};
use crate::util::error::Error;

/// How many accounts and regions are scanned at once (each has its own ECR quotas).
const TARGETS_AT_ONCE: usize = 4;

#[derive(Clone, Debug, Default, Args)]
pub struct TargetArgs {
    /// Scan every active account of your AWS Organization (organizations:ListAccounts, from
    /// the management account or a delegated administrator).
    #[arg(long, conflicts_with_all = ["accounts", "registry_id"])]
    pub organization: bool,
    /// Scan these accounts (comma-separated 12-digit ids).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ACCOUNTS",
        conflicts_with = "registry_id"
    )]
    pub accounts: Vec<String>,
    /// Scan these regions (comma-separated) [default: your configured region].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "REGIONS",
        conflicts_with = "registry_id"
    )]
    pub regions: Vec<String>,
    /// The audit role assumed in every account but your own (deploy/member.yaml's
    /// AuditRoleName).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_AUDIT_ROLE)]
    pub role_name: String,
    /// The external id the audit role's trust policy requires (member.yaml's ExternalId).
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
}

impl TargetArgs {
    /// Whether more than the caller's own account and region is asked for.
    pub fn is_audit(&self) -> bool {
        self.organization || !self.accounts.is_empty() || !self.regions.is_empty()
    }
}

/// Scans every asked account and region; `opts.registry` is set per target.
pub async fn scan_targets(
    args: &TargetArgs,
    settings: Settings,
    connection: &Connection,
    opts: &ScanOptions,
    terminal: bool,
) -> Result<Report, Error> {
    for a in &args.accounts {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Usage(format!(
                "--accounts {a:?}: an account id is 12 digits"
            )));
        }
    }
    let role = MemberRole {
        name: args.role_name.clone(),
        external_id: args.external_id.clone(),
    };
    let audit = Audit::connect(settings, connection, role).await?;
    let accounts = if args.organization {
        let org = audit.organization_accounts().await?;
        if !org.inactive.is_empty() {
            eprintln!(
                "left out {} suspended or closing account(s): {}",
                org.inactive.len(),
                org.inactive.join(", ")
            );
        }
        org.active
    } else if args.accounts.is_empty() {
        vec![audit.home.clone()]
    } else {
        distinct(&args.accounts)
    };
    let regions = if args.regions.is_empty() {
        vec![audit
            .region()
            .ok_or_else(|| Error::Usage("no AWS region: pass --regions or --region".into()))?]
    } else {
        distinct(&args.regions)
    };
    let multi = terminal.then(MultiProgress::new);
    let targets = accounts
        .iter()
        .flat_map(|a| regions.iter().map(move |r| (a.clone(), r.clone())));
    let audit = &audit;
    let multi = &multi;
    let done: Vec<(String, String, Result<Report, Error>)> =
        futures_util::stream::iter(targets.map(|(account, region)| async move {
            let bar = Bar::new(multi.as_ref().map(|m| m.add(ProgressBar::new(0))));
            bar.prefix(&format!("{account} {region}"));
            let opts = ScanOptions {
                registry: RegistryId::new(Some(&account), Some(&region)),
                ..opts.clone()
            };
            let result = match audit.guard(&account, &region).await {
                Ok(guard) => scan::scan(guard.registry(), &guard, &opts, &bar).await,
                Err(e) => Err(e),
            };
            bar.finish(&match &result {
                Ok(r) => format!(
                    "{} images, {} mismatch, {} error",
                    r.rows.len(),
                    r.count(RowVerdict::Mismatch),
                    r.count(RowVerdict::Error)
                ),
                Err(e) => format!("cannot be read: {e}"),
            });
            (account, region, result)
        }))
        .buffer_unordered(TARGETS_AT_ONCE)
        .collect()
        .await;
    let mut report = Report::default();
    for (account, region, result) in done {
        match result {
            Ok(r) => report.add(&account, &region, r),
            Err(e @ Error::AccountUnreadable { .. }) => report.unreadable(&account, &region, &e),
            // A misspelt or disabled region, denied listing: one line naming the fix.
            Err(e) => {
                let why = Error::Permanent(explain(&e, Some(&region)));
                report.unreadable(&account, &region, &why)
            }
        }
    }
    report.sort();
    Ok(report)
}

/// Each value once, sorted (an account or region named twice is scanned once).
fn distinct(values: &[String]) -> Vec<String> {
    let mut out = values.to_vec();
    out.sort();
    out.dedup();
    out
}
