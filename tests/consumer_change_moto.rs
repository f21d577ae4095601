//! Consumer changes end to end on moto: the consumers are created and changed through the real
//! ECS and Lambda APIs, the events are the samples of `events/` pointed at them, the guard (the
//! library as the Lambda wires it, and the real `bootstrap` under the local runtime) reads the
//! consumer back and alerts through SNS to a subscribed queue. App Runner and Batch, which moto
//! lacks, are in `consumer_change_mocked.rs`.

mod common;

use std::sync::Arc;

use aws_sdk_ecs::types::CpuArchitecture;
use aws_sdk_lambda::types::Architecture;
use common::fixture;
use common::images::ARM_MANIFEST;
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::accounts::Accounts;
use ecr_arch_guard::aws::discovery::AwsDiscovery;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::aws::sns::Sns;
use ecr_arch_guard::aws::{CONSUMER_CHANGE_IAM_ACTIONS, IAM_ACTIONS};
use ecr_arch_guard::consumers::discovery::Service;
use ecr_arch_guard::handler::settings::Settings;
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::judge::verdict::{Verdict, VerdictKind};
use serde_json::Value;

use common::grafana::{Grafana, REPO};

/// The common world, and what this file does with it.
struct Local(Grafana);

impl std::ops::Deref for Local {
    type Target = Grafana;
    fn deref(&self) -> &Grafana {
        &self.0
    }
}

impl Local {
    /// moto with the repository, the arm64-only image as `latest`, the amd64 one as `amd`,
    /// the hello-world index (attestations) as `multi`, and the alert topic with a queue.
    async fn start() -> Local {
        Local(Grafana::start().await)
    }

    /// The guard as `aws::wiring` builds the Lambda's: alerts to the topic, the consumer read
    /// through the discovery adapters (no discovery of all consumers).
    fn guard(&self) -> Guard<Ecr, Sns, AwsDiscovery> {
        let settings = Settings {
            alert_topic_arn: Some(self.topic.clone()),
            ..Settings::default()
        };
        let ecr = Ecr::new(self.ecr.clone(), Download::new(true).unwrap());
        let sns = Sns::new(aws_sdk_sns::Client::new(&self.config), self.topic.clone());
        let accounts = Arc::new(Accounts::new(self.config.clone(), None, None));
        let discovery = AwsDiscovery::new(accounts, &Service::ALL);
        Guard::with_discovery(settings, ecr, sns, discovery)
    }
}

/// What the template grants the guard with ConsumerChanges on: the base actions and the
/// consumer reads (tests/template_least_privilege.rs checks the template grants exactly these).
fn granted() -> Vec<&'static str> {
    IAM_ACTIONS
        .iter()
        .chain(CONSUMER_CHANGE_IAM_ACTIONS.iter())
        .copied()
        .collect()
}

/// `events/change-ecs-register-task-definition.json` naming the task definition `arn`.
fn registered(arn: &str) -> Value {
    let mut e = common::event_value("change-ecs-register-task-definition.json");
    e["detail"]["responseElements"]["taskDefinition"]["taskDefinitionArn"] = arn.into();
    e
}

async fn handle(guard: &Guard<Ecr, Sns, AwsDiscovery>, event: &Value) -> Vec<Verdict> {
    let event = serde_json::from_value(event.clone()).unwrap();
    guard.handle_change(&event).await.unwrap()
}

/// The seed accident's other half: an image pushed long ago from a Mac (arm64 only) put into a
/// new X86_64 task definition revision. One alert, naming `family:revision`, the call and the
/// caller; the same event delivered twice still alerts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x86_task_definition_with_an_arm64_only_image_alerts_once_naming_it_and_the_caller() {
    let local = Local::start().await;
    let arn = local
        .task_definition("web", "latest", CpuArchitecture::X8664)
        .await;
    let guard = local.guard();
    let event = registered(&arn);
    local.gap.take_calls(); // the harness's own setup calls
    let v = handle(&guard, &event).await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].verdict, VerdictKind::Mismatch, "{:?}", v[0]);
    assert_only_granted(&local.gap.take_calls(), &granted());
    let again = handle(&guard, &event).await;
    assert!(again[0]
        .reason
        .as_deref()
        .unwrap()
        .starts_with("duplicate delivery"));
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "one alert for two deliveries");
    assert_eq!(
        alerts[0]["Subject"],
        "arm64-only image for ECS task definition web:1: grafana:latest"
    );
    let body = alerts[0]["Message"].as_str().unwrap();
    for says in [
        "Consumer:  ECS task definition web:1",
        "Change:    RegisterTaskDefinition at 2026-11-25T10:00:00Z by arn:aws:iam::123456789012:user/dev",
        "ECS task definition web:1 (X86_64, Fargate): will fail with exec format error",
        "Missing:   linux/amd64",
    ] {
        assert!(body.contains(says), "{says:?} missing from:\n{body}");
    }
}

