//! Discovery adapters against aws-smithy-mocks, with responses in each service's wire format:
//! App Runner and Batch (which moto lacks), pagination, and failures degrading to "unknown".

use std::time::Duration;

use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
mod common;

use ecr_arch_guard::aws::discovery::AwsDiscovery;
use ecr_arch_guard::consumers::consumer::{self, ConsumerKind, MatchScope};
use ecr_arch_guard::consumers::discovery::{Discovery, DiscoveryConfig, Service};
use ecr_arch_guard::image::{Image, RegistryId, Repository};

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:prod";

fn json(status: u16, body: serde_json::Value) -> Response {
    Response::new(status.try_into().unwrap(), SdkBody::from(body.to_string()))
}

fn error(status: u16, code: &str) -> Response {
    json(
        status,
        serde_json::json!({"__type": code, "message": format!("{code} injected")}),
    )
}

fn discovery(services: &[Service], d: AwsDiscovery) -> Discovery<AwsDiscovery> {
    Discovery::new(
        DiscoveryConfig {
            services: services.to_vec(),
            ttl: Duration::from_secs(300),
            deadline: Duration::from_secs(30),
            ..DiscoveryConfig::default()
        },
        d,
    )
}

fn pushed() -> Image {
    Image {
        repository: Repository::new(
            RegistryId::new(Some("123456789012"), Some("us-east-1")),
            "shop/web",
        ),
        tag: Some("prod".into()),
        digest: Some(ecr_arch_guard::image::digest::Digest::of(b"pushed")),
        media_type: None,
    }
}

fn apprunner_service(name: &str, image: &str, kind: &str) -> serde_json::Value {
    serde_json::json!({"Service": {
        "ServiceName": name,
        "ServiceId": format!("{name}-id"),
        "ServiceArn": format!("arn:aws:apprunner:us-east-1:123456789012:service/{name}/{name}-id"),
        "CreatedAt": 1.7e9, "UpdatedAt": 1.7e9, "Status": "RUNNING",
        "SourceConfiguration": {"ImageRepository": {
            "ImageIdentifier": image, "ImageRepositoryType": kind}},
        "InstanceConfiguration": {}, "NetworkConfiguration": {}
    }})
}

