//! The deployment gates over in-memory ECR and SNS ports and the adapters against
//! aws-smithy-mocks (ECS's and Batch's wire format), for what moto cannot stand in for: ECS
//! Express Mode (DescribeExpressGatewayService: moto has no Express services), task definitions
//! on EC2 capacity (moto sets no `ecs.cpu-architecture` attribute), Batch (not in moto), and a
//! gate whose reads do not finish in time. The real `bootstrap` on moto is `gate_moto.rs`.

mod common;

use std::time::Duration;

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use common::memory_ports::{MemoryRegistry, Outbox};
use ecr_arch_guard::aws::discovery::AwsDiscovery;
use ecr_arch_guard::consumers::consumer::Consumer;
use ecr_arch_guard::consumers::discovery::{Discover, Service};
use ecr_arch_guard::event::change::Target;
use ecr_arch_guard::gate::{GateConfig, Kind, RulingKind};
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::image::RegistryId;
use ecr_arch_guard::judge::verdict::VerdictKind;
use ecr_arch_guard::Error;
use serde_json::{json, Value};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ecr-arch-guard-alerts";
const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const EXPRESS: &str = "arn:aws:ecs:us-east-1:123456789012:service/default/web-api";

fn response(body: Value) -> Response {
    Response::new(200.try_into().unwrap(), SdkBody::from(body.to_string()))
}

fn settings(gate: GateConfig) -> Settings {
    Settings {
        actions: Actions {
            alert: true,
            tag: false,
        },
        alert_topic_arn: Some(TOPIC.into()),
        gate,
        ..Settings::default()
    }
}

fn guard<D: Discover>(
    discovery: D,
    gate: GateConfig,
) -> (Guard<MemoryRegistry, Outbox, D>, Outbox) {
    let outbox = Outbox::default();
    let guard = Guard::with_discovery(
        settings(gate),
        MemoryRegistry::new(),
        outbox.clone(),
        discovery,
    );
    (guard, outbox)
}

/// A task definition of `family` in ECS's wire shape: `compat` (FARGATE / EC2), `cpu` (None:
/// unset), one container running grafana:`tag`.
fn task_definition(family: &str, compat: &str, cpu: Option<&str>, tag: &str) -> Value {
    let mut td = json!({
        "taskDefinitionArn": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1"),
        "family": family, "revision": 1, "status": "ACTIVE",
        "requiresCompatibilities": [compat],
        "containerDefinitions": [{"name": "Main", "image": format!("{ECR}/grafana:{tag}"), "essential": true}]
    });
    if let Some(cpu) = cpu {
        td["runtimePlatform"] = json!({"cpuArchitecture": cpu, "operatingSystemFamily": "LINUX"});
    }
    json!({ "taskDefinition": td })
}

