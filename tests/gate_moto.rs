//! The deployment gates end to end: the real `bootstrap` under AWS's Lambda Runtime Interface
//! Emulator answers the hook requests of `events/` (a CloudFormation Lambda Hook's create and
//! update of each of the six resource types it targets, a Cloud Control API call, an ECS
//! lifecycle hook at PRE_SCALE_UP) in the documented response shapes, reading ECR and ECS on
//! moto. What moto lacks is filled as AWS documents it: the service revision ECS creates at a
//! deployment (DescribeServiceRevisions, the gap filler records it with each tag resolved to
//! its digest) and GetDownloadUrlForLayer. App Runner and Batch need no read for a proposal
//! (their properties say everything); ECS Express Mode's DescribeExpressGatewayService and EC2
//! capacity are in `gate_mocked.rs` (smithy mocks).

mod common;

use aws_sdk_ecs::types::CpuArchitecture;
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::{GATE_IAM_ACTIONS, IAM_ACTIONS};
use serde_json::{json, Value};

use common::grafana::{Grafana, REPO};
/// The Mac accident's digest (`events/push-arm64-only-tagged.json`).
const ARM_DIGEST: &str = "sha256:411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe";

/// The common world, and what this file does with it.
struct Local(Grafana);

impl std::ops::Deref for Local {
    type Target = Grafana;
    fn deref(&self) -> &Grafana {
        &self.0
    }
}

impl Local {
    /// moto with `grafana`: `latest` arm64 only (the Mac accident), `amd` amd64 only, `multi`
    /// the hello-world index with attestations; the alert topic with a queue.
    async fn start() -> Local {
        Local(Grafana::start().await)
    }

    fn lambda(&self, env: &[(&str, &str)]) -> Lambda {
        let mut all = vec![("ALERT_TOPIC_ARN", self.topic.as_str())];
        all.extend_from_slice(env);
        Lambda::start(&self.gap.endpoint, &all)
    }
}

/// What the template grants with a gate on: the base actions and the gates' reads.
fn granted() -> Vec<&'static str> {
    IAM_ACTIONS
        .iter()
        .chain(GATE_IAM_ACTIONS.iter())
        .copied()
        .collect()
}

/// The function's answer; a gate never fails its invocation.
fn answer(lambda: &mut Lambda, payload: &Value) -> Value {
    match lambda.invoke(payload) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("the gate failed its invocation: {e}\n{}", lambda.logs()),
    }
}

/// A sample hook request of `events/`, with every ECR image named in it set to REPO:`tag`.
fn hook(name: &str, tag: &str) -> Value {
    let text = common::event_value(name)
        .to_string()
        .replace(&image_uri(REPO, "latest"), &image_uri(REPO, tag));
    serde_json::from_str(&text).unwrap()
}

fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or("")
}