#[tokio::test]
async fn app_runner_ecr_services_are_amd64_consumers_over_every_page() {
    let list = mock!(aws_sdk_apprunner::Client::list_services)
        .sequence()
        .http_response(|| {
            json(200, serde_json::json!({"ServiceSummaryList": [
                {"ServiceName": "web", "ServiceArn": "arn:aws:apprunner:us-east-1:123456789012:service/web/web-id"}
            ], "NextToken": "page-2"}))
        })
        .http_response(|| {
            json(200, serde_json::json!({"ServiceSummaryList": [
                {"ServiceName": "public", "ServiceArn": "arn:aws:apprunner:us-east-1:123456789012:service/public/public-id"}
            ]}))
        })
        .build();
    let describe = mock!(aws_sdk_apprunner::Client::describe_service)
        .then_http_response(|| json(200, apprunner_service("web", IMAGE, "ECR")));
    let describe_public = mock!(aws_sdk_apprunner::Client::describe_service)
        .match_requests(|r| r.service_arn().is_some_and(|a| a.contains("public")))
        .then_http_response(|| {
            json(
                200,
                apprunner_service("public", "public.ecr.aws/nginx/nginx:1", "ECR_PUBLIC"),
            )
        });
    let client = mock_client!(
        aws_sdk_apprunner,
        RuleMode::MatchAny,
        [&list, &describe_public, &describe]
    );
    let d = discovery(
        &[Service::AppRunner],
        AwsDiscovery::from_clients(None, Some(client), None, None),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    assert!(s.complete(), "{:?}", s.unknown);
    assert_eq!(list.num_calls(), 2, "both pages listed");
    assert_eq!(s.consumers.len(), 1, "ECR_PUBLIC sources are not ours");
    let c = &s.consumers[0];
    assert_eq!(c.kind, ConsumerKind::AppRunnerService);
    assert_eq!(c.platform.as_ref().unwrap().to_string(), "linux/amd64");
    let found = consumer::matching(&s.consumers, &pushed(), MatchScope::TagOrDigest);
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn batch_latest_revisions_with_runtime_platform() {
    let jd = |name: &str, rev: i32, arch: Option<&str>, image: &str| {
        let mut container = serde_json::json!({"image": image});
        if let Some(a) = arch {
            container["runtimePlatform"] =
                serde_json::json!({"cpuArchitecture": a, "operatingSystemFamily": "LINUX"});
        }
        serde_json::json!({
            "jobDefinitionName": name, "revision": rev, "type": "container", "status": "ACTIVE",
            "jobDefinitionArn": format!("arn:aws:batch:us-east-1:123456789012:job-definition/{name}:{rev}"),
            "platformCapabilities": ["FARGATE"], "containerProperties": container
        })
    };
    let list = mock!(aws_sdk_batch::Client::describe_job_definitions)
        .match_requests(|r| r.status() == Some("ACTIVE"))
        .then_http_response(move || {
            json(
                200,
                serde_json::json!({"jobDefinitions": [
                    jd("nightly", 1, None, IMAGE),
                    jd("nightly", 2, Some("ARM64"), IMAGE),
                    jd("report", 7, None, IMAGE),
                ]}),
            )
        });
    let client = mock_client!(aws_sdk_batch, [&list]);
    let d = discovery(
        &[Service::Batch],
        AwsDiscovery::from_clients(None, None, None, Some(client)),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    let mut got: Vec<String> = s
        .consumers
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c.name,
                c.platform.as_ref().unwrap(),
                c.architecture_label
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec!["nightly:2 linux/arm64 ARM64", "report:7 linux/amd64 X86_64"]
    );
}

#[tokio::test]
async fn lambda_image_functions_only_and_zip_functions_cost_nothing() {
    let list = mock!(aws_sdk_lambda::Client::list_functions).then_http_response(|| {
        json(200, serde_json::json!({"Functions": [
            {"FunctionName": "img", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:img",
             "PackageType": "Image", "Architectures": ["arm64"]},
            {"FunctionName": "zip", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:zip",
             "PackageType": "Zip", "Architectures": ["x86_64"]},
            {"FunctionName": "old", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:old",
             "PackageType": "Image"}
        ]}))
    });
    let get = mock!(aws_sdk_lambda::Client::get_function).then_http_response(|| {
        json(
            200,
            serde_json::json!({"Code": {"RepositoryType": "ECR", "ImageUri": IMAGE}}),
        )
    });
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&list, &get]);
    let d = discovery(
        &[Service::Lambda],
        AwsDiscovery::from_clients(None, None, Some(client), None),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    assert_eq!(get.num_calls(), 2, "one GetFunction per image function");
    let mut got: Vec<String> = s
        .consumers
        .iter()
        .map(|c| format!("{} {}", c.name, c.architecture_label))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec!["img arm64", "old x86_64"],
        "Architectures defaults to x86_64"
    );
}

#[tokio::test]
async fn a_function_or_service_deleted_after_the_listing_is_no_consumer_and_the_listing_stays_complete(
) {
    let functions = mock!(aws_sdk_lambda::Client::list_functions).then_http_response(|| {
        json(200, serde_json::json!({"Functions": [
            {"FunctionName": "gone", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:gone",
             "PackageType": "Image", "Architectures": ["x86_64"]}
        ]}))
    });
    let get_function = mock!(aws_sdk_lambda::Client::get_function)
        .then_http_response(|| error(404, "ResourceNotFoundException"));
    let services = mock!(aws_sdk_apprunner::Client::list_services).then_http_response(|| {
        json(200, serde_json::json!({"ServiceSummaryList": [
            {"ServiceName": "gone", "ServiceArn": "arn:aws:apprunner:us-east-1:123456789012:service/gone/gone-id"}
        ]}))
    });
    let describe_service = mock!(aws_sdk_apprunner::Client::describe_service)
        .then_http_response(|| error(400, "ResourceNotFoundException"));
    let d = discovery(
        &[Service::AppRunner, Service::Lambda],
        AwsDiscovery::from_clients(
            None,
            Some(mock_client!(
                aws_sdk_apprunner,
                RuleMode::MatchAny,
                [&services, &describe_service]
            )),
            Some(mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&functions, &get_function]
            )),
            None,
        ),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    assert!(s.complete(), "{:?}", s.unknown);
    assert!(s.consumers.is_empty(), "{:?}", s.consumers);
    assert_eq!(get_function.num_calls(), 1, "not found is not retried");
    assert_eq!(describe_service.num_calls(), 1);
}

