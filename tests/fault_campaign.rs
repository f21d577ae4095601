//! Nothing lost, nothing wrongly blocked, under faults: the fault campaign
//! (`tests/common/campaign.rs`) at a size that fits the suite — the real `bootstrap` under AWS's
//! runtime emulator in two environments, moto behind a proxy faulting 10 % of the calls with a
//! fixed seed, events driven as Lambda's asynchronous invocation drives them, the dead-letter
//! queue replayed. Outcomes are asserted, never times. The full-size run (1,000 events) is
//! `scripts/bench` §8; its table is in docs/operations.md.

#![recursion_limit = "256"]

mod common;

use common::campaign;

/// Events in the suite's run (`FAULT_CAMPAIGN_EVENTS` to change it; the seed is fixed).
const EVENTS: usize = 100;
const SEED: u64 = 32;
const PER_MILLE: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_ten_percent_faulted_calls_no_mismatch_is_lost_and_no_fit_is_refused() {
    let size = std::env::var("FAULT_CAMPAIGN_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(EVENTS);
    let r = campaign::run(
        size,
        SEED,
        PER_MILLE,
        &common::lambda_rie::bootstrap(),
        env!("CARGO_BIN_EXE_ecr-arch-guard"),
    )
    .await;
    println!("{}", campaign::table(&r));
    assert!(
        r.injected.values().sum::<usize>() > 0,
        "the campaign injected faults"
    );
    assert!(
        r.lost.is_empty(),
        "mismatches never alerted: {:?}; alerted: {:#?}",
        r.lost,
        r.subjects
    );
    assert!(
        r.hooks_failed_by_fault.is_empty(),
        "fitting changes refused because of a fault: {:?}",
        r.hooks_failed_by_fault
    );
    assert_eq!(r.hook_errors, 0, "a hook failed its invocation");
    assert_eq!(
        r.timed_out, 0,
        "an invocation ran into the function's timeout"
    );
    assert_eq!(
        r.replay_left, 0,
        "replay left events in the dead-letter queue"
    );
    assert!(
        r.dead_lettered >= r.outages,
        "an event with SNS down through every attempt ends in the dead-letter queue"
    );
    assert_eq!(
        r.replayed, r.dead_lettered,
        "replay judged every dead letter"
    );
    assert!(
        r.changes_missing_after_refresh.is_empty(),
        "consumer changes missing from the index: {:?}",
        r.changes_missing_after_refresh
    );
}

use common::faults::{Bucket, Fault};
use common::grafana::{Grafana, REPO};
use common::images::ARM_MANIFEST;
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use serde_json::Value;

const STATE: &str = "guard-state";

/// The Mac accident's push, with its own event id.
fn push(id: &str) -> Value {
    let digest = sha256(&common::fixture(ARM_MANIFEST));
    let mut e = push_event(REPO, &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    e["id"] = id.into();
    e
}

/// The verdict of an invocation that must have succeeded.
fn verdict(lambda: &mut Lambda, event: &Value) -> Value {
    match lambda.invoke(event) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("the invocation failed: {e}\n{}", lambda.logs()),
    }
}

fn alert_status(v: &Value) -> &str {
    v["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["action"] == "alert"))
        .and_then(|a| a["status"].as_str())
        .unwrap_or("none")
}

/// Found by cases written outside the project: with the state bucket deleted or misnamed (S3
/// answers 404 `NoSuchBucket`), every 404 read as "no claim" or "conflict", both deliveries of
/// an event said "sent by another delivery" and no alert went out. Now a 404 other than
/// `NoSuchKey` is the store failing (S3 API Reference, "Error responses": `NoSuchBucket` and
/// `NoSuchKey` are both 404): the alert is sent without a claim (perhaps twice, never zero
/// times), the verdict says so, and the `AlertClaimFailures` metric (alarm
/// `AlertClaimsAlarm`) counts it. The same with the bucket denied (403) or unreachable (503).
/// Through the real `bootstrap` under AWS's runtime emulator, moto's own S3 for the missing
/// bucket, the proxy for the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_state_bucket_missing_denied_or_unreachable_every_mismatch_is_alerted() {
    let local = Grafana::start().await;
    // Misnamed: no such bucket in moto at all (moto answers NoSuchBucket itself). Two
    // environments, as two deliveries of one event may meet (in one warm environment the
    // second is answered from the first's verdict).
    let env = [
        ("ALERT_TOPIC_ARN", local.topic.as_str()),
        ("ALERT_CLAIMS_BUCKET", "no-such-bucket"),
    ];
    let mut lambdas = [
        Lambda::start(&local.gap.endpoint, &env),
        Lambda::start(&local.gap.endpoint, &env),
    ];
    let mut sent = 0;
    for (case, bucket) in [
        ("missing", Bucket::Up),
        ("denied", Bucket::Denied),
        ("unreachable", Bucket::Unreachable),
        ("missing (proxy)", Bucket::Missing),
    ] {
        local.gap.faults().set_bucket(bucket);
        for (delivery, lambda) in lambdas.iter_mut().enumerate() {
            let v = verdict(lambda, &push(&format!("evt-{case}")));
            assert_eq!(v["verdict"], "mismatch");
            assert_eq!(
                alert_status(&v),
                "sent",
                "{case}, delivery {delivery}: {v:#}"
            );
            let warnings = v["warnings"].to_string();
            assert!(
                warnings.contains("alert claim store unavailable"),
                "{case}: {warnings}"
            );
            sent += 1;
        }
        let alerts = local.alerts().await;
        assert_eq!(
            alerts.len(),
            2,
            "{case}: both deliveries alerted, none lost"
        );
    }
    let logs: String = lambdas.into_iter().map(Lambda::stop).collect();
    assert!(logs.contains("alert claim unavailable"), "the log line");
    let counted: f64 = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["AlertClaimFailures"].as_f64())
        .sum();
    assert_eq!(
        counted as usize, sent,
        "the AlertClaimFailures metric counts each"
    );
}

