//! Discovery end to end on moto: ECS services/task definitions and Lambda image functions
//! created through the real APIs, the guard (library and the real `bootstrap`) deciding from
//! them. App Runner and Batch, which moto lacks, are covered in `discovery_mocked.rs`.

mod common;

use aws_sdk_ecs::types::CpuArchitecture;
use aws_sdk_lambda::types::Architecture;
use aws_smithy_mocks::{mock, mock_client};
use common::fixture;
use common::images::{ARM_CONFIG, ARM_MANIFEST, INDEX};
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::discovery::AwsDiscovery;
use ecr_arch_guard::aws::discovery_iam_actions;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::aws::sns::Sns;
use ecr_arch_guard::consumers::discovery::Service;
use ecr_arch_guard::event::EcrEvent;
use ecr_arch_guard::handler::settings::Settings;
use ecr_arch_guard::handler::Guard;
use serde_json::Value;

const REPO: &str = "shop/web";

struct Local {
    gap: GapFiller,
    _moto: Moto,
    config: aws_config::SdkConfig,
    ecr: aws_sdk_ecr::Client,
    ecs: aws_sdk_ecs::Client,
    lambda: aws_sdk_lambda::Client,
    role: String,
}

impl Local {
    async fn start() -> Local {
        let LocalAws { moto, gap, config } = LocalAws::start().await;
        let ecr = aws_sdk_ecr::Client::new(&config);
        create_repository(&ecr, REPO).await;
        let role = create_role(&gap.endpoint, "fn-role").await;
        Local {
            ecs: aws_sdk_ecs::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            gap,
            _moto: moto,
            config,
            ecr,
            role,
        }
    }

    /// The guard as the Lambda builds it, alerts off (the verdict is what is checked here).
    fn guard(
        &self,
        discovery: AwsDiscovery,
        services: &[Service],
    ) -> Guard<Ecr, Sns, AwsDiscovery> {
        let mut settings = Settings {
            dry_run: true,
            ..Settings::default()
        };
        settings.discovery.services = services.to_vec();
        let ecr = Ecr::new(
            aws_sdk_ecr::Client::new(&self.config),
            Download::new(true).unwrap(),
        );
        let sns = Sns::new(aws_sdk_sns::Client::new(&self.config), String::new());
        Guard::with_discovery(settings, ecr, sns, discovery)
    }

    fn both(&self) -> AwsDiscovery {
        let accounts = std::sync::Arc::new(ecr_arch_guard::aws::accounts::Accounts::new(
            self.config.clone(),
            None,
            None,
        ));
        AwsDiscovery::new(accounts, &[Service::Ecs, Service::Lambda])
    }

    async fn push_arm64(&self, tag: &str) -> EcrEvent {
        let digest = push_image(
            &self.ecr,
            &self.gap,
            REPO,
            ARM_MANIFEST,
            ARM_CONFIG,
            Some(tag),
        )
        .await;
        serde_json::from_value(push_event(REPO, &digest, tag, OCI_MANIFEST, OCI_CONFIG)).unwrap()
    }

    /// Pushes the arm64-only image as `tag` and judges it with ECS and Lambda discovery on.
    async fn judge_arm64_push(&self, tag: &str) -> Value {
        let guard = self.guard(self.both(), &[Service::Ecs, Service::Lambda]);
        json(&guard.handle(&self.push_arm64(tag).await).await.unwrap())
    }

    /// An ECS service `cluster/service` on `cpu` and a Lambda image function on `arch`, both
    /// running REPO:`tag`.
    async fn ecs_and_lambda_consumers(
        &self,
        tag: &str,
        (cluster, service, cpu): (&str, &str, CpuArchitecture),
        (function, arch): (&str, Architecture),
    ) {
        let uri = image_uri(REPO, tag);
        ecs_service(&self.ecs, cluster, service, &uri, Some(cpu)).await;
        lambda_image_function(&self.lambda, &self.role, function, &uri, arch).await;
    }
}