#[tokio::test]
async fn throttled_and_denied_services_are_unknown_not_empty() {
    let throttled = mock!(aws_sdk_lambda::Client::list_functions)
        .then_http_response(|| error(429, "TooManyRequestsException"));
    let denied = mock!(aws_sdk_ecs::Client::list_clusters)
        .then_http_response(|| error(400, "AccessDeniedException"));
    let d = discovery(
        &[Service::Ecs, Service::Lambda],
        AwsDiscovery::from_clients(
            Some(mock_client!(aws_sdk_ecs, [&denied])),
            None,
            Some(mock_client!(aws_sdk_lambda, [&throttled])),
            None,
        ),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    assert!(s.consumers.is_empty());
    assert!(!s.complete());
    let reasons: Vec<String> = s
        .unknown
        .iter()
        .map(|(svc, why)| format!("{svc}: {why}"))
        .collect();
    assert!(reasons[0].starts_with("ecs: ") && reasons[0].contains("AccessDeniedException"));
    assert!(reasons[1].starts_with("lambda: ") && reasons[1].contains("TooManyRequests"));
    assert!(
        throttled.num_calls() > 1,
        "the SDK retried the throttled call before giving up"
    );
}

#[tokio::test]
async fn ecs_listing_costs_the_minimum_and_a_warm_snapshot_costs_nothing() {
    const P: &str = "arn:aws:ecs:us-east-1:123456789012";
    let clusters = mock!(aws_sdk_ecs::Client::list_clusters).then_http_response(|| {
        json(
            200,
            serde_json::json!({"clusterArns": [format!("{P}:cluster/prod")]}),
        )
    });
    let services: Vec<String> = (0..12)
        .map(|i| format!("{P}:service/prod/svc-{i}"))
        .collect();
    let listed = services.clone();
    let list_services = mock!(aws_sdk_ecs::Client::list_services)
        .then_http_response(move || json(200, serde_json::json!({"serviceArns": listed})));
    let describe_services =
        mock!(aws_sdk_ecs::Client::describe_services).then_compute_response(|req| {
            assert!(
                req.services().len() <= 10,
                "DescribeServices takes 10 at most"
            );
            let described: Vec<serde_json::Value> = req
                .services()
                .iter()
                .map(|arn| {
                    let name = arn.rsplit('/').next().unwrap();
                    serde_json::json!({"serviceArn": arn, "serviceName": name,
                        "clusterArn": format!("{P}:cluster/prod"), "launchType": "EC2",
                        "taskDefinition": format!("{P}:task-definition/web:3")})
                })
                .collect();
            MockResponse::Http(json(200, serde_json::json!({"services": described})))
        });
    let list_tds = mock!(aws_sdk_ecs::Client::list_task_definitions)
        .match_requests(|r| r.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active))
        .then_http_response(|| {
            json(
                200,
                serde_json::json!({"taskDefinitionArns": [
                    format!("{P}:task-definition/web:2"),
                    format!("{P}:task-definition/web:3"),
                    format!("{P}:task-definition/cron:5"),
                ]}),
            )
        });
    let describe_td =
        mock!(aws_sdk_ecs::Client::describe_task_definition).then_compute_response(|req| {
            let arn = req.task_definition().unwrap().to_string();
            let (family, rev) = arn.rsplit('/').next().unwrap().split_once(':').unwrap();
            let mut td = serde_json::json!({"taskDefinitionArn": arn, "family": family,
                "revision": rev.parse::<i32>().unwrap(),
                "containerDefinitions": [{"name": "app", "image": IMAGE}]});
            if family == "cron" {
                td["runtimePlatform"] = serde_json::json!({"cpuArchitecture": "ARM64",
                    "operatingSystemFamily": "LINUX"});
                td["requiresCompatibilities"] = serde_json::json!(["FARGATE"]);
            }
            MockResponse::Http(json(200, serde_json::json!({"taskDefinition": td})))
        });
    // The EC2 services' tasks run on the cluster's container instances: their architecture,
    // once per cluster.
    let attributes = mock!(aws_sdk_ecs::Client::list_attributes).then_http_response(|| {
        json(
            200,
            serde_json::json!({"attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64",
                "targetType": "container-instance",
                "targetId": format!("{P}:container-instance/prod/0123")}]}),
        )
    });
    let client = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [
            &clusters,
            &list_services,
            &describe_services,
            &list_tds,
            &describe_td,
            &attributes
        ]
    );
    let d = discovery(
        &[Service::Ecs],
        AwsDiscovery::from_clients(Some(client), None, None, None),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    let calls = || {
        [
            clusters.num_calls(),
            list_services.num_calls(),
            describe_services.num_calls(),
            list_tds.num_calls(),
            describe_td.num_calls(),
            attributes.num_calls(),
        ]
    };
    // Cold: ListClusters 1, ListServices 1 per cluster, DescribeServices per 10 services,
    // ListTaskDefinitions 1, DescribeTaskDefinition once per distinct task definition
    // (web:3 used by the services = latest of its family; cron:5), ListAttributes once per
    // cluster whose EC2 tasks have no cpuArchitecture.
    assert_eq!(calls(), [1, 1, 2, 1, 2, 1]);
    assert_eq!(
        s.consumers.len(),
        13,
        "12 services + the standalone cron task definition"
    );
    let cron = s
        .consumers
        .iter()
        .find(|c| c.kind == ConsumerKind::EcsTaskDefinition)
        .unwrap();
    assert_eq!(cron.name, "cron:5");
    assert_eq!(cron.architecture_label, "ARM64");
    assert_eq!(cron.detail.as_deref(), Some("Fargate"));
    assert_eq!(svc_label(&s.consumers), "X86_64");
    let svc = s.consumers.iter().find(|c| c.name == "prod/svc-0").unwrap();
    assert_eq!(
        svc.detail.as_deref(),
        Some("EC2, container instances of cluster prod, cpuArchitecture unset: runs on the instances' amd64")
    );
    // Warm, within the TTL: no call at all.
    d.snapshot(&RegistryId::default()).await;
    assert_eq!(calls(), [1, 1, 2, 1, 2, 1]);
}