/// The seed accident, refused before anything runs: each of the six resource types
/// CloudFormation would create with the Mac-pulled arm64-only image for an x86_64 consumer is
/// answered FAILED / NonCompliant, the verdict and the fix first, the request token echoed; the
/// same resources with the amd64 image pass; the reverse (an amd64 image for ARM64) is refused
/// too. Nothing is alerted (with FailureMode FAIL the caller sees the message), and the guard
/// called nothing the template does not grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloudformation_hook_refuses_each_type_headed_for_the_wrong_architecture() {
    let local = Local::start().await;
    // The service update names web:2, which runs the arm64-only image (web:1 and web:3 run
    // the amd64 one).
    local
        .task_definition("web", "amd", CpuArchitecture::X8664)
        .await;
    local
        .task_definition("web", "latest", CpuArchitecture::X8664)
        .await;
    let web3 = local
        .task_definition("web", "amd", CpuArchitecture::X8664)
        .await;
    let mut lambda = local.lambda(&[("DEPLOY_GATE", "fail")]);
    local.gap.take_calls();
    for name in [
        "hook-cfn-create-task-definition.json",
        "hook-cfn-update-service.json",
        "hook-cfn-create-express-service.json",
        "hook-cfn-create-lambda-function.json",
        "hook-cfn-create-apprunner-service.json",
        "hook-cfn-create-batch-job-definition.json",
    ] {
        let request = hook(name, "latest");
        let v = answer(&mut lambda, &request);
        assert_eq!(v["hookStatus"], "FAILED", "{name}: {v:#}");
        assert_eq!(v["errorCode"], "NonCompliant", "{name}");
        assert_eq!(v["clientRequestToken"], request["clientRequestToken"]);
        let m = message(&v);
        assert!(m.starts_with("REFUSED by ecr-arch-guard: "), "{name}: {m}");
        let first_image_line = m.lines().nth(1).unwrap_or("");
        for says in [
            "grafana:latest (sha256:411caf340c82) is linux/arm64 only",
            "needs linux/amd64: exec format error. Fix: push an image for linux/amd64: docker buildx build --platform linux/amd64,linux/arm64",
        ] {
            assert!(first_image_line.contains(says), "{name}: {says:?} not in {m}");
        }
        assert!(m.chars().count() <= 4096);
        // Update is refused only when the service now runs web:2 (the update's TaskDefinition).
        if name == "hook-cfn-update-service.json" {
            assert!(m.contains("ECS service web (WebService)"), "{m}");
        }
        let mut fitting = hook(name, "amd");
        if name == "hook-cfn-update-service.json" {
            // The service's images are its task definition's: web:3 runs the amd64 image.
            fitting["requestData"]["targetModel"]["resourceProperties"]["TaskDefinition"] =
                web3.as_str().into();
        }
        let fits = answer(&mut lambda, &fitting);
        assert_eq!(fits["hookStatus"], "SUCCESS", "{name}: {fits:#}");
        assert!(fits.get("errorCode").is_none());
    }
    assert_only_granted(&local.gap.take_calls(), &granted());

    // The mirror accident: an amd64-only image for a Graviton task definition.
    let mut graviton = hook("hook-cfn-create-task-definition.json", "amd");
    graviton["requestData"]["targetModel"]["resourceProperties"]["RuntimePlatform"]
        ["CpuArchitecture"] = "ARM64".into();
    let v = answer(&mut lambda, &graviton);
    assert_eq!(v["hookStatus"], "FAILED", "{v:#}");
    assert!(
        message(&v).contains("is linux/amd64 only")
            && message(&v).contains("RuntimePlatform.CpuArchitecture: X86_64"),
        "{}",
        message(&v)
    );

    // An index under a Lambda function's ImageUri: Lambda would refuse it; the fix is the
    // single-platform build without attestations.
    let v = answer(
        &mut lambda,
        &hook("hook-cfn-create-lambda-function.json", "multi"),
    );
    assert_eq!(v["hookStatus"], "FAILED", "{v:#}");
    assert!(message(&v).contains("is an image index"), "{}", message(&v));
    assert!(
        message(&v).contains("--provenance=false"),
        "{}",
        message(&v)
    );

    // Cloud Control API: the same refusal within its 1,024 characters.
    let v = answer(
        &mut lambda,
        &hook("hook-cloudcontrol-create-task-definition.json", "latest"),
    );
    assert_eq!(v["hookStatus"], "FAILED");
    assert!(message(&v).chars().count() <= 1024, "{}", message(&v));
    assert!(message(&v).contains("docker buildx build"));

    assert!(
        local.alerts().await.is_empty(),
        "no alert with FailureMode FAIL"
    );
}

/// What needs no judging passes without a read; what cannot be judged passes with the reason
/// (never block what was not judged), unless DEPLOY_GATE_UNKNOWN=fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloudformation_hook_passes_what_it_need_not_or_cannot_judge() {
    let local = Local::start().await;
    let mut lambda = local.lambda(&[("DEPLOY_GATE", "fail")]);
    // Warm the function first: its start-up calls nothing, but the first call is the proof.
    for (name, says) in [
        (
            "hook-cfn-update-service-scaling.json",
            "no image and no platform changes, nothing read",
        ),
        (
            "hook-cfn-update-lambda-zip-function.json",
            "is a .zip function: no container image involved",
        ),
    ] {
        local.gap.take_calls();
        let v = answer(&mut lambda, &common::event_value(name));
        assert_eq!(v["hookStatus"], "SUCCESS", "{name}: {v:#}");
        assert!(message(&v).contains(says), "{name}: {}", message(&v));
        assert!(local.gap.take_calls().is_empty(), "{name}: read nothing");
    }
    let mut docker_hub = common::event_value("hook-cfn-create-task-definition.json");
    docker_hub["requestData"]["targetModel"]["resourceProperties"]["ContainerDefinitions"][0]
        ["Image"] = "docker.io/library/nginx:1.27".into();
    let v = answer(&mut lambda, &docker_hub);
    assert_eq!(v["hookStatus"], "SUCCESS", "{v:#}");
    assert!(
        message(&v).contains("not judged") && message(&v).contains("not an Amazon ECR image"),
        "{}",
        message(&v)
    );
    let missing = hook("hook-cfn-create-task-definition.json", "no-such-tag");
    let v = answer(&mut lambda, &missing);
    assert_eq!(v["hookStatus"], "SUCCESS", "{v:#}");
    assert!(message(&v).contains("does not exist"), "{}", message(&v));

    let mut strict = local.lambda(&[("DEPLOY_GATE", "fail"), ("DEPLOY_GATE_UNKNOWN", "fail")]);
    let v = answer(&mut strict, &docker_hub);
    assert_eq!(
        (&v["hookStatus"], &v["errorCode"]),
        (&json!("FAILED"), &json!("NonCompliant")),
        "{v:#}"
    );
}