/// ECS Express Mode, created with the Mac's arm64-only image (CloudTrail's
/// CreateExpressGatewayService): the service's newest active configuration names its task
/// definition (ECS-managed, Fargate, X86_64 by default), whose image is judged — and alerted.
#[tokio::test]
async fn an_express_service_created_with_an_arm64_only_image_alerts() {
    let described = json!({"service": {
        "cluster": "default", "serviceName": "web-api", "serviceArn": EXPRESS,
        "status": {"statusCode": "ACTIVE"},
        "activeConfigurations": [
            {"serviceRevisionArn": format!("{EXPRESS}/1"), "createdAt": 1.7e9,
             "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/old:1"},
            {"serviceRevisionArn": format!("{EXPRESS}/2"), "createdAt": 1.8e9,
             "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/default-web-api:1",
             "cpuArchitecture": "X86_64", "primaryContainer": {"image": format!("{ECR}/grafana:latest")}}
        ]
    }});
    let express = mock!(aws_sdk_ecs::Client::describe_express_gateway_service)
        .match_requests(|r| r.service_arn() == Some(EXPRESS))
        .then_http_response(move || response(described.clone()));
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .match_requests(|r| {
            r.task_definition()
                .is_some_and(|t| t.ends_with("default-web-api:1"))
        })
        .then_http_response(|| {
            response(task_definition(
                "default-web-api",
                "FARGATE",
                None,
                "latest",
            ))
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&express, &td]);
    let (guard, outbox) = guard(
        AwsDiscovery::from_clients(Some(ecs), None, None, None),
        GateConfig::default(),
    );
    let event = common::change_event("change-ecs-create-express-gateway-service.json");
    let v = guard.handle_change(&event).await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].verdict, VerdictKind::Mismatch, "{:?}", v[0]);
    assert_eq!(
        v[0].consumers[0].name, "default/web-api (Express Mode)",
        "{:?}",
        v[0].consumers
    );
    assert_eq!(v[0].consumers[0].architecture, "X86_64");
    assert_eq!(express.num_calls(), 1);
    let sent = outbox.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .subject
            .contains("ECS service default/web-api (Express Mode)"),
        "{}",
        sent[0].subject
    );
    // An update of scaling only costs nothing.
    let mut scaling = common::event_value("change-ecs-update-express-gateway-service.json");
    scaling["detail"]["requestParameters"] =
        json!({"serviceArn": EXPRESS, "scalingTarget": {"minTaskCount": 2, "maxTaskCount": 4}});
    let v = guard
        .handle_change(&serde_json::from_value(scaling).unwrap())
        .await
        .unwrap();
    assert_eq!(v[0].verdict, VerdictKind::Skipped);
    assert_eq!(express.num_calls(), 1, "nothing read");
}

/// A CloudFormation Express service with a task definition of the user's own: that task
/// definition (read by its ARN) decides, here ARM64, so the arm64-only image fits.
#[tokio::test]
async fn a_proposed_express_service_with_its_own_task_definition_is_judged_against_it() {
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition).then_http_response(|| {
        response(task_definition("mine", "FARGATE", Some("ARM64"), "latest"))
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&td]);
    let (guard, _) = guard(
        AwsDiscovery::from_clients(Some(ecs), None, None, None),
        GateConfig::default(),
    );
    let mut request = common::event_value("hook-cfn-create-express-service.json");
    request["requestData"]["targetModel"]["resourceProperties"]["TaskDefinitionArn"] =
        "arn:aws:ecs:us-east-1:123456789012:task-definition/mine:1".into();
    let a = guard.handle_gate(Kind::CloudFormation, request).await;
    assert_eq!(a.response["hookStatus"], "SUCCESS", "{:?}", a.ruling);
    assert_eq!(a.verdicts[0].verdict, VerdictKind::Fits);
    assert_eq!(td.num_calls(), 1);
}

/// A proposed task definition for EC2 without cpuArchitecture runs on whatever the clusters'
/// container instances are (ListAttributes `ecs.cpu-architecture`): all Graviton here, so the
/// arm64-only image fits; add an x86_64 cluster and it is refused for it.
#[tokio::test]
async fn a_proposed_ec2_task_definition_is_judged_against_the_clusters_instances() {
    let mut request = common::event_value("hook-cfn-create-task-definition.json");
    let props = &mut request["requestData"]["targetModel"]["resourceProperties"];
    props["RequiresCompatibilities"] = json!(["EC2"]);
    props.as_object_mut().unwrap().remove("RuntimePlatform");
    for (clusters, expected) in [
        (vec![("graviton", ["arm64"].as_slice())], "SUCCESS"),
        (
            vec![
                ("graviton", ["arm64"].as_slice()),
                ("x86", ["x86_64"].as_slice()),
            ],
            "FAILED",
        ),
    ] {
        let rules = common::ecs_mock::ec2_clusters(&clusters, &format!("{ECR}/grafana:latest"));
        let refs: Vec<&aws_smithy_mocks::Rule> = rules.iter().collect();
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, refs.as_slice());
        let (guard, _) = guard(
            AwsDiscovery::from_clients(Some(ecs), None, None, None),
            GateConfig::default(),
        );
        let a = guard
            .handle_gate(Kind::CloudFormation, request.clone())
            .await;
        assert_eq!(
            a.response["hookStatus"], expected,
            "{clusters:?}: {}",
            a.ruling.message
        );
    }
}