fn svc_label(consumers: &[consumer::Consumer]) -> &str {
    &consumers
        .iter()
        .find(|c| c.name == "prod/svc-0")
        .unwrap()
        .architecture_label
}

fn show(consumers: &[consumer::Consumer]) -> Vec<String> {
    let mut got: Vec<String> = consumers
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c.name,
                c.platform
                    .as_ref()
                    .map_or("unknown".to_string(), |p| p.to_string()),
                c.architecture_label
            )
        })
        .collect();
    got.sort();
    got
}

/// ECS on EC2 without `runtimePlatform.cpuArchitecture`: the task runs on whatever the
/// cluster's container instances are (their `ecs.cpu-architecture` attribute), not on an
/// assumed X86_64. A Graviton cluster is arm64 (no false alarm for an arm64 image), a mixed
/// one needs both, an empty one is unknown.
#[tokio::test]
async fn ecs_tasks_on_ec2_run_on_their_clusters_instances() {
    let rules = common::ecs_mock::ec2_clusters(
        &[
            ("graviton", &["arm64", "arm64"]),
            ("mixed", &["x86_64", "arm64"]),
            ("empty", &[]),
        ],
        IMAGE,
    );
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules.iter());
    let d = discovery(
        &[Service::Ecs],
        AwsDiscovery::from_clients(Some(client), None, None, None),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    assert!(s.complete(), "{:?}", s.unknown);
    assert_eq!(
        show(&s.consumers),
        [
            "empty/web unknown unknown",
            "graviton/web linux/arm64 ARM64",
            "mixed/web linux/amd64 X86_64",
            "mixed/web linux/arm64 ARM64",
        ]
    );
    let empty = s.consumers.iter().find(|c| c.name == "empty/web").unwrap();
    assert!(
        empty
            .detail
            .as_deref()
            .unwrap()
            .contains("no container instance is registered in cluster empty"),
        "{:?}",
        empty.detail
    );
    let found = consumer::matching(&s.consumers, &pushed(), MatchScope::TagOrDigest);
    assert_eq!(found.len(), 4, "one entry per consumer and platform");
    assert!(!consumer::all_known(&found));
}