/// With FailureMode WARN the change goes ahead: the refusal is also alerted, once per request
/// (CloudFormation invoking again with the same token alerts no more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_warn_mode_a_refusal_is_alerted_once() {
    let local = Local::start().await;
    let mut lambda = local.lambda(&[("DEPLOY_GATE", "warn")]);
    let request = hook("hook-cfn-create-task-definition.json", "latest");
    for _ in 0..2 {
        let v = answer(&mut lambda, &request);
        assert_eq!(v["hookStatus"], "FAILED", "{v:#}");
    }
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        alerts[0]["Subject"],
        "arm64-only image for ECS task definition web (WebTaskDefinition): grafana:latest"
    );
}

/// The ECS lifecycle hook at PRE_SCALE_UP (the guide's payload, pointed at a service on moto):
/// the revision ECS is about to start is read, its images judged at the digests ECS resolved;
/// an arm64-only image for an X86_64 service answers FAILED (ECS rolls back) and is alerted
/// once, naming the service, the revision, the image, the digest and the fix; a fitting
/// revision SUCCEEDED; a revision the guard cannot read SUCCEEDED with an alert that it was not
/// judged — or FAILED with DEPLOY_GATE_UNKNOWN=fail; a rollback passes unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ecs_lifecycle_hook_refuses_a_revision_before_its_tasks_start() {
    let local = Local::start().await;
    ecs_service(
        &local.ecs,
        "prod",
        "web",
        &image_uri(REPO, "latest"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    ecs_service(
        &local.ecs,
        "prod",
        "api",
        &image_uri(REPO, "amd"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    let bad = local.gap.record_service_revision("prod", "web");
    let good = local.gap.record_service_revision("prod", "api");
    let payload = common::service_revisions::pre_scale_up_payload;
    let mut lambda = local.lambda(&[]);
    local.gap.take_calls();
    let v = answer(&mut lambda, &payload(&bad, "exec-1"));
    assert_eq!(v, json!({"hookStatus": "FAILED"}));
    assert_only_granted(&local.gap.take_calls(), &granted());
    // ECS invoking the hook again for the same execution alerts no more.
    assert_eq!(answer(&mut lambda, &payload(&bad, "exec-1")), v);
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let body = alerts[0]["Message"].as_str().unwrap();
    let revision_id = bad.rsplit('/').next().unwrap();
    for says in [
        format!("ECS service prod/web revision {revision_id}"),
        format!("grafana:latest@{ARM_DIGEST}"),
        "ECS deployment lifecycle hook PRE_SCALE_UP".to_string(),
        "will fail with exec format error".to_string(),
        "docker buildx build --platform".to_string(),
    ] {
        assert!(body.contains(&says), "{says:?} missing from:\n{body}");
    }

    assert_eq!(
        answer(&mut lambda, &payload(&good, "exec-2")),
        json!({"hookStatus": "SUCCEEDED"})
    );
    assert_eq!(
        local.alerts().await.len(),
        0,
        "a fitting revision is silent"
    );

    let unknown = bad.replace(revision_id, "1111111111111111111");
    assert_eq!(
        answer(&mut lambda, &payload(&unknown, "exec-3")),
        json!({"hookStatus": "SUCCEEDED"})
    );
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]["Subject"]
            .as_str()
            .unwrap()
            .starts_with("Deployment not judged: ECS service prod/web"),
        "{:#}",
        alerts[0]
    );

    let rollback = common::event_value("hook-ecs-production-traffic-shift-rollback.json");
    local.gap.take_calls();
    assert_eq!(
        answer(&mut lambda, &rollback),
        json!({"hookStatus": "SUCCEEDED"})
    );
    assert!(local.gap.take_calls().is_empty(), "a rollback is not read");

    let mut strict = local.lambda(&[("DEPLOY_GATE_UNKNOWN", "fail")]);
    assert_eq!(
        answer(&mut strict, &payload(&unknown, "exec-4")),
        json!({"hookStatus": "FAILED"})
    );
    // The strict mode's alert says what the answer did: refused, not let through.
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1);
    let subject = alerts[0]["Subject"].as_str().unwrap();
    let body = alerts[0]["Message"].as_str().unwrap();
    assert!(
        subject.starts_with("Deployment refused, not judged: ECS service prod/web"),
        "{subject}"
    );
    assert!(
        body.contains("REFUSED a deployment it could not judge")
            && !body.contains("let a deployment through"),
        "{body}"
    );

    // Every forward stage is judged, the guide's PRE_PRODUCTION_TRAFFIC_SHIFT among them (its
    // own example: the target revision at 0, the blue one at 100), which was taken for a
    // rollback and passed unread.
    for (i, stage) in [
        "RECONCILE_SERVICE",
        "POST_SCALE_UP",
        "POST_TEST_TRAFFIC_SHIFT",
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
    ]
    .iter()
    .enumerate()
    {
        let mut p = payload(&bad, &format!("exec-stage-{i}"));
        p["lifecycleStage"] = (*stage).into();
        p["executionDetails"]["productionTrafficWeights"] =
            json!({bad.as_str(): 0, good.as_str(): 100});
        assert_eq!(
            answer(&mut lambda, &p),
            json!({"hookStatus": "FAILED"}),
            "{stage} is judged"
        );
    }
    assert_eq!(local.alerts().await.len(), 5, "one alert per execution");
}

