//! The deployment watcher end to end: the real `bootstrap` under AWS's Lambda Runtime Interface
//! Emulator answers ECS's "ECS Deployment State Change" event (the guide's own example,
//! `events/ecs-deployment-in-progress.json`, pointed at a service in moto) by finding the
//! service's ongoing deployment, judging its target revision and, with
//! `ECS_DEPLOYMENT_GUARD=rollback`, stopping it. moto has the ECS services, task definitions and
//! ECR; what it lacks — service deployments (ListServiceDeployments, DescribeServiceDeployments,
//! StopServiceDeployment) and revisions (DescribeServiceRevisions) — the gap filler answers as the
//! ECS API Reference documents them and records every stop (`common/service_deployments.rs`).

mod common;

use aws_sdk_ecs::types::CpuArchitecture;
use common::grafana::{Grafana, REPO};
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::ecs_deployments::{ROLLBACK_IAM_ACTIONS, WATCH_IAM_ACTIONS};
use ecr_arch_guard::aws::{GATE_IAM_ACTIONS, IAM_ACTIONS};
use serde_json::Value;

const BUCKET: &str = "guard-state";
/// The name the harness gives the function (`common/lambda_rie.rs`).
const FUNCTION: &str = "ecr-arch-guard-guard";

/// The guide's in-progress example for `cluster`/`service` in moto's account and Region, with
/// EventBridge's event id `id`.
fn deployment_event(cluster: &str, service: &str, id: &str) -> Value {
    let mut e = common::event_value("ecs-deployment-in-progress.json");
    e["id"] = id.into();
    e["account"] = ACCOUNT.into();
    e["region"] = REGION.into();
    e["resources"][0] =
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{service}").into();
    e
}

fn answer(lambda: &mut Lambda, event: &Value) -> Value {
    match lambda.invoke(event) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("the watcher failed its invocation: {e}\n{}", lambda.logs()),
    }
}

/// What the template grants with `EcsDeploymentGuard=rollback`.
fn granted() -> Vec<&'static str> {
    IAM_ACTIONS
        .iter()
        .chain(GATE_IAM_ACTIONS.iter())
        .chain(WATCH_IAM_ACTIONS.iter())
        .chain(ROLLBACK_IAM_ACTIONS.iter())
        .chain(ecr_arch_guard::aws::s3_claims::IAM_ACTIONS.iter())
        .copied()
        .collect()
}

async fn world() -> Grafana {
    let local = Grafana::start().await;
    state_bucket(&local.config, BUCKET).await;
    // web: X86_64 pointed at the Mac-pulled arm64-only image; api: X86_64 on amd64.
    for (service, tag) in [
        ("web", "latest"),
        ("api", "amd"),
        ("hooked", "latest"),
        ("jobs", "latest"),
    ] {
        ecs_service(
            &local.ecs,
            "prod",
            service,
            &image_uri(REPO, tag),
            Some(CpuArchitecture::X8664),
        )
        .await;
    }
    local
}

fn env<'a>(local: &'a Grafana, mode: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ALERT_TOPIC_ARN", local.topic.as_str()),
        ("ALERT_CLAIMS_BUCKET", BUCKET),
        ("ECS_DEPLOYMENT_GUARD", mode),
    ]
}

/// The rolling update of the X86_64 service to the arm64-only image: one alert and exactly one
/// StopServiceDeployment(ROLLBACK), though the event reaches two environments (each invoked
/// twice: Lambda's retry of a delivery). The rollback's own event, a fitting deployment, a
/// finished one and one whose lifecycle hook calls the guard: nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_architecture_rolling_deployment_is_alerted_once_and_rolled_back_once() {
    let local = world().await;
    let (bad, _) = local.gap.record_service_deployment("prod", "web", None);
    let mut one = Lambda::start(&local.gap.endpoint, &env(&local, "rollback"));
    let mut two = Lambda::start(&local.gap.endpoint, &env(&local, "rollback"));
    local.gap.take_calls();
    let event = deployment_event("prod", "web", "evt-1");
    let first = answer(&mut one, &event);
    assert_eq!(first["step"], "alert_and_roll_back", "{first:#}");
    assert_eq!(first["rolled_back"], true);
    assert_eq!(first["service_deployment"], bad.as_str());
    let second = answer(&mut two, &event);
    assert_eq!(second["rolled_back"], false, "{second:#}");
    answer(&mut one, &event);
    answer(&mut two, &event);
    assert_eq!(
        local.gap.deployments.stops(),
        vec![(bad.clone(), "ROLLBACK".to_string())],
        "exactly one stop, a rollback"
    );
    common::gap_filler::assert_only_granted(&local.gap.take_calls(), &granted());
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let body = alerts[0]["Message"].as_str().unwrap();
    for says in [
        "ECS service prod/web",
        bad.as_str(),
        "grafana:latest@sha256:",
        "stops it with a rollback to the previous revision",
        "will fail with exec format error",
        "docker buildx build --platform",
    ] {
        assert!(body.contains(says), "{says:?} missing from:\n{body}");
    }

    // The rollback deployment ECS then starts: its event is never acted on (nothing read).
    let rollback = {
        let mut e = common::event_value("ecs-deployment-rollback.json");
        e["resources"] = event["resources"].clone();
        e["account"] = ACCOUNT.into();
        e["region"] = REGION.into();
        e
    };
    local.gap.take_calls();
    let v = answer(&mut one, &rollback);
    assert!(v["reason"].as_str().unwrap().contains("rollback"), "{v:#}");
    assert!(local.gap.take_calls().is_empty(), "a rollback is not read");

    // A fitting deployment: judged, silent.
    local.gap.record_service_deployment("prod", "api", None);
    let v = answer(&mut one, &deployment_event("prod", "api", "evt-2"));
    assert_eq!(v["step"], "nothing", "{v:#}");

    // A service whose deployment calls this very function as its lifecycle hook: the hook
    // judges it before its tasks start; the watcher stays out (no alert, no stop).
    let hook = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}");
    local
        .gap
        .record_service_deployment("prod", "hooked", Some(&hook));
    let v = answer(&mut one, &deployment_event("prod", "hooked", "evt-3"));
    assert!(
        v["reason"].as_str().unwrap().contains("lifecycle hook"),
        "{v:#}"
    );

    // Finished before the event was read: nothing ongoing, nothing done.
    local.gap.deployments.set_status(&bad, "SUCCESSFUL");
    let v = answer(&mut one, &deployment_event("prod", "web", "evt-4"));
    assert!(
        v["reason"].as_str().unwrap().contains("no ongoing"),
        "{v:#}"
    );

    assert_eq!(local.gap.deployments.stops().len(), 1);
    assert_eq!(local.alerts().await.len(), 0, "nothing more was alerted");
}