/// AWS Batch on EC2: `runtimePlatform` is a Fargate setting; the compute environments'
/// instance types decide (a Graviton environment makes an unset job arm64, and an X86_64
/// written on an EC2 job changes nothing). Fargate jobs keep their runtimePlatform.
#[tokio::test]
async fn batch_jobs_on_ec2_run_on_their_compute_environments_instance_types() {
    let list = mock!(aws_sdk_batch::Client::describe_job_definitions).then_http_response(|| {
        json(200, serde_json::json!({"jobDefinitions": [
            {"jobDefinitionName": "etl", "revision": 4, "type": "container", "status": "ACTIVE",
             "jobDefinitionArn": "arn:aws:batch:us-east-1:123456789012:job-definition/etl:4",
             "platformCapabilities": ["EC2"],
             "containerProperties": {"image": IMAGE,
                "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}}},
            {"jobDefinitionName": "report", "revision": 1, "type": "container", "status": "ACTIVE",
             "jobDefinitionArn": "arn:aws:batch:us-east-1:123456789012:job-definition/report:1",
             "containerProperties": {"image": IMAGE}},
            {"jobDefinitionName": "tiny", "revision": 2, "type": "container", "status": "ACTIVE",
             "jobDefinitionArn": "arn:aws:batch:us-east-1:123456789012:job-definition/tiny:2",
             "platformCapabilities": ["FARGATE"], "containerProperties": {"image": IMAGE}}
        ]}))
    });
    let ces = mock!(aws_sdk_batch::Client::describe_compute_environments).then_http_response(|| {
        json(200, serde_json::json!({"computeEnvironments": [
            {"computeEnvironmentName": "graviton-spot",
             "computeEnvironmentArn": "arn:aws:batch:us-east-1:123456789012:compute-environment/graviton-spot",
             "ecsClusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/AWSBatch-graviton-spot",
             "type": "MANAGED", "state": "ENABLED", "status": "VALID",
             "computeResources": {"type": "SPOT", "minvCpus": 0, "maxvCpus": 256,
                "instanceTypes": ["m7g", "c7g.2xlarge"], "subnets": ["subnet-1"]}},
            {"computeEnvironmentName": "fargate",
             "computeEnvironmentArn": "arn:aws:batch:us-east-1:123456789012:compute-environment/fargate",
             "type": "MANAGED", "state": "ENABLED", "status": "VALID",
             "computeResources": {"type": "FARGATE", "maxvCpus": 16, "subnets": ["subnet-1"]}},
            {"computeEnvironmentName": "old-x86",
             "computeEnvironmentArn": "arn:aws:batch:us-east-1:123456789012:compute-environment/old-x86",
             "type": "MANAGED", "state": "DISABLED", "status": "VALID",
             "computeResources": {"type": "EC2", "maxvCpus": 16,
                "instanceTypes": ["optimal"], "subnets": ["subnet-1"]}}
        ]}))
    });
    let client = mock_client!(aws_sdk_batch, RuleMode::MatchAny, [&list, &ces]);
    let d = discovery(
        &[Service::Batch],
        AwsDiscovery::from_clients(None, None, None, Some(client)),
    );
    let s = d.snapshot(&RegistryId::default()).await;
    assert!(s.complete(), "{:?}", s.unknown);
    assert_eq!(ces.num_calls(), 1);
    assert_eq!(
        show(&s.consumers),
        [
            "etl:4 linux/arm64 ARM64",
            "report:1 linux/arm64 ARM64",
            "tiny:2 linux/amd64 X86_64"
        ]
    );
}
