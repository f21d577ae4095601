//! The organisation audit on moto: `ecr-arch-guard scan --organization --regions …` lists the
//! organisation's accounts (Organizations ListAccounts), reads the caller's own account with
//! its own credentials and every other one through the audit role (STS AssumeRole: moto maps
//! the assumed credentials to the role's account, so each account's repositories really are
//! separate), in every region asked; a row per image names its account and region, and an
//! account whose role cannot be assumed is an `error` row per region (exit 2), never skipped.
//!
//! What moto does not do: evaluate trust policies. The refusal is answered by the gap filler
//! with the error STS returns (`GapFiller::deny_account`). The calls made are checked against
//! what deploy/member.yaml's audit role and deploy/audit.yaml grant.

mod common;

use std::process::Output;

use common::images::{AMD_CONFIG, AMD_MANIFEST, ARM_CONFIG, ARM_MANIFEST};
use common::local_aws::*;
use ecr_arch_guard::aws::{AUDIT_CALLER_IAM_ACTIONS, AUDIT_IAM_ACTIONS};
use serde_json::Value;

struct World {
    gap: GapFiller,
    _moto: Moto,
    config: aws_config::SdkConfig,
}

impl World {
    /// The account `account` in `region`, as its own pipeline would act (an assumed role).
    async fn ecr_as(&self, account: &str, region: &str) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&acting_as(&self.config, account, region).await)
    }

    async fn push(&self, ecr: &aws_sdk_ecr::Client, repo: &str, manifest: &str, config: &str) {
        create_repository(ecr, repo).await;
        push_image(ecr, &self.gap, repo, manifest, config, Some("latest")).await;
    }

    fn cli(&self, args: &[&str]) -> Output {
        local_cli(env!("CARGO_BIN_EXE_ecr-arch-guard"), &self.gap.endpoint)
            .args(args)
            .output()
            .unwrap()
    }
}

async fn create_account(org: &aws_sdk_organizations::Client, name: &str) -> String {
    let out = org
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .unwrap();
    out.create_account_status()
        .and_then(|s| s.account_id())
        .unwrap()
        .to_string()
}

fn rows(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `(account, region, repository, verdict)` of each row.
fn summary(rows: &[Value]) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("account"), s("region"), s("repository"), s("verdict"))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_scan_reads_every_account_and_region_and_says_what_it_could_not() {
    let LocalAws { moto, gap, config } = LocalAws::start().await;
    let w = World {
        gap,
        _moto: moto,
        config,
    };
    let org = aws_sdk_organizations::Client::new(&w.config);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let a = create_account(&org, "team-a").await;
    let b = create_account(&org, "team-b").await;

    // The caller's own account: an amd64 image in us-east-1.
    let own = aws_sdk_ecr::Client::new(&w.config);
    w.push(&own, "platform/base", AMD_MANIFEST, AMD_CONFIG)
        .await;
    // Team A: the Mac accident in us-east-1, a good image in eu-west-1.
    w.push(
        &w.ecr_as(&a, "us-east-1").await,
        "web",
        ARM_MANIFEST,
        ARM_CONFIG,
    )
    .await;
    w.push(
        &w.ecr_as(&a, "eu-west-1").await,
        "web-eu",
        AMD_MANIFEST,
        AMD_CONFIG,
    )
    .await;
    // Team B has images, but its audit role refuses the caller.
    w.push(
        &w.ecr_as(&b, "us-east-1").await,
        "billing",
        AMD_MANIFEST,
        AMD_CONFIG,
    )
    .await;
    w.gap.deny_account(&b);
    w.gap.take_calls();

    let o = w.cli(&[
        "scan",
        "--organization",
        "--regions",
        "us-east-1,eu-west-1",
        "--format",
        "jsonl",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rows = rows(&o);
    let s = |a: &str, r: &str, repo: &str, v: &str| {
        (
            a.to_string(),
            r.to_string(),
            repo.to_string(),
            v.to_string(),
        )
    };
    assert_eq!(
        summary(&rows),
        {
            let mut expected = vec![
                s(ACCOUNT, "us-east-1", "platform/base", "fits"),
                s(&a, "eu-west-1", "web-eu", "fits"),
                s(&a, "us-east-1", "web", "mismatch"),
                s(&b, "eu-west-1", "", "error"),
                s(&b, "us-east-1", "", "error"),
            ];
            expected.sort();
            expected
        },
        "{rows:#?}"
    );
    let refused = rows.iter().find(|r| r["account"] == b.as_str()).unwrap();
    let reason = refused["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("cannot read account {b}")) && reason.contains("AccessDenied"),
        "{reason}"
    );
    assert_eq!(rows[0]["verdict"], "mismatch", "mismatches first");

    // Only what the audit templates grant, and the accounts listed once.
    let calls = w.gap.take_calls();
    let mut granted: Vec<&str> = AUDIT_IAM_ACTIONS.to_vec();
    granted.extend(AUDIT_CALLER_IAM_ACTIONS);
    granted.extend(["sts:GetCallerIdentity", "GET blob"]);
    assert_only_granted(&calls, &granted);
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "organizations:ListAccounts")
            .count(),
        1
    );

    // Named accounts and one region; the CSV says where each image is.
    let o = w.cli(&[
        "scan",
        "--accounts",
        &a,
        "--regions",
        "eu-west-1",
        "--format",
        "csv",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let csv = String::from_utf8_lossy(&o.stdout);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("account,region,repository,"));
    assert!(lines
        .next()
        .unwrap()
        .starts_with(&format!("{a},eu-west-1,web-eu,latest,")));
    assert_eq!(lines.next(), None);

    // Discovery needs reads the audit role does not grant: refused, not half done.
    let o = w.cli(&["scan", "--organization", "--discover", "ecs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--discover"));

    // A malformed account id is a usage error before any call.
    let o = w.cli(&["scan", "--accounts", "12345"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("an account id is 12 digits"));
}
