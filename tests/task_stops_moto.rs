//! The task-stop explainer end to end: the real `bootstrap` under AWS's Lambda Runtime Interface
//! Emulator answers ECS's "ECS Task State Change" events (`events/ecs-task-stopped.json`, pointed
//! at moto's account, Region and images) of tasks that crash because their image cannot run on
//! the CPU they got. A service's crash loop — 50 stopped tasks within the hour, delivered to two
//! environments — is alerted once; a standalone RunTask task of the same image once more (its
//! own task group); a fitting image, or a task stopped by a user, never.

mod common;

use aws_sdk_ecs::types::CpuArchitecture;
use common::grafana::{Grafana, REPO};
use common::images::{AMD_MANIFEST, ARM_MANIFEST};
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::{GATE_IAM_ACTIONS, IAM_ACTIONS};
use serde_json::Value;

const BUCKET: &str = "guard-state";

/// The sample, for a task `n` of `group` running REPO:`tag` at the digest moto holds, in moto's
/// account and Region, stopped at 16:MM of one hour.
fn stopped(group: &str, tag: &str, manifest: &str, n: usize, task_definition: &str) -> Value {
    let mut e = common::event_value("ecs-task-stopped.json");
    let cluster = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod");
    let task = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/{n:032x}");
    e["id"] = format!("task-event-{group}-{n}").into();
    e["account"] = ACCOUNT.into();
    e["region"] = REGION.into();
    e["time"] = format!("2026-12-06T16:{:02}:00Z", n % 60).into();
    e["resources"][0] = task.clone().into();
    let d = &mut e["detail"];
    d["clusterArn"] = cluster.into();
    d["taskArn"] = task.into();
    d["group"] = group.into();
    d["taskDefinitionArn"] = task_definition.into();
    d["containers"][0]["image"] = image_uri(REPO, tag).into();
    d["containers"][0]["imageDigest"] = sha256(&common::fixture(manifest)).into();
    e
}

fn verdicts(lambda: &mut Lambda, event: &Value) -> Vec<Value> {
    match lambda.invoke(event) {
        Outcome::Response(Value::Array(v)) => v,
        other => panic!("{other:?}\n{}", lambda.logs()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_is_explained_once_per_task_group_and_image_per_hour() {
    let local = Grafana::start().await;
    state_bucket(&local.config, BUCKET).await;
    let web = local
        .task_definition("web", "latest", CpuArchitecture::X8664)
        .await;
    let env = [
        ("ALERT_TOPIC_ARN", local.topic.as_str()),
        ("ALERT_CLAIMS_BUCKET", BUCKET),
        ("ECS_TASK_STOPS", "true"),
    ];
    let mut envs = [
        Lambda::start(&local.gap.endpoint, &env),
        Lambda::start(&local.gap.endpoint, &env),
    ];
    local.gap.take_calls();

    // 50 tasks of service web crash within the hour, their events spread over two environments.
    for n in 0..50 {
        let v = verdicts(
            &mut envs[n % 2],
            &stopped("service:web", "latest", ARM_MANIFEST, n, &web),
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0]["verdict"], "mismatch", "{:#}", v[0]);
    }
    let calls = local.gap.take_calls();
    common::gap_filler::assert_only_granted(
        &calls,
        &IAM_ACTIONS
            .iter()
            .chain(GATE_IAM_ACTIONS.iter())
            .chain(ecr_arch_guard::aws::s3_claims::IAM_ACTIONS.iter())
            .copied()
            .collect::<Vec<_>>(),
    );
    let reads = calls.iter().filter(|c| c.starts_with("ecr:")).count();
    assert!(
        reads <= 4,
        "the image read once per environment, not per event: {calls:?}"
    );
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let body = alerts[0]["Message"].as_str().unwrap();
    for says in [
        "tasks of service:web stop (EssentialContainerExited: Essential container in task exited; container web exit code 255)",
        "by ecs-svc/2757582648257641111",
        "prod/web (its task",
        "the task ran on x86_64 (ecs.cpu-architecture)",
        "grafana@sha256:",
        "will fail with exec format error",
    ] {
        assert!(body.contains(says), "{says:?} missing from:\n{body}");
    }

    // A standalone task of the same image (RunTask, a schedule): its own group, its own alert.
    let mut one_off = stopped("family:nightly", "latest", ARM_MANIFEST, 7, &web);
    one_off["detail"]["startedBy"] = "events-rule/nightly-report".into();
    let v = verdicts(&mut envs[0], &one_off);
    assert_eq!(v[0]["verdict"], "mismatch");
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let body = alerts[0]["Message"].as_str().unwrap();
    assert!(body.contains("family:nightly (task"), "{body}");
    assert!(body.contains("by events-rule/nightly-report"), "{body}");

    // Without `ecs.cpu-architecture` the task definition says where it ran.
    let mut bare = stopped("family:bare", "latest", ARM_MANIFEST, 8, &web);
    bare["detail"]["attributes"] = serde_json::json!([]);
    local.gap.take_calls();
    let v = verdicts(&mut envs[1], &bare);
    assert_eq!(v[0]["verdict"], "mismatch", "{:#}", v[0]);
    assert!(local
        .gap
        .take_calls()
        .contains(&"ecs:DescribeTaskDefinition".to_string()));
    assert_eq!(local.alerts().await.len(), 1);

    // A fitting image crashed for its own reasons: judged, silent. A task a user stopped: not
    // even read.
    let amd = local
        .task_definition("api", "amd", CpuArchitecture::X8664)
        .await;
    let v = verdicts(
        &mut envs[0],
        &stopped("service:api", "amd", AMD_MANIFEST, 9, &amd),
    );
    assert_eq!(v[0]["verdict"], "fits", "{:#}", v[0]);
    let mut user = stopped("service:web", "latest", ARM_MANIFEST, 10, &web);
    user["detail"]["stopCode"] = "UserInitiated".into();
    local.gap.take_calls();
    let v = verdicts(&mut envs[0], &user);
    assert_eq!(v[0]["verdict"], "skipped", "{:#}", v[0]);
    assert!(local.gap.take_calls().is_empty());
    assert_eq!(local.alerts().await.len(), 0);
}
