//! Consumer changes over in-memory ECR and SNS ports and the discovery adapters against
//! aws-smithy-mocks (wire-format answers): App Runner and Batch, which moto lacks, a Lambda
//! update Lambda refused, images from other registries, and the calls a change costs. ECS and
//! Lambda on moto, and the real `bootstrap`, are in `consumer_change_moto.rs`.

mod common;

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use common::memory_ports::{attribute, MemoryRegistry, Outbox};
use ecr_arch_guard::aws::discovery::AwsDiscovery;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::judge::verdict::{Verdict, VerdictKind};
use serde_json::{json, Value};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ecr-arch-guard-alerts";
const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn response(body: Value) -> Response {
    Response::new(200.try_into().unwrap(), SdkBody::from(body.to_string()))
}

struct World {
    registry: MemoryRegistry,
    outbox: Outbox,
    guard: Guard<MemoryRegistry, Outbox, AwsDiscovery>,
}

impl World {
    /// The guard as the Lambda runs it (alerts on, no discovery of all consumers), reading the
    /// changed consumer through `discovery`.
    fn new(discovery: AwsDiscovery) -> World {
        let settings = Settings {
            actions: Actions {
                alert: true,
                tag: true,
            },
            alert_topic_arn: Some(TOPIC.into()),
            ..Settings::default()
        };
        let (registry, outbox) = (MemoryRegistry::new(), Outbox::default());
        let guard = Guard::with_discovery(settings, registry.clone(), outbox.clone(), discovery);
        World {
            registry,
            outbox,
            guard,
        }
    }

    async fn handle(&self, sample: &str, edit: impl FnOnce(&mut Value)) -> Vec<Verdict> {
        let mut event = common::event_value(sample);
        edit(&mut event);
        let event = serde_json::from_value(event).unwrap();
        self.guard.handle_change(&event).await.unwrap()
    }
}

fn apprunner_service(image: &str) -> Value {
    json!({"Service": {
        "ServiceName": "storefront", "ServiceId": "8fe1e10304f84fd2b0df550fe98a71fa",
        "ServiceArn": "arn:aws:apprunner:us-east-1:123456789012:service/storefront/8fe1e10304f84fd2b0df550fe98a71fa",
        "CreatedAt": 1.7e9, "UpdatedAt": 1.7e9, "Status": "OPERATION_IN_PROGRESS",
        "SourceConfiguration": {"ImageRepository": {"ImageIdentifier": image, "ImageRepositoryType": "ECR"}},
        "InstanceConfiguration": {}, "NetworkConfiguration": {}
    }})
}

fn app_runner(image: &str) -> AwsDiscovery {
    let body = apprunner_service(image);
    let describe = mock!(aws_sdk_apprunner::Client::describe_service)
        .match_requests(|r| r.service_arn().is_some_and(|a| a.contains("storefront")))
        .then_http_response(move || response(body.clone()));
    let client = mock_client!(aws_sdk_apprunner, [&describe]);
    AwsDiscovery::from_clients(None, Some(client), None, None)
}

/// App Runner runs x86_64 only: a service updated to the Mac's arm64-only image gets one alert
/// naming the service, the call, when, and who made it (through CloudFormation); the image is
/// not tagged (it may fit its other consumers). The same event delivered again alerts no more.
#[tokio::test]
async fn app_runner_updated_to_an_arm64_only_image_alerts_once_naming_service_call_and_caller() {
    let w = World::new(app_runner(&format!("{ECR}/grafana:latest")));
    let verdicts = w
        .handle("change-apprunner-update-service.json", |_| {})
        .await;
    assert_eq!(verdicts.len(), 1);
    let v = &verdicts[0];
    assert_eq!(v.verdict, VerdictKind::Mismatch, "{v:?}");
    assert_eq!(v.consumers[0].name, "storefront");
    assert!(v.consumers[0].will_fail);
    let sent = w.outbox.sent();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(
        m.subject,
        "arm64-only image for App Runner service storefront: grafana:latest"
    );
    for says in [
        "a service was pointed at an image that will not run on it",
        "Consumer:  App Runner service storefront",
        "Change:    UpdateService at 2026-11-25T10:00:00Z by \
         arn:aws:sts::123456789012:assumed-role/deploy/deploy via cloudformation.amazonaws.com",
        "App Runner service storefront (X86_64, App Runner runs x86_64 only): will fail with exec format error",
        "docker buildx build --platform linux/amd64",
    ] {
        assert!(m.body.contains(says), "{says:?} missing from:\n{}", m.body);
    }
    assert_eq!(attribute(m, "verdict").as_deref(), Some("mismatch"));
    assert!(w.registry.puts().is_empty(), "a consumer change never tags");
    assert_eq!(
        w.registry.calls(),
        [1, 1, 0, 0],
        "the tag's manifest read once (and resolved from those bytes), its config once"
    );

    let again = w
        .handle("change-apprunner-update-service.json", |_| {})
        .await;
    assert!(again[0]
        .reason
        .as_deref()
        .unwrap()
        .starts_with("duplicate delivery"));
    assert!(again[0].actions.iter().all(|a| a.earlier_delivery));
    assert_eq!(w.outbox.attempts(), 1, "one alert for two deliveries");
}