/// Found by a fault campaign: the claim's conditional create carried out but its answer lost
/// (a reset after the write) or later than the client's attempt timeout; the client retries,
/// gets 412, reads back its own `sending` record and stood aside as if another delivery were
/// sending: nobody published. The claim now carries its owner's token. One alert, and a second
/// delivery of the event still sends none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_create_answer_is_lost_or_late_still_alerts_once() {
    let local = Grafana::start().await;
    let direct = sdk_config(&format!("http://127.0.0.1:{}", local.moto.port)).await;
    let created = ecr_arch_guard::aws::s3_objects::S3Objects::new(
        &direct,
        STATE,
        ecr_arch_guard::aws::trust::TrustRoots::Bundled,
    )
    .unwrap()
    .send("PUT", "", "", &[], bytes::Bytes::new(), "s3:CreateBucket")
    .await
    .unwrap();
    assert_eq!(created.status, 200);
    let env = [
        ("ALERT_TOPIC_ARN", local.topic.as_str()),
        ("ALERT_CLAIMS_BUCKET", STATE),
    ];
    let mut lambda = Lambda::start(&local.gap.endpoint, &env);
    // The event's other delivery, in another environment.
    let mut other = Lambda::start(&local.gap.endpoint, &env);
    for (case, fault) in [("lost", Fault::ResetAfter), ("late", Fault::Slow)] {
        local.gap.faults().script("s3:PutObject", fault);
        let id = format!("evt-create-{case}");
        let v = verdict(&mut lambda, &push(&id));
        assert_eq!(alert_status(&v), "sent", "{case}: {v:#}");
        assert_eq!(
            local.gap.faults().injected().values().sum::<usize>(),
            if case == "lost" { 1 } else { 2 },
            "the scripted fault was met"
        );
        let again = verdict(&mut other, &push(&id));
        assert_eq!(alert_status(&again), "sent-by-another-delivery", "{case}");
        assert_eq!(local.alerts().await.len(), 1, "{case}: one alert, not zero");
    }
}