/// `alert` mode alerts and never stops; a deployment whose revision cannot be read is alerted
/// as not judged and never stopped, even under `rollback`; with the watcher off, nothing is
/// read at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_mode_never_stops_and_what_cannot_be_judged_is_never_stopped() {
    let local = world().await;
    let (bad, _) = local.gap.record_service_deployment("prod", "web", None);
    let mut alerting = Lambda::start(&local.gap.endpoint, &env(&local, "alert"));
    let v = answer(&mut alerting, &deployment_event("prod", "web", "evt-a"));
    assert_eq!(v["step"], "alert", "{v:#}");
    assert_eq!(v["rolled_back"], false);
    assert!(local.gap.deployments.stops().is_empty());
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1);
    let body = alerts[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("alert only (ECS_DEPLOYMENT_GUARD=alert)"),
        "{body}"
    );
    assert!(
        body.contains("stop-service-deployment --stop-type ROLLBACK"),
        "{body}"
    );

    // A deployment whose target revision ECS cannot describe (DescribeServiceRevisions
    // answers it in `failures`, reason MISSING).
    local.gap.deployments.set_status(&bad, "SUCCESSFUL");
    let missing = local.gap.deployments.record(
        &format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/prod/web/4242424242"),
        None,
    );
    let mut rolling = Lambda::start(&local.gap.endpoint, &env(&local, "rollback"));
    let v = answer(&mut rolling, &deployment_event("prod", "web", "evt-b"));
    assert_eq!(v["step"], "not_judged", "{v:#}");
    assert_eq!(v["service_deployment"], missing.as_str());
    assert!(
        local.gap.deployments.stops().is_empty(),
        "never a stop for what was not judged"
    );
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0]["Subject"]
            .as_str()
            .unwrap()
            .starts_with("Deployment not judged: ECS service prod/web"),
        "{:#}",
        alerts[0]
    );

    // SNS down through every attempt of the alert: the invocation fails (Lambda retries it,
    // then dead-letters it), the deployment is not stopped unannounced; the retry alerts and
    // stops it.
    let (jobs, _) = local.gap.record_service_deployment("prod", "jobs", None);
    for _ in 0..3 {
        local
            .gap
            .faults()
            .script("sns:Publish", common::faults::Fault::Unavailable);
    }
    let event = deployment_event("prod", "jobs", "evt-sns-down");
    assert!(
        matches!(rolling.invoke(&event), Outcome::Error(_)),
        "a lost alert fails the invocation"
    );
    assert!(
        local.gap.deployments.stops().is_empty(),
        "not stopped unannounced"
    );
    let v = answer(&mut rolling, &event);
    assert_eq!(v["rolled_back"], true, "{v:#}");
    assert_eq!(
        local.gap.deployments.stops(),
        vec![(jobs, "ROLLBACK".to_string())]
    );
    assert_eq!(local.alerts().await.len(), 1);

    let mut off = Lambda::start(
        &local.gap.endpoint,
        &[("ALERT_TOPIC_ARN", local.topic.as_str())],
    );
    local.gap.take_calls();
    let v = answer(&mut off, &deployment_event("prod", "web", "evt-c"));
    assert!(v["reason"].as_str().unwrap().contains("off"), "{v:#}");
    assert!(local.gap.take_calls().is_empty(), "off reads nothing");
}