/// A change that does not touch images or architecture costs no read at all: every client
/// here fails any call it gets, and the registry counts none.
#[tokio::test]
async fn a_scaling_only_update_reads_nothing() {
    let ecs = mock_client!(aws_sdk_ecs, []);
    let apprunner = mock_client!(aws_sdk_apprunner, []);
    let w = World::new(AwsDiscovery::from_clients(
        Some(ecs),
        Some(apprunner),
        None,
        None,
    ));
    let v = w
        .handle("change-ecs-update-service-scaling.json", |_| {})
        .await;
    assert_eq!(v[0].verdict, VerdictKind::Skipped);
    assert!(v[0].reason.as_deref().unwrap().contains("desiredCount"));
    let v = w
        .handle("change-apprunner-update-service.json", |e| {
            e["detail"]["requestParameters"] = json!({"serviceArn": "arn:aws:apprunner:us-east-1:123456789012:service/storefront/x",
                "instanceConfiguration": {"cpu": "2048"}});
            e["id"] = "scaling".into();
        })
        .await;
    assert_eq!(v[0].verdict, VerdictKind::Skipped, "{v:?}");
    assert_eq!(w.registry.calls(), [0, 0, 0, 0]);
    assert_eq!(w.outbox.attempts(), 0);
}

/// Batch: the job definition the event registered is read by its ARN (never its request
/// parameters); a Fargate X86_64 job with the amd64 image fits and is silent.
#[tokio::test]
async fn a_fitting_batch_job_definition_is_silent() {
    let arn = "arn:aws:batch:us-east-1:123456789012:job-definition/nightly-report:7";
    let body = json!({"jobDefinitions": [{
        "jobDefinitionName": "nightly-report", "jobDefinitionArn": arn, "revision": 7,
        "type": "container", "status": "ACTIVE", "platformCapabilities": ["FARGATE"],
        "containerProperties": {"image": format!("{ECR}/grafana:amd"),
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}}
    }]});
    let describe = mock!(aws_sdk_batch::Client::describe_job_definitions)
        .match_requests(move |r| r.job_definitions() == [arn.to_string()])
        .then_http_response(move || response(body.clone()));
    let client = mock_client!(aws_sdk_batch, [&describe]);
    let w = World::new(AwsDiscovery::from_clients(None, None, None, Some(client)));
    let v = w
        .handle("change-batch-register-job-definition.json", |_| {})
        .await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].verdict, VerdictKind::Fits, "{:?}", v[0]);
    assert_eq!(v[0].consumers[0].name, "nightly-report:7");
    assert_eq!(describe.num_calls(), 1);
    assert_eq!(w.outbox.attempts(), 0, "a fitting change is silent");
}

/// A task definition with an image from another registry (Docker Hub) beside an ECR image:
/// one verdict per image, the other registry's said and not judged, ours judged.
#[tokio::test]
async fn images_from_other_registries_are_not_judged_and_say_so() {
    let td = json!({"taskDefinition": {
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        "family": "web", "revision": 3, "status": "ACTIVE",
        "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [
            {"name": "web", "image": format!("{ECR}/grafana:amd")},
            {"name": "proxy", "image": "nginx:1.27"}
        ]
    }});
    let describe = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .then_http_response(move || response(td.clone()));
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe]);
    let w = World::new(AwsDiscovery::from_clients(Some(client), None, None, None));
    let v = w
        .handle("change-ecs-register-task-definition.json", |_| {})
        .await;
    assert_eq!(v.len(), 2, "{v:?}");
    let nginx = v
        .iter()
        .find(|v| v.verdict == VerdictKind::Skipped)
        .unwrap();
    assert!(
        nginx
            .reason
            .as_deref()
            .unwrap()
            .contains("nginx:1.27 is not an Amazon ECR image"),
        "{nginx:?}"
    );
    assert_eq!(
        nginx.change.as_ref().unwrap().consumer,
        "ECS task definition web:3"
    );
    assert!(v.iter().any(|v| v.verdict == VerdictKind::Fits));
    assert_eq!(w.outbox.attempts(), 0);
}

/// Lambda refuses an image index at the call itself (UpdateFunctionCode fails with
/// InvalidParameterValueException): nothing changed, so the image it asked for is judged
/// against the function's architecture (read with GetFunction), and the alert gives the fixes:
/// the index's own amd64 manifest, or a build without attestations.
#[tokio::test]
async fn a_lambda_update_refused_for_an_index_alerts_with_the_provenance_fix() {
    let get = mock!(aws_sdk_lambda::Client::get_function).then_http_response(|| {
        response(json!({
            "Configuration": {"FunctionName": "thumbnailer",
                "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer",
                "PackageType": "Image", "Architectures": ["x86_64"]},
            "Code": {"RepositoryType": "ECR", "ImageUri": format!("{ECR}/grafana:amd")}
        }))
    });
    let client = mock_client!(aws_sdk_lambda, [&get]);
    let w = World::new(AwsDiscovery::from_clients(None, None, Some(client), None));
    let v = w
        .handle("change-lambda-update-function-code-refused.json", |e| {
            e["detail"]["requestParameters"]["imageUri"] = format!("{ECR}/grafana:multi").into();
        })
        .await;
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].verdict,
        VerdictKind::Fits,
        "the index has amd64: {:?}",
        v[0]
    );
    let sent = w.outbox.sent();
    assert_eq!(sent.len(), 1, "{v:?}");
    let m = &sent[0];
    assert_eq!(
        m.subject,
        "Lambda cannot use image index: Lambda function thumbnailer"
    );
    for says in [
        "--provenance=false",
        "aws lambda update-function-code --function-name thumbnailer --image-uri",
        "UpdateFunctionCode20150331v2 at 2026-11-25T10:00:00Z by arn:aws:iam::123456789012:user/dev",
    ] {
        assert!(m.body.contains(says), "{says:?} missing from:\n{}", m.body);
    }
    assert_eq!(attribute(m, "problems").as_deref(), Some("lambda-index"));
}