/// A proposed Batch job definition on EC2: the compute environments' instance types decide
/// (DescribeComputeEnvironments); Graviton only, so the amd64-only image is refused.
#[tokio::test]
async fn a_proposed_batch_job_on_ec2_is_judged_against_its_compute_environments() {
    let envs = json!({"computeEnvironments": [{
        "computeEnvironmentName": "graviton", "state": "ENABLED", "type": "MANAGED",
        "computeEnvironmentArn": "arn:aws:batch:us-east-1:123456789012:compute-environment/graviton",
        "ecsClusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/graviton",
        "computeResources": {"type": "EC2", "maxvCpus": 16, "instanceTypes": ["c7g.large"], "subnets": []}
    }]});
    let describe = mock!(aws_sdk_batch::Client::describe_compute_environments)
        .then_http_response(move || response(envs.clone()));
    let batch = mock_client!(aws_sdk_batch, [&describe]);
    let (guard, _) = guard(
        AwsDiscovery::from_clients(None, None, None, Some(batch)),
        GateConfig::default(),
    );
    let mut request = common::event_value("hook-cfn-create-batch-job-definition.json");
    let props = &mut request["requestData"]["targetModel"]["resourceProperties"];
    props["PlatformCapabilities"] = json!(["EC2"]);
    props["ContainerProperties"]["Image"] = format!("{ECR}/grafana:amd").into();
    let a = guard.handle_gate(Kind::CloudFormation, request).await;
    assert_eq!(a.response["hookStatus"], "FAILED", "{}", a.ruling.message);
    assert!(
        a.ruling.message.contains("is linux/amd64 only"),
        "{}",
        a.ruling.message
    );
    assert_eq!(describe.num_calls(), 1);
}

/// A consumer that takes longer to read than the gate's deadline.
struct Slow;

impl Discover for Slow {
    async fn consumers(&self, _: &RegistryId, _: Service) -> Result<Vec<Consumer>, Error> {
        Ok(Vec::new())
    }

    async fn consumer(&self, _: &RegistryId, _: &Target) -> Result<Vec<Consumer>, Error> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(Vec::new())
    }
}

/// Reads that do not finish within the deadline never hold the hook past its 30 s: the answer
/// comes at the deadline, SUCCESS "could not judge" (InternalFailure under the strict policy);
/// the ECS hook passes and alerts that it did.
#[tokio::test(start_paused = true)]
async fn a_gate_answers_at_its_deadline_when_the_reads_are_slow() {
    let gate = GateConfig {
        deadline: Duration::from_secs(5),
        ..GateConfig::default()
    };
    let (g, outbox) = guard(Slow, gate.clone());
    let started = tokio::time::Instant::now();
    let request = common::event_value("hook-cfn-create-task-definition.json");
    let a = g.handle_gate(Kind::CloudFormation, request.clone()).await;
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(a.response["hookStatus"], "SUCCESS");
    assert_eq!(a.ruling.kind, RulingKind::NotJudged);
    assert!(
        a.ruling.message.contains("did not finish within 5 s"),
        "{}",
        a.ruling.message
    );
    let a = g
        .handle_gate(
            Kind::EcsLifecycle,
            common::event_value("hook-ecs-pre-scale-up.json"),
        )
        .await;
    assert_eq!(a.response["hookStatus"], "SUCCEEDED");
    assert_eq!(outbox.sent().len(), 1);
    assert!(outbox.sent()[0]
        .subject
        .starts_with("Deployment not judged"));

    let strict = GateConfig {
        unknown: ecr_arch_guard::gate::Unknown::Fail,
        ..gate
    };
    let (g, _) = guard(Slow, strict);
    let a = g.handle_gate(Kind::CloudFormation, request).await;
    assert_eq!(a.response["hookStatus"], "FAILED");
    assert_eq!(a.response["errorCode"], "InternalFailure");
}