/// The guard's marker tag on the image (as `ACTIONS=tag` puts it at the push) does not hide the
/// tag the consumer names: moto labels BatchGetImage's answer with the image's newest tag
/// (`latest-arm64-only`), ECR with the tag asked; both are read as the image asked for.
/// (`scripts/demo` showed the deploy-time alert as "does not exist" until this was fixed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_tagged_image_is_still_found_by_the_tag_its_consumer_names() {
    let local = Local::start().await;
    put_manifest(
        &local.ecr,
        REPO,
        &fixture(ARM_MANIFEST),
        OCI_MANIFEST,
        Some("latest-arm64-only"),
    )
    .await;
    let arn = local
        .task_definition("web", "latest", CpuArchitecture::X8664)
        .await;
    let v = handle(&local.guard(), &registered(&arn)).await;
    assert_eq!(v[0].verdict, VerdictKind::Mismatch, "{:?}", v[0]);
}

/// The mirror accident: a service switched to Graviton (a new ARM64 task definition) while its
/// image is amd64 only. The event names the service; its current state is read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_switched_to_arm64_with_an_amd64_only_image_alerts() {
    let local = Local::start().await;
    ecs_service(
        &local.ecs,
        "prod",
        "api",
        &image_uri(REPO, "amd"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    let graviton = local
        .task_definition("api-graviton", "amd", CpuArchitecture::Arm64)
        .await;
    local.point_service("prod", "api", &graviton).await;
    let mut event = common::event_value("change-ecs-update-service-arm64.json");
    event["detail"]["requestParameters"]["taskDefinition"] = graviton.into();
    let v = handle(&local.guard(), &event).await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].verdict, VerdictKind::Mismatch, "{:?}", v[0]);
    assert_eq!(v[0].consumers[0].architecture, "ARM64");
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0]["Subject"],
        "amd64-only image for ECS service prod/api: grafana:amd"
    );
    let body = alerts[0]["Message"].as_str().unwrap();
    assert!(body.contains("via cloudformation.amazonaws.com"), "{body}");
}

/// A change whose image fits its consumer is silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fitting_task_definition_is_silent() {
    let local = Local::start().await;
    let arn = local
        .task_definition("web", "amd", CpuArchitecture::X8664)
        .await;
    let v = handle(&local.guard(), &registered(&arn)).await;
    assert_eq!(v[0].verdict, VerdictKind::Fits, "{:?}", v[0]);
    assert!(v[0].actions.is_empty());
    assert!(local.alerts().await.is_empty());
}

/// An image function updated to the hello-world index (one platform per architecture plus
/// attestations, as buildx pushes by default): the function's tag now names an index Lambda
/// cannot deploy; the alert gives the digest to deploy and the `--provenance=false` build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_function_updated_to_an_index_alerts_with_the_provenance_fix() {
    let local = Local::start().await;
    let role = create_role(&local.gap.endpoint, "fn-role").await;
    let lambda = aws_sdk_lambda::Client::new(&local.config);
    lambda_image_function(
        &lambda,
        &role,
        "thumbnailer",
        &image_uri(REPO, "amd"),
        Architecture::X8664,
    )
    .await;
    lambda
        .update_function_code()
        .function_name("thumbnailer")
        .image_uri(image_uri(REPO, "multi"))
        .send()
        .await
        .expect("UpdateFunctionCode");
    let event = common::event_value("change-lambda-update-function-code.json");
    local.gap.take_calls();
    let v = handle(&local.guard(), &event).await;
    assert_only_granted(&local.gap.take_calls(), &granted());
    assert_eq!(v.len(), 1);
    assert!(
        v[0].warnings
            .iter()
            .any(|w| w.contains("--provenance=false")),
        "{:?}",
        v[0]
    );
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0]["Subject"],
        "Lambda cannot use image index: Lambda function thumbnailer"
    );
    let body = alerts[0]["Message"].as_str().unwrap();
    assert!(body.contains("--provenance=false"), "{body}");
}

/// The real `bootstrap` under the local Lambda runtime: the CloudTrail event in, an array of
/// verdicts out, the alert on the topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_judges_a_consumer_change_end_to_end() {
    let local = Local::start().await;
    let arn = local
        .task_definition("web", "latest", CpuArchitecture::X8664)
        .await;
    let mut guard = Lambda::start(&local.gap.endpoint, &[("ALERT_TOPIC_ARN", &local.topic)]);
    let v = match guard.invoke(&registered(&arn)) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{e}"),
    };
    assert_eq!(v[0]["verdict"], "mismatch", "{v:#}");
    assert_eq!(v[0]["change"]["consumer"], "ECS task definition web:1");
    assert_eq!(v[0]["change"]["event_name"], "RegisterTaskDefinition");
    assert_eq!(v[0]["actions"][0]["status"], "sent", "{v:#}");
    let scaling = common::event_value("change-ecs-update-service-scaling.json");
    let s = match guard.invoke(&scaling) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{e}"),
    };
    assert_eq!(s[0]["verdict"], "skipped", "{s:#}");
    assert_eq!(local.alerts().await.len(), 1);
}
