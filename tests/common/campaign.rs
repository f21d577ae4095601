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

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::CpuArchitecture;
use bytes::Bytes;
use serde_json::{json, Value};

use super::faults::Fault;
use super::grafana::{Grafana, REPO};
use super::lambda_rie::{Lambda, Outcome};
use super::local_aws::*;
use super::{event_value, images};
use ecr_arch_guard::aws::s3_objects::{xml_values, S3Objects};
use ecr_arch_guard::aws::trust::TrustRoots;

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

struct Event {
    kind: Kind,
    /// What names it in its alert's subject.
    token: String,
    payload: Value,
    /// Delivered to both environments at once.
    twice: bool,
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
    pub dead_lettered: usize,
    /// Dead-lettered events `replay` judged (each deleted from the queue once answered).
    pub replayed: usize,
    pub replay_left: usize,
    pub mismatches: usize,
    /// Mismatches with no alert after the retries and the replay: must be 0.
    pub lost: Vec<String>,
    /// Mismatches alerted more than once, with the count.
    pub alerted_more_than_once: Vec<(String, usize)>,
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

    // The events, in the plan's order.
    let mut events = Vec::new();
    let mut rng = seed.max(1) ^ 0xA5A5_A5A5;
    let mut change_k = 0;
    for (i, kind) in plan.iter().enumerate() {
        let id = format!("camp-{seed}-{i}");
        let twice = !kind.is_hook() && *kind != Kind::Refresh && draw(&mut rng) % 100 < 5;
        let (token, mut payload) = match kind {
            Kind::MismatchPush => {
                let tag = format!("cmp-m-{i:05}");
                (
                    tag.clone(),
                    push_event(REPO, &arm_digest, &tag, OCI_MANIFEST, OCI_CONFIG),
                )
            }
            Kind::FittingPush => {
                let tag = format!("cmp-f-{i:05}");
                (
                    tag.clone(),
                    push_event(REPO, &amd_digest, &tag, OCI_MANIFEST, OCI_CONFIG),
                )
            }
            Kind::MismatchReplication => {
                let tag = format!("cmp-r-{i:05}");
                (
                    tag.clone(),
                    replication_event(REPO, &arm_digest, &tag, "eu-west-1"),
                )
            }
            Kind::ConsumerChange => {
                let (svc, td) = change_tds[change_k].clone();
                change_k += 1;
                (svc.clone(), update_service_event(&svc, &td))
            }
            Kind::HookCfnMismatch | Kind::HookCfnFit => {
                let tag = if *kind == Kind::HookCfnFit {
                    "amd"
                } else {
                    "latest"
                };
                let text = event_value("hook-cfn-create-task-definition.json")
                    .to_string()
                    .replace(&image_uri(REPO, "latest"), &image_uri(REPO, tag));
                let mut p: Value = serde_json::from_str(&text).unwrap();
                p["clientRequestToken"] = id.clone().into();
                (id.clone(), p)
            }
            Kind::HookEcsMismatch | Kind::HookEcsFit => {
                let revision = if *kind == Kind::HookEcsFit {
                    &good_revision
                } else {
                    &bad_revision
                };
                (id.clone(), ecs_hook(revision, &id))
            }
            Kind::Refresh => (id.clone(), event_value("scheduled-refresh.json")),
        };
        if payload.get("detail-type").is_some() {
            payload["id"] = id.clone().into();
        }
        events.push(Event {
            kind: kind.clone(),
            token,
            payload,
            twice,
        });
    }

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
        let sqs = aws_sdk_sqs::Client::new(&direct);
        let dlq = sqs
            .create_queue()
            .queue_name("guard-dlq")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        for body in &dead_letters {
            sqs.send_message()
                .queue_url(&dlq)
                .message_body(body.to_string())
                .send()
                .await
                .unwrap();
        }
        let out = local_cli(cli, &local.gap.endpoint)
            .env("AWS_ENDPOINT_URL_LAMBDA", envs[0].invoke_endpoint())
            .args([
                "replay",
                "--queue-url",
                dlq.as_str(),
                "--function",
                "function",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // "N replayed, M kept in the queue"
        let count = |word: &str| {
            text.lines()
                .rev()
                .find_map(|l| {
                    l.split(", ").find_map(|part| {
                        let (n, rest) = part.trim().split_once(' ')?;
                        rest.starts_with(word)
                            .then(|| n.parse::<usize>().ok())
                            .flatten()
                    })
                })
                .unwrap_or(0)
        };
        report.replayed = count("replayed");
        report.replay_left = count("kept");
    }
    let _ = refresher.invoke(&event_value("scheduled-refresh.json"));
    report.changes_missing_after_refresh = missing_changes(&objects, &change_tds).await;

    // Alerts, from the topic's queue.
    let mut alerts = Vec::new();
    loop {
        let batch = queued_alerts(&direct, &local.alerts).await;
        if batch.is_empty() {
            break;
        }
        alerts.extend(batch);
    }
    let subjects: Vec<String> = alerts
        .iter()
        .map(|a| a["Subject"].as_str().unwrap_or_default().to_string())
        .collect();
    report.subjects = subjects.clone();
    for e in events.iter().filter(|e| e.kind.is_mismatch()) {
        report.mismatches += 1;
        let n = subjects
            .iter()
            .filter(|s| {
                if e.kind == Kind::ConsumerChange {
                    s.contains(&format!("ECS service prod/{}", e.token))
                } else {
                    s.contains(&format!("{REPO}:{}", e.token))
                }
            })
            .count();
        match n {
            0 => report.lost.push(e.token.clone()),
            1 => {}
            n => report.alerted_more_than_once.push((e.token.clone(), n)),
        }
    }
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

/// One delivery as Lambda's asynchronous invocation makes it: up to [`ATTEMPTS`] attempts while
/// the function fails; `true` when it gave up (the event goes to the dead-letter queue). A hook
/// is invoked synchronously by ECS or CloudFormation: one attempt, its answer.
fn deliver(
    lambda: &mut Lambda,
    payload: &Value,
    hook: bool,
    wait: &dyn Fn(usize),
) -> (bool, Vec<(Outcome, Duration)>) {
    let mut attempts = Vec::new();
    let tries = if hook { 1 } else { ATTEMPTS };
    for n in 0..tries {
        if n > 0 {
            wait(n - 1);
        }
        let t = Instant::now();
        let o = lambda.invoke(payload);
        let failed = matches!(o, Outcome::Error(_));
        attempts.push((o, t.elapsed()));
        if !failed {
            return (false, attempts);
        }
    }
    (!hook, attempts)
}

/// The emulator's answer for an invocation it ended at the function's timeout.
fn timed_out(err: &Value) -> bool {
    let text = err.to_string();
    text.contains("Timedout") || text.contains("Task timed out")
}

/// The mix of events, shuffled by `seed`: 35 % mismatching pushes, 15 % fitting pushes, 10 %
/// replications, 10 % consumer changes, 12 % CloudFormation hooks, 12 % ECS hooks (half of
/// each fitting), 6 % scheduled refreshes.
fn plan(size: usize, seed: u64) -> Vec<Kind> {
    let share = |p: usize| (size * p).div_ceil(100);
    let mut kinds = Vec::new();
    for (kind, n) in [
        (Kind::MismatchPush, share(35)),
        (Kind::FittingPush, share(15)),
        (Kind::MismatchReplication, share(10)),
        (Kind::ConsumerChange, share(10)),
        (Kind::HookCfnMismatch, share(6)),
        (Kind::HookCfnFit, share(6)),
        (Kind::HookEcsMismatch, share(6)),
        (Kind::HookEcsFit, share(6)),
        (Kind::Refresh, share(6)),
    ] {
        kinds.extend(std::iter::repeat_n(kind, n));
    }
    kinds.truncate(size);
    let mut rng = seed.max(1);
    for i in (1..kinds.len()).rev() {
        let j = (draw(&mut rng) % (i as u64 + 1)) as usize;
        kinds.swap(i, j);
    }
    kinds
}

fn draw(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// CloudTrail's UpdateService (events/change-ecs-update-service-arm64.json) of prod/`svc` to
/// the task definition `td`.
fn update_service_event(svc: &str, td: &str) -> Value {
    let mut e = event_value("change-ecs-update-service-arm64.json");
    let service_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/{svc}");
    e["detail"]["requestParameters"] = json!({
        "cluster": "prod", "service": svc, "taskDefinition": td, "forceNewDeployment": false
    });
    let s = &mut e["detail"]["responseElements"]["service"];
    s["serviceArn"] = service_arn.into();
    s["serviceName"] = svc.into();
    s["clusterArn"] = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod").into();
    s["taskDefinition"] = td.into();
    e
}

/// The ECS guide's PRE_SCALE_UP payload for `revision`.
fn ecs_hook(revision: &str, execution: &str) -> Value {
    let mut p = event_value("hook-ecs-pre-scale-up.json");
    let service = revision
        .replacen(":service-revision/", ":service/", 1)
        .rsplit_once('/')
        .unwrap()
        .0
        .to_string();
    p["executionId"] = execution.into();
    p["resourceArn"] = service
        .replacen(":service/", ":service-deployment/", 1)
        .into();
    p["executionDetails"]["serviceArn"] = service.into();
    p["executionDetails"]["targetServiceRevisionArn"] = revision.into();
    p
}

/// Ages every `sending` claim of `event`'s alerts by the wait before Lambda's `retry`-th retry (moto's S3,
/// directly: the harness's own write, outside the faults).
async fn age_claims(objects: &S3Objects, event: &Value, retry: usize) {
    let Some(id) = event["id"].as_str() else {
        return;
    };
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let query = format!("list-type=2&prefix=alerts%2F{safe}%2F");
    let Ok(list) = objects
        .send("GET", "", &query, &[], Bytes::new(), "s3:ListBucket")
        .await
    else {
        return;
    };
    for key in xml_values(&list.body, "Key") {
        let Ok(got) = objects.get_object(&key, None).await else {
            continue;
        };
        let Ok(mut record) = serde_json::from_slice::<Value>(&got.body) else {
            continue;
        };
        if record["state"] != "sending" {
            continue;
        }
        let at = record["at"].as_u64().unwrap_or(0);
        record["at"] = at.saturating_sub(RETRY_WAITS[retry.min(1)]).into();
        let _ = objects
            .send(
                "PUT",
                &key,
                "",
                &[("content-type", "application/json")],
                Bytes::from(record.to_string()),
                "s3:PutObject",
            )
            .await;
    }
}

/// The changed services whose slot in the index does not show their new task definition.
async fn missing_changes(objects: &S3Objects, changes: &[(String, String)]) -> Vec<String> {
    let key = format!("consumers/{ACCOUNT}/{REGION}.json.gz");
    let Ok(got) = objects.get_object(&key, None).await else {
        return changes.iter().map(|(s, _)| s.clone()).collect();
    };
    let Ok(index) = ecr_arch_guard::consumer_index::ConsumerIndex::decode(&got.body) else {
        return changes.iter().map(|(s, _)| s.clone()).collect();
    };
    changes
        .iter()
        .filter(|(svc, _)| {
            !index.consumers.iter().any(|c| {
                c.name.contains(&format!("prod/{svc}"))
                    && c.image.ends_with(&format!("{REPO}:latest"))
            })
        })
        .map(|(s, _)| s.clone())
        .collect()
}

/// The table for docs/operations.md.
pub fn table(r: &Report) -> String {
    let mut t = String::new();
    let mut row = |k: &str, v: String| t.push_str(&format!("| {k} | {v} |\n"));
    row(
        "events (seed, faulted calls)",
        format!(
            "{} (seed {}, {}‰ of calls faulted: {} of {} requests)",
            r.events.values().sum::<usize>(),
            r.seed,
            r.per_mille,
            r.injected.values().sum::<usize>(),
            r.requests
        ),
    );
    row(
        "mix",
        r.events
            .iter()
            .map(|(k, n)| format!("{k:?} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let mut by_kind: BTreeMap<Fault, usize> = BTreeMap::new();
    for ((_, f), n) in &r.injected {
        *by_kind.entry(*f).or_default() += n;
    }
    row(
        "faults injected",
        by_kind
            .iter()
            .map(|(f, n)| format!("{} {n}", f.name()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        "deliveries (of which duplicated to both environments)",
        format!("{} ({})", r.deliveries, r.duplicated_deliveries),
    );
    row("invocations (retries included)", r.invocations.to_string());
    row(
        "events retried by the async driver",
        r.retried_events.to_string(),
    );
    row(
        "dead-lettered → judged by `replay` (left in the queue)",
        format!("{} → {} ({})", r.dead_lettered, r.replayed, r.replay_left),
    );
    row(
        "mismatches: alerted ≥ 1 / **lost** (must be 0)",
        format!("{} / **{}**", r.mismatches - r.lost.len(), r.lost.len()),
    );
    row(
        "mismatches alerted more than once",
        if r.alerted_more_than_once.is_empty() {
            "0".into()
        } else {
            format!(
                "{} ({})",
                r.alerted_more_than_once.len(),
                r.alerted_more_than_once
                    .iter()
                    .map(|(t, n)| format!("{t}×{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    row(
        "alerts sent without a claim (store failing)",
        r.unclaimed_alerts.to_string(),
    );
    row(
        "hook answers / FAILED because of a fault (must be 0) / Lambda errors (must be 0)",
        format!(
            "{} / **{}** / **{}**",
            r.hook_answers,
            r.hooks_failed_by_fault.len(),
            r.hook_errors
        ),
    );
    row(
        "right refusals let through unjudged by a fault (alerted \"not judged\")",
        r.refusals_unjudged.to_string(),
    );
    row(
        "hook answers past 30 s (must be 0); slowest",
        format!(
            "**{}**; {:.1} s",
            r.hooks_past_30s,
            r.slowest_hook.as_secs_f64()
        ),
    );
    row(
        "invocations ended at the function's 30 s timeout (must be 0); slowest",
        format!(
            "**{}**; {:.1} s",
            r.timed_out,
            r.slowest_invocation.as_secs_f64()
        ),
    );
    row(
        "consumer changes missing from the index: at the campaign's end / after one refresh (must be 0)",
        format!(
            "{} of {} / **{}**",
            r.changes_missing_from_index.len(),
            r.changes,
            r.changes_missing_after_refresh.len()
        ),
    );
    row("wall time", format!("{:.0} s", r.wall.as_secs_f64()));
    t
}
