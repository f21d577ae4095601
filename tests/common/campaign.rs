//! The fault campaign (issue 32): the real `bootstrap` under AWS's Lambda Runtime Interface
//! Emulator, in two environments (and the consumer index refresher in a third), on moto behind
//! the gap filler injecting faults with a fixed seed ([`super::faults`]), driven as Lambda
//! drives an asynchronous invocation ("How Lambda handles errors and retries with asynchronous
//! invocation", Lambda Developer Guide: a function error is retried twice, one minute then two
//! minutes later; then the event goes to the dead-letter queue), some events delivered twice
//! at once to both environments as EventBridge may ("at least once").
//!
//! Waits are compressed: the retry follows at once, and the minute Lambda would have waited is
//! given to the one thing in the guard that reads the clock across invocations, the alert
//! claims' lease — each `sending` claim of the event is aged by the wait (written back directly
//! to moto's S3, outside the faults).
//!
//! Then the dead-letter queue is replayed with `ecr-arch-guard replay` (faults off, as after an
//! incident) and every outcome counted from what AWS holds: the alerts in the topic's queue,
//! the hooks' answers, the index in the bucket. Outcomes only; times are reported, never
//! asserted.
#![allow(dead_code)]
// Each test binary uses its own part of the harness.
#![allow(unused_imports)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::CpuArchitecture;
use bytes::Bytes;
use serde_json::Value;

use super::faults::Fault;

mod drive;
mod events;
mod table;

use super::grafana::{Grafana, REPO};
use super::lambda_rie::{Lambda, Outcome};
use super::local_aws::*;
use super::{event_value, images};
use drive::{age_claims, deliver, missing_changes, timed_out};
use ecr_arch_guard::aws::s3_objects::S3Objects;
use ecr_arch_guard::aws::trust::TrustRoots;
use events::plan;
pub use table::table;

pub const BUCKET: &str = "guard-state";
/// Lambda's asynchronous invocation: the first attempt and two retries.
pub const ATTEMPTS: usize = 3;
/// The waits before the two retries (compressed, see the module documentation).
const RETRY_WAITS: [u64; 2] = [60, 120];
/// The guard function's timeout (template.yaml).
pub const FUNCTION_TIMEOUT_S: u64 = 30;

/// What one event is, and what a correct outcome for it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A push of the Mac-pulled arm64-only image: must be alerted (`token` in its subject).
    MismatchPush,
    /// A push of the amd64 image: fits, no alert.
    FittingPush,
    /// A replication of the arm64-only image into this region: must be alerted.
    MismatchReplication,
    /// UpdateService of one service to an arm64-only task on X86_64: alerted, and its slot in
    /// the consumer index rewritten.
    ConsumerChange,
    /// A CloudFormation hook request, arm64-only image for an X86_64 task: FAILED is right.
    HookCfnMismatch,
    /// The same for the amd64 image: FAILED would be the fault's doing.
    HookCfnFit,
    /// An ECS lifecycle hook (PRE_SCALE_UP) for a revision on the arm64-only image: FAILED.
    HookEcsMismatch,
    /// The same for a fitting revision: FAILED would be the fault's doing.
    HookEcsFit,
    /// The consumer index refresher's schedule.
    Refresh,
}

impl Kind {
    pub fn is_mismatch(&self) -> bool {
        matches!(
            self,
            Kind::MismatchPush | Kind::MismatchReplication | Kind::ConsumerChange
        )
    }
    pub fn is_hook(&self) -> bool {
        matches!(
            self,
            Kind::HookCfnMismatch | Kind::HookCfnFit | Kind::HookEcsMismatch | Kind::HookEcsFit
        )
    }
}