fn json(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap()
}

fn lines(v: &Value) -> Vec<String> {
    v["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {} fail={}",
                c["kind"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
                c["architecture"].as_str().unwrap(),
                c["will_fail"]
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x86_consumer_and_arm64_only_image_is_a_mismatch_naming_it() {
    let local = Local::start().await;
    ecs_service(&local.ecs, "prod", "web", &image_uri(REPO, "latest"), None).await;
    // Another tag of the same repository: not a consumer of this push.
    ecs_service(
        &local.ecs,
        "prod",
        "web-canary",
        &image_uri(REPO, "canary"),
        None,
    )
    .await;
    let v = local.judge_arm64_push("latest").await;
    assert_eq!(v["verdict"], "mismatch", "{v:#}");
    assert_eq!(v["required_from"], "consumers");
    assert_eq!(lines(&v), vec!["ecs-service prod/web X86_64 fail=true"]);
    assert!(v["consumers"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("X86_64 assumed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_consumers_on_arm64_make_the_arm64_image_fit() {
    let local = Local::start().await;
    local
        .ecs_and_lambda_consumers(
            "v2",
            ("edge", "agent", CpuArchitecture::Arm64),
            ("resize", Architecture::Arm64),
        )
        .await;
    let v = local.judge_arm64_push("v2").await;
    // The default (linux/amd64) would have said mismatch: the consumers decide.
    assert_eq!(v["verdict"], "fits", "{v:#}");
    assert_eq!(v["required_from"], "consumers");
    assert_eq!(v["required"], serde_json::json!(["linux/arm64"]));
    assert_eq!(
        lines(&v),
        vec![
            "ecs-service edge/agent ARM64 fail=false",
            "lambda-function resize arm64 fail=false"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_consumers_name_the_one_that_fails() {
    let local = Local::start().await;
    local
        .ecs_and_lambda_consumers(
            "v3",
            ("prod", "api", CpuArchitecture::Arm64),
            ("thumbs", Architecture::X8664),
        )
        .await;
    let v = local.judge_arm64_push("v3").await;
    assert_eq!(v["verdict"], "mismatch", "{v:#}");
    assert_eq!(v["missing"], serde_json::json!(["linux/amd64"]));
    assert_eq!(
        lines(&v),
        vec![
            "lambda-function thumbs x86_64 fail=true",
            "ecs-service prod/api ARM64 fail=false"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_consumer_falls_back_to_rules_then_default() {
    let local = Local::start().await;
    ecs_service(
        &local.ecs,
        "prod",
        "other",
        &image_uri("shop/other", "v1"),
        Some(CpuArchitecture::Arm64),
    )
    .await;
    let mut guard = local.guard(local.both(), &[Service::Ecs, Service::Lambda]);
    let v = json(&guard.handle(&local.push_arm64("v4").await).await.unwrap());
    assert_eq!(v["required_from"], "default", "{v:#}");
    assert_eq!(v["verdict"], "mismatch");
    assert!(v["consumers"].as_array().unwrap().is_empty());

    guard.settings.rules =
        ecr_arch_guard::judge::policy::parse_rules("shop/*=linux/arm64").unwrap();
    let v = json(&guard.handle(&local.push_arm64("v5").await).await.unwrap());
    assert_eq!(v["required_from"], "rule:shop/*", "{v:#}");
    assert_eq!(v["verdict"], "fits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_service_is_unknown_and_the_next_source_decides() {
    let local = Local::start().await;
    let uri = image_uri(REPO, "v6");
    // Lambda (moto) knows an arm64 consumer; ECS is denied (mocked AccessDeniedException).
    lambda_image_function(
        &local.lambda,
        &local.role,
        "edge-fn",
        &uri,
        Architecture::Arm64,
    )
    .await;
    let denied = mock!(aws_sdk_ecs::Client::list_clusters).then_error(|| {
        aws_sdk_ecs::operation::list_clusters::ListClustersError::AccessDeniedException(
            aws_sdk_ecs::types::error::AccessDeniedException::builder()
                .message("not authorized to perform: ecs:ListClusters")
                .build(),
        )
    });
    let ecs = mock_client!(aws_sdk_ecs, [&denied]);
    let discovery = AwsDiscovery::from_clients(
        Some(ecs),
        None,
        Some(aws_sdk_lambda::Client::new(&local.config)),
        None,
    );
    let guard = local.guard(discovery, &[Service::Ecs, Service::Lambda]);
    let v = json(&guard.handle(&local.push_arm64("v6").await).await.unwrap());
    // The arm64 Lambda alone must not make the image fit: an unseen ECS service may be x86.
    assert_eq!(v["required_from"], "default", "{v:#}");
    assert_eq!(
        v["required"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(v["verdict"], "mismatch");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("consumers in ecs are unknown"),
        "{warnings}"
    );
    assert!(warnings.contains("AccessDenied"), "{warnings}");
    assert_eq!(lines(&v), vec!["lambda-function edge-fn arm64 fail=false"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_consumer_of_an_attestation_index_is_warned() {
    let local = Local::start().await;
    lambda_image_function(
        &local.lambda,
        &local.role,
        "api",
        &image_uri(REPO, "multi"),
        Architecture::X8664,
    )
    .await;
    let digest = put_manifest(&local.ecr, REPO, &fixture(INDEX), OCI_INDEX, Some("multi")).await;
    let event: EcrEvent =
        serde_json::from_value(push_event(REPO, &digest, "multi", OCI_INDEX, OCI_INDEX)).unwrap();
    let guard = local.guard(local.both(), &[Service::Ecs, Service::Lambda]);
    let v = json(&guard.handle(&event).await.unwrap());
    assert_eq!(v["verdict"], "fits", "{v:#}");
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("attestation manifests"), "{warnings}");
    assert!(warnings.contains("--provenance=false"), "{warnings}");
}

/// The Lambda-index problem reaches the alert topic, not only the log: its own `verdict`
/// attribute value (`lambda-index`) and a `problems` list, the function named, and the fix
/// pointing the function at the index's own manifest for its architecture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_under_a_lambda_functions_tag_is_alerted_with_the_digest_to_deploy() {
    let local = Local::start().await;
    lambda_image_function(
        &local.lambda,
        &local.role,
        "api",
        &image_uri(REPO, "multi"),
        Architecture::X8664,
    )
    .await;
    let (topic, everything) = topic_with_queue(&local.config, "alerts", "everything").await;
    let lambda_team = subscribe_queue(
        &local.config,
        &topic,
        "lambda-team",
        Some(r#"{"problems": ["lambda-index"]}"#),
    )
    .await;
    let mismatches = subscribe_queue(
        &local.config,
        &topic,
        "mismatches",
        Some(r#"{"verdict": ["mismatch"]}"#),
    )
    .await;
    let mut guard = Lambda::start(
        &local.gap.endpoint,
        &[("ALERT_TOPIC_ARN", topic.as_str()), ("DISCOVER", "lambda")],
    );
    let digest = put_manifest(&local.ecr, REPO, &fixture(INDEX), OCI_INDEX, Some("multi")).await;
    let v = match guard.invoke(&push_event(REPO, &digest, "multi", OCI_INDEX, OCI_INDEX)) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{e}"),
    };
    assert_eq!(v["verdict"], "fits", "every platform is there: {v:#}");
    assert_eq!(v["actions"][0]["status"], "sent", "{v:#}");
    let alerts = queued_alerts(&local.config, &everything).await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(
        a["Subject"],
        "Lambda cannot use image index pushed: shop/web:multi"
    );
    assert_eq!(a["MessageAttributes"]["verdict"]["Value"], "lambda-index");
    assert_eq!(
        a["MessageAttributes"]["problems"]["Value"],
        r#"["lambda-index"]"#
    );
    let body = a["Message"].as_str().unwrap();
    assert!(body.contains("Lambda function api (x86_64)"), "{body}");
    // hello-world's linux/amd64 manifest inside the index (tests/fixtures/SOURCES.md).
    let amd64 = "sha256:03b62250a3cb1abd125271d393fc08bf0cc713391eda6b57c02d1ef85efcc25c";
    assert!(
        body.contains(&format!(
            "aws lambda update-function-code --function-name api --image-uri {}@{amd64}",
            image_uri(REPO, "x").trim_end_matches(":x")
        )),
        "{body}"
    );
    assert!(body.contains("--provenance=false --sbom=false"), "{body}");
    assert_eq!(queued_alerts(&local.config, &lambda_team).await.len(), 1);
    assert!(queued_alerts(&local.config, &mismatches).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_with_discover_names_the_consumer_in_the_alert() {
    let local = Local::start().await;
    ecs_service(
        &local.ecs,
        "prod",
        "web",
        &image_uri(REPO, "latest"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    let (topic, queue) = topic_with_queue(&local.config, "alerts", "alerts").await;
    let mut guard = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", topic.as_str()),
            ("DISCOVER", "ecs,lambda"),
        ],
    );
    let event = serde_json::to_value(local.push_arm64("latest").await).unwrap();
    local.gap.take_calls(); // the harness's own setup calls
    let v = match guard.invoke(&event) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{e}"),
    };
    // Every call is granted by the template with DiscoverEcs and DiscoverLambda on.
    let mut granted = ecr_arch_guard::aws::IAM_ACTIONS.to_vec();
    granted.extend(discovery_iam_actions(Service::Ecs));
    granted.extend(discovery_iam_actions(Service::Lambda));
    let calls = local.gap.take_calls();
    assert_only_granted(&calls, &granted);
    for listing in ["ecs:ListClusters", "lambda:ListFunctions"] {
        assert!(calls.iter().any(|c| c == listing), "{listing}: {calls:?}");
    }
    assert_eq!(v["verdict"], "mismatch", "{v:#}");
    assert_eq!(v["required_from"], "consumers");
    let alerts = queued_alerts(&local.config, &queue).await;
    assert_eq!(alerts.len(), 1, "one alert");
    let text = alerts[0]["Message"].as_str().unwrap();
    assert!(
        text.contains("ECS service prod/web (X86_64, Fargate): will fail with exec format error"),
        "{text}"
    );
}

/// An ECS service on EC2 without cpuArchitecture runs on its cluster's instances: on a
/// Graviton cluster the arm64 image fits (no false alarm); on a cluster with no instance to
/// tell, the consumer is unknown and never lets the image pass (the default still applies).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_backed_ecs_services_decide_by_their_instances_never_by_a_guess() {
    use aws_smithy_mocks::RuleMode;
    let local = Local::start().await;
    for (cluster, archs, verdict, from) in [
        ("graviton", &["arm64"][..], "fits", "consumers"),
        ("empty", &[][..], "mismatch", "default"),
    ] {
        let tag = format!("on-{cluster}");
        let rules = common::ecs_mock::ec2_clusters(&[(cluster, archs)], &image_uri(REPO, &tag));
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules.iter());
        let discovery = AwsDiscovery::from_clients(Some(ecs), None, None, None);
        let guard = local.guard(discovery, &[Service::Ecs]);
        let v = json(&guard.handle(&local.push_arm64(&tag).await).await.unwrap());
        assert_eq!(v["verdict"], verdict, "{cluster}: {v:#}");
        assert_eq!(v["required_from"], from, "{cluster}");
        if cluster == "empty" {
            assert_eq!(v["consumers"][0]["platform"], Value::Null);
            let warnings = v["warnings"].to_string();
            assert!(warnings.contains("unknown architecture"), "{warnings}");
            assert!(
                warnings.contains("no container instance is registered in cluster empty"),
                "{warnings}"
            );
        } else {
            assert_eq!(lines(&v), ["ecs-service graviton/web ARM64 fail=false"]);
        }
    }
}