/// Whatever ECS sends, the function answers (a Lambda error is a failed hook: ECS rolls the
/// deployment back on the guard's own failure). Payloads built from the guide's PRE_SCALE_UP
/// sample with `executionDetails` missing, null or not an object, ARNs that are not service
/// revision ARNs, fields of the wrong type: each a `hookStatus`, never an error; not judged, so
/// SUCCEEDED (alerted as not judged) — FAILED with DEPLOY_GATE_UNKNOWN=fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ecs_lifecycle_hook_answers_every_payload_shape_without_a_lambda_error() {
    let local = Local::start().await;
    let sample = common::event_value("hook-ecs-pre-scale-up.json");
    let mut cases = Vec::new();
    let mut missing = sample.clone();
    missing.as_object_mut().unwrap().remove("executionDetails");
    cases.push(("executionDetails missing", missing));
    let mut null = sample.clone();
    null["executionDetails"] = Value::Null;
    cases.push(("executionDetails null", null));
    let mut text = sample.clone();
    text["executionDetails"] = "details".into();
    cases.push(("executionDetails a string", text));
    for bad_arn in [
        "",
        "not-an-arn",
        "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service",
        "arn:aws:ecs:us-west-2:12345:service-revision/my-cluster/my-service/1",
    ] {
        let mut p = sample.clone();
        p["executionDetails"]["targetServiceRevisionArn"] = bad_arn.into();
        cases.push(("a bad revision ARN", p));
    }
    let mut typed = sample.clone();
    typed["executionDetails"]["targetServiceRevisionArn"] = json!(42);
    typed["lifecycleStage"] = json!(["PRE_SCALE_UP"]);
    cases.push(("fields of the wrong type", typed));
    let mut lambda = local.lambda(&[]);
    for (what, p) in &cases {
        assert_eq!(
            answer(&mut lambda, p),
            json!({"hookStatus": "SUCCEEDED"}),
            "{what}: {p}"
        );
    }
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), cases.len(), "each alerted as not judged");
    assert!(alerts.iter().all(|a| a["Subject"]
        .as_str()
        .unwrap()
        .starts_with("Deployment not judged")));
    let mut strict = local.lambda(&[("DEPLOY_GATE_UNKNOWN", "fail")]);
    for (what, p) in &cases {
        assert_eq!(
            answer(&mut strict, p),
            json!({"hookStatus": "FAILED"}),
            "{what}"
        );
    }
}