/// The campaign's figures.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub per_mille: u64,
    pub events: BTreeMap<Kind, usize>,
    pub deliveries: usize,
    pub duplicated_deliveries: usize,
    pub invocations: usize,
    pub requests: usize,
    pub injected: BTreeMap<(String, Fault), usize>,
    pub retried_events: usize,
    /// Events that met an SNS outage through all their attempts (they must be dead-lettered,
    /// then alerted by the replay).
    pub outages: usize,
    pub dead_lettered: usize,
    /// Dead-lettered events `replay` judged (each deleted from the queue once answered).
    pub replayed: usize,
    pub replay_left: usize,
    pub mismatches: usize,
    /// Mismatches with no alert after the retries and the replay: must be 0.
    pub lost: Vec<String>,
    /// Mismatches alerted more than once, with the count.
    pub alerted_more_than_once: Vec<(String, usize)>,
    /// Of those, events that were delivered to both environments.
    pub duplicates_delivered_twice: usize,
    /// Alerts sent without a claim (the store failing), from the EMF lines.
    pub unclaimed_alerts: usize,
    pub hook_answers: usize,
    /// A fitting change refused (FAILED) by a hook: must be 0 (DEPLOY_GATE_UNKNOWN=pass).
    pub hooks_failed_by_fault: Vec<String>,
    /// A hook that failed its invocation (ECS and CloudFormation read that as a refusal).
    pub hook_errors: usize,
    /// Right refusals turned into "not judged" passes by faults (alerted as such).
    pub refusals_unjudged: usize,
    pub slowest_hook: Duration,
    pub hooks_past_30s: usize,
    pub slowest_invocation: Duration,
    /// Invocations the emulator ended at the function's timeout: must be 0.
    pub timed_out: usize,
    pub changes: usize,
    /// Changed services whose index slot does not show the change at the end of the campaign
    /// (before any further refresh).
    pub changes_missing_from_index: Vec<String>,
    /// The same after one refresh with no faults: must be 0.
    pub changes_missing_after_refresh: Vec<String>,
    pub wall: Duration,
    /// Every alert's subject (to say what was alerted when something was not).
    pub subjects: Vec<String>,
}