/// The consumer index's store failing the same ways: a push is still judged against its real
/// consumers (listed directly), its verdict says why (the S3 error, not "no index yet", which a
/// missing bucket used to read as, forever, with no alarm), and the refresher fails its
/// invocation, which `ConsumerIndexRefreshAlarm` counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_index_bucket_missing_denied_or_unreachable_pushes_are_judged_and_refreshes_fail()
{
    let local = Grafana::start().await;
    ecs_service(
        &local.ecs,
        "prod",
        "web",
        &image_uri(REPO, "latest"),
        Some(aws_sdk_ecs::types::CpuArchitecture::X8664),
    )
    .await;
    let mut guard = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", local.topic.as_str()),
            ("DISCOVER", "ecs"),
            ("CONSUMER_INDEX_BUCKET", "no-such-bucket"),
            ("HOME_ACCOUNT_ID", ACCOUNT),
        ],
    );
    let mut refresher = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ACTIONS", "none"),
            ("DISCOVER", "ecs"),
            ("CONSUMER_INDEX_BUCKET", "no-such-bucket"),
            ("HOME_ACCOUNT_ID", ACCOUNT),
        ],
    );
    for (case, bucket, code) in [
        ("missing", Bucket::Up, "NoSuchBucket"),
        ("denied", Bucket::Denied, "AccessDenied"),
        ("unreachable", Bucket::Unreachable, "ServiceUnavailable"),
    ] {
        local.gap.faults().set_bucket(bucket);
        let v = verdict(&mut guard, &push(&format!("evt-index-{case}")));
        assert_eq!(v["verdict"], "mismatch", "{case}: {v:#}");
        assert_eq!(
            v["required_from"], "consumers",
            "{case}: judged by its consumers"
        );
        let warnings = v["warnings"].to_string();
        assert!(
            warnings.contains("the consumer index could not be read") && warnings.contains(code),
            "{case}: {warnings}"
        );
        assert!(
            matches!(
                refresher.invoke(&common::event_value("scheduled-refresh.json")),
                Outcome::Error(_)
            ),
            "{case}: the refresh fails its invocation"
        );
    }
    assert_eq!(local.alerts().await.len(), 3, "every push alerted");
}

/// A hung answer no longer holds the invocation until Lambda's timeout: every SDK call has an
/// attempt timeout (5 s) and an operation timeout (12 s), `aws::timeouts`. One hung
/// BatchGetImage: the attempt is abandoned and retried, the push judged and alerted. Every
/// attempt hung: the invocation fails with the error (Lambda retries it) well inside the
/// function's 30 s, never ended by the emulator's timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_answer_is_abandoned_and_retried_and_never_runs_into_the_functions_timeout() {
    let local = Grafana::start().await;
    let mut lambda = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", local.topic.as_str()),
            ("AWS_LAMBDA_FUNCTION_TIMEOUT", "30"),
        ],
    );
    local.gap.faults().script("ecr:BatchGetImage", Fault::Hung);
    let v = verdict(&mut lambda, &push("evt-hung-once"));
    assert_eq!(alert_status(&v), "sent", "{v:#}");

    // A new environment (the first one keeps the image's verdict by digest).
    let mut lambda = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", local.topic.as_str()),
            ("AWS_LAMBDA_FUNCTION_TIMEOUT", "30"),
        ],
    );
    for _ in 0..4 {
        local.gap.faults().script("ecr:BatchGetImage", Fault::Hung);
    }
    match lambda.invoke(&push("evt-hung-always")) {
        Outcome::Error(e) => {
            let text = e.to_string();
            assert!(
                !text.contains("Timedout") && !text.contains("Task timed out"),
                "failed by the guard, not by the function's timeout: {text}"
            );
        }
        Outcome::Response(v) => panic!("every attempt hung, yet: {v:#}"),
    }
    assert_eq!(local.alerts().await.len(), 1);
}