/// The campaign of `size` events at `per_mille` faulted calls, drawn from `seed`; `cli` is the
/// `ecr-arch-guard` binary (for `replay`), `bootstrap` the function's.
pub async fn run(
    size: usize,
    seed: u64,
    per_mille: u64,
    bootstrap: &std::path::Path,
    cli: &str,
) -> Report {
    let started = Instant::now();
    let local = Grafana::start().await;
    let direct = sdk_config(&format!("http://127.0.0.1:{}", local.moto.port)).await;
    let objects = S3Objects::new(&direct, BUCKET, TrustRoots::Bundled).unwrap();
    let direct_ecs = aws_sdk_ecs::Client::new(&direct);
    let created = objects
        .send("PUT", "", "", &[], Bytes::new(), "s3:CreateBucket")
        .await
        .unwrap();
    assert_eq!(created.status, 200);
    let arm_digest = sha256(&super::fixture(images::ARM_MANIFEST));
    let amd_digest = sha256(&super::fixture(images::AMD_MANIFEST));

    // Consumers: prod/bad and prod/good (the ECS hooks' revisions), one service per consumer
    // change, all X86_64 on the amd64 image to begin with.
    ecs_service(
        &local.ecs,
        "prod",
        "bad",
        &image_uri(REPO, "latest"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    ecs_service(
        &local.ecs,
        "prod",
        "good",
        &image_uri(REPO, "amd"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    let bad_revision = local.gap.record_service_revision("prod", "bad");
    let good_revision = local.gap.record_service_revision("prod", "good");
    let plan = plan(size, seed);
    let changes = plan.iter().filter(|k| **k == Kind::ConsumerChange).count();
    let mut change_tds = Vec::new();
    for k in 0..changes {
        let svc = format!("svc-{k:03}");
        ecs_service(
            &local.ecs,
            "prod",
            &svc,
            &image_uri(REPO, "amd"),
            Some(CpuArchitecture::X8664),
        )
        .await;
        let td = local
            .task_definition(&format!("{svc}-next"), "latest", CpuArchitecture::X8664)
            .await;
        change_tds.push((svc, td));
    }

    let guard_env = [
        ("ALERT_TOPIC_ARN", local.topic.as_str()),
        ("ALERT_CLAIMS_BUCKET", BUCKET),
        ("DISCOVER", "ecs"),
        ("CONSUMER_INDEX_BUCKET", BUCKET),
        ("HOME_ACCOUNT_ID", ACCOUNT),
        ("AWS_LAMBDA_FUNCTION_TIMEOUT", "30"),
        // Replicated images judged (and alerted) where they arrive, as pushes are.
        ("REPLICATION", "judge"),
    ];
    let mut envs = [
        Lambda::start_bin(bootstrap, &local.gap.endpoint, &guard_env),
        Lambda::start_bin(bootstrap, &local.gap.endpoint, &guard_env),
    ];
    let mut refresher = Lambda::start_bin(
        bootstrap,
        &local.gap.endpoint,
        &[
            ("ACTIONS", "none"),
            ("DISCOVER", "ecs"),
            ("CONSUMER_INDEX_BUCKET", BUCKET),
            ("CONSUMER_INDEX_REFRESH_SECONDS", "540"),
            ("HOME_ACCOUNT_ID", ACCOUNT),
            ("AWS_LAMBDA_FUNCTION_TIMEOUT", "600"),
        ],
    );
    // A first refresh before the faults: the index exists, as it does a while after deploying.
    let _ = refresher.invoke(&event_value("scheduled-refresh.json"));

    let events = events::build(
        &plan,
        seed,
        &arm_digest,
        &amd_digest,
        &change_tds,
        &bad_revision,
        &good_revision,
    );

    let mut report = Report {
        seed,
        per_mille,
        changes,
        ..Report::default()
    };
    for e in &events {
        *report.events.entry(e.kind.clone()).or_default() += 1;
    }
    local.gap.faults().enable(seed, per_mille);
    let mut dead_letters: Vec<Value> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.kind == Kind::Refresh {
            // The refresher is not retried (its schedule runs again in 5 minutes).
            report.invocations += 1;
            report.deliveries += 1;
            let _ = refresher.invoke(&e.payload);
            continue;
        }
        if e.kind == Kind::ConsumerChange {
            // The change itself happens first (CloudTrail reports it after the fact), directly
            // on moto, outside the faults.
            let req = &e.payload["detail"]["requestParameters"];
            direct_ecs
                .update_service()
                .cluster("prod")
                .service(req["service"].as_str().unwrap_or_default())
                .task_definition(req["taskDefinition"].as_str().unwrap_or_default())
                .send()
                .await
                .expect("UpdateService");
        }
        if e.outage {
            // Every Publish of its attempts: 3 invocations × the SDK's 3 attempts.
            for _ in 0..ATTEMPTS * 3 {
                local.gap.faults().script("sns:Publish", Fault::Unavailable);
            }
        }
        let deliveries: Vec<usize> = if e.twice { vec![0, 1] } else { vec![i % 2] };
        report.deliveries += deliveries.len();
        if e.twice {
            report.duplicated_deliveries += 1;
        }
        // Each delivery is its own asynchronous invocation, retried on its own.
        let results: Vec<(bool, Vec<(Outcome, Duration)>)> = std::thread::scope(|s| {
            let handles: Vec<_> = envs
                .iter_mut()
                .enumerate()
                .filter(|(n, _)| deliveries.contains(n))
                .map(|(_, lambda)| {
                    let payload = &e.payload;
                    let hook = e.kind.is_hook();
                    let objects = &objects;
                    let runtime = tokio::runtime::Handle::current();
                    // Before a retry: the wait Lambda would have made, given to the claims.
                    let wait = move |n: usize| runtime.block_on(age_claims(objects, payload, n));
                    s.spawn(move || deliver(lambda, payload, hook, &wait))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut dead = false;
        for (gave_up, attempts) in &results {
            report.invocations += attempts.len();
            if attempts.len() > 1 {
                report.retried_events += 1;
            }
            for (o, took) in attempts {
                report.slowest_invocation = report.slowest_invocation.max(*took);
                if let Outcome::Error(err) = o {
                    if timed_out(err) {
                        report.timed_out += 1;
                    }
                }
            }
            dead |= *gave_up;

            if e.kind.is_hook() {
                let (o, took) = attempts.last().unwrap();
                report.hook_answers += 1;
                report.slowest_hook = report.slowest_hook.max(*took);
                if *took > Duration::from_secs(30) {
                    report.hooks_past_30s += 1;
                }
                match o {
                    Outcome::Error(_) => report.hook_errors += 1,
                    Outcome::Response(v) => {
                        let status = v["hookStatus"].as_str().unwrap_or("");
                        let fit = matches!(e.kind, Kind::HookCfnFit | Kind::HookEcsFit);
                        if fit && status == "FAILED" {
                            report.hooks_failed_by_fault.push(e.token.clone());
                        }
                        if !fit && status != "FAILED" {
                            report.refusals_unjudged += 1;
                        }
                    }
                }
            }
        }
        if e.outage {
            report.outages += 1;
            local.gap.faults().clear_script();
        }
        if dead {
            report.dead_lettered += 1;
            dead_letters.push(e.payload.clone());
        }
    }
    local.gap.faults().disable();
    report.injected = local.gap.faults().injected();
    report.requests = local.gap.faults().requests();

    // The index as the campaign left it, then after one refresh without faults.
    report.changes_missing_from_index = missing_changes(&objects, &change_tds).await;

    // Replay the dead-letter queue (the CLI, as an operator would, faults off).
    if !dead_letters.is_empty() {
        (report.replayed, report.replay_left) =
            drive::replay(&direct, cli, &local.gap.endpoint, &envs[0], &dead_letters).await;
    }
    let _ = refresher.invoke(&event_value("scheduled-refresh.json"));
    report.changes_missing_after_refresh = missing_changes(&objects, &change_tds).await;

    drive::count_alerts(&direct, &local.alerts, &events, &mut report).await;
    for lambda in envs.iter() {
        report.unclaimed_alerts += lambda
            .logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["AlertClaimFailures"].as_f64())
            .sum::<f64>() as usize;
    }
    drop((envs, refresher));
    report.wall = started.elapsed();
    report
}
