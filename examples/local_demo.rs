//! The local demo behind `scripts/demo`: the accident and the guard, end to end, no AWS account.
//!
//! Starts moto (ECR, SNS, SQS) with the GetDownloadUrlForLayer gap filled, creates a
//! repository, pushes a correct multi-platform image and then a Mac-pulled arm64-only image,
//! deploys that image to an X86_64 ECS service, runs the real `bootstrap` on the events ECR and
//! CloudTrail would send (under AWS's own Lambda Runtime
//! Interface Emulator, the one `sam local` uses), then on the requests the deployment gates
//! send (a CloudFormation Lambda Hook, an ECS lifecycle hook), then on ECS's own events (a
//! rolling deployment stopped by the deployment watcher, a RunTask crash explained), and
//! prints what the user sees. Everything is stopped at the end.

#[path = "../tests/common/mod.rs"]
mod common;

use common::images;
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;

fn show(label: &str, outcome: Outcome) {
    match outcome {
        Outcome::Response(v) => println!(
            "  {label:<44} -> {:<10} platforms={} {}",
            v["verdict"].as_str().unwrap_or("?"),
            v["platforms"],
            v["reason"]
                .as_str()
                .map(|r| format!("({r})"))
                .unwrap_or_default()
        ),
        Outcome::Error(e) => println!("  {label:<44} -> invocation error {e}"),
    }
}

#[tokio::main]
async fn main() {
    println!("== Starting local AWS: moto (ECR, ECS, SNS, SQS) + gap filler, on 127.0.0.1");
    let LocalAws { moto, gap, config } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    create_repository(&ecr, "grafana").await;
    let (topic, queue) = topic_with_queue(&config, "ecr-arch-guard-alerts", "platform-team").await;
    println!("   repository grafana, topic {topic} -> SQS queue platform-team");

    println!("== Starting the guard (target/debug/bootstrap) under AWS's Lambda Runtime Interface Emulator (aws-lambda-rie)");
    println!("   REQUIRED_PLATFORMS=linux/amd64 ACTIONS=alert,tag");
    let mut guard = Lambda::start(
        &gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", topic.as_str()),
            ("ACTIONS", "alert,tag"),
        ],
    );

    println!("\n== 1. CI pushes a proper multi-platform image (buildx: children untagged, then the index as grafana:multi)");
    let (child, index) = push_multi_platform(&ecr, &gap, "grafana", "multi").await;
    show(
        "PUSH grafana@<amd64 child> (untagged)",
        guard.invoke(&push_event("grafana", &child, "", OCI_MANIFEST, OCI_CONFIG)),
    );
    show(
        "PUSH grafana:multi (index)",
        guard.invoke(&push_event(
            "grafana", &index, "multi", OCI_INDEX, OCI_INDEX,
        )),
    );

    println!("\n== 2. Someone on an Apple Silicon Mac: docker pull grafana/grafana; docker tag; docker push …/grafana:latest");
    let arm = push_image(
        &ecr,
        &gap,
        "grafana",
        images::ARM_MANIFEST,
        images::ARM_CONFIG,
        Some("latest"),
    )
    .await;
    show(
        "PUSH grafana:latest (single manifest)",
        guard.invoke(&push_event(
            "grafana",
            &arm,
            "latest",
            OCI_MANIFEST,
            OCI_CONFIG,
        )),
    );
    show(
        "PUSH grafana:latest-arm64-only (our marker)",
        guard.invoke(&push_event(
            "grafana",
            &arm,
            "latest-arm64-only",
            OCI_MANIFEST,
            OCI_CONFIG,
        )),
    );

    println!("\n== 3. What the platform team's queue received (SNS -> SQS)");
    let alerts = queued_alerts(&config, &queue).await;
    println!("   {} alert(s)", alerts.len());
    for envelope in alerts {
        println!("   Subject: {}", envelope["Subject"].as_str().unwrap_or(""));
        println!("   Attributes: {}", envelope["MessageAttributes"]);
        for line in envelope["Message"].as_str().unwrap_or("").lines() {
            println!("   | {line}");
        }
    }

    println!("\n== 4. Tags in grafana now");
    let mut tags = image_tags(&ecr, "grafana").await;
    tags.sort();
    println!("   {}", tags.join(", "));

    println!("\n== 5. Weeks later, a CloudFormation deploy creates ECS service prod/web (Fargate, X86_64) on grafana:latest");
    println!("   CloudTrail -> EventBridge: CreateService (events/change-ecs-create-service.json)");
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs_service(
        &ecs,
        "prod",
        "web",
        &image_uri("grafana", "latest"),
        Some(aws_sdk_ecs::types::CpuArchitecture::X8664),
    )
    .await;
    match guard.invoke(&common::event_value("change-ecs-create-service.json")) {
        Outcome::Response(verdicts) => {
            for v in verdicts.as_array().into_iter().flatten() {
                println!(
                    "  {:<44} -> {:<10} ({})",
                    v["change"]["consumer"].as_str().unwrap_or("?"),
                    v["verdict"].as_str().unwrap_or("?"),
                    v["reason"].as_str().unwrap_or("")
                );
            }
        }
        Outcome::Error(e) => println!("  invocation error {e}"),
    }
    for envelope in queued_alerts(&config, &queue).await {
        println!("   Subject: {}", envelope["Subject"].as_str().unwrap_or(""));
        for line in envelope["Message"].as_str().unwrap_or("").lines() {
            println!("   | {line}");
        }
    }

    println!("\n== 6. Block, don't just alert: the same deploy through the deployment gates (DEPLOY_GATE=fail)");
    let mut gate = Lambda::start(
        &gap.endpoint,
        &[("ALERT_TOPIC_ARN", topic.as_str()), ("DEPLOY_GATE", "fail")],
    );
    println!("   CloudFormation Lambda Hook, before the task definition is created (events/hook-cfn-create-task-definition.json):");
    match gate.invoke(&common::event_value("hook-cfn-create-task-definition.json")) {
        Outcome::Response(v) => {
            println!(
                "   hookStatus {} ({}): CloudFormation does not create WebTaskDefinition, and the stack events show:",
                v["hookStatus"].as_str().unwrap_or("?"),
                v["errorCode"].as_str().unwrap_or("-")
            );
            for line in v["message"].as_str().unwrap_or("").lines() {
                println!("   | {line}");
            }
        }
        Outcome::Error(e) => println!("  invocation error {e}"),
    }
    let revision = gap.record_service_revision("prod", "web");
    println!("   ECS lifecycle hook at PRE_SCALE_UP of service prod/web, revision {} (events/hook-ecs-pre-scale-up.json):", revision.rsplit('/').next().unwrap_or("?"));
    let mut pre_scale_up = common::event_value("hook-ecs-pre-scale-up.json");
    let service = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";
    pre_scale_up["resourceArn"] =
        "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/EZe5RNVLH6PPzHXINuP28"
            .into();
    pre_scale_up["executionDetails"]["serviceArn"] = service.into();
    pre_scale_up["executionDetails"]["targetServiceRevisionArn"] = revision.into();
    match gate.invoke(&pre_scale_up) {
        Outcome::Response(v) => {
            println!("   {v} -> ECS rolls the deployment back: no task of the new revision starts")
        }
        Outcome::Error(e) => println!("  invocation error {e}"),
    }
    for envelope in queued_alerts(&config, &queue).await {
        println!("   Subject: {}", envelope["Subject"].as_str().unwrap_or(""));
        for line in envelope["Message"].as_str().unwrap_or("").lines().take(12) {
            println!("   | {line}");
        }
        println!("   | …");
    }
    let _ = gate.stop();

    println!("\n== 7. No hook on the service: a rolling update from the console, the CLI or Terraform (ECS_DEPLOYMENT_GUARD=rollback, ECS_TASK_STOPS=true)");
    let mut watcher = Lambda::start(
        &gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", topic.as_str()),
            ("ECS_DEPLOYMENT_GUARD", "rollback"),
            ("ECS_TASK_STOPS", "true"),
        ],
    );
    let (deployment, _) = gap.record_service_deployment("prod", "web", None);
    let mut in_progress = common::event_value("ecs-deployment-in-progress.json");
    in_progress["account"] = ACCOUNT.into();
    in_progress["region"] = REGION.into();
    in_progress["resources"][0] = service.into();
    println!("   ECS: \"ECS Deployment State Change\" SERVICE_DEPLOYMENT_IN_PROGRESS for prod/web (events/ecs-deployment-in-progress.json), seconds after the update");
    let started = std::time::Instant::now();
    match watcher.invoke(&in_progress) {
        Outcome::Response(v) => println!(
            "   step {} in {} ms; StopServiceDeployment called: {}",
            v["step"].as_str().unwrap_or("?"),
            started.elapsed().as_millis(),
            v["rolled_back"]
        ),
        Outcome::Error(e) => println!("  invocation error {e}"),
    }
    for (arn, stop_type) in gap.deployments.stops() {
        println!("   ECS received StopServiceDeployment {stop_type} for {arn}: the service goes back to its previous revision");
    }
    let _ = deployment;
    for envelope in queued_alerts(&config, &queue).await {
        println!("   Subject: {}", envelope["Subject"].as_str().unwrap_or(""));
        for line in envelope["Message"].as_str().unwrap_or("").lines().take(6) {
            println!("   | {line}");
        }
        println!("   | …");
    }
    println!("   A nightly RunTask of the same image (no deployment, no hook): its task stops, exit code 255 (events/ecs-task-stopped.json)");
    let mut task = common::event_value("ecs-task-stopped.json");
    task["account"] = ACCOUNT.into();
    task["region"] = REGION.into();
    task["detail"]["clusterArn"] = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod").into();
    task["detail"]["group"] = "family:nightly-report".into();
    task["detail"]["taskDefinitionArn"] =
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/nightly-report:1").into();
    task["detail"]["startedBy"] = "events-rule/nightly-report".into();
    task["detail"]["containers"][0]["image"] = image_uri("grafana", "latest").into();
    task["detail"]["containers"][0]["imageDigest"] = arm.clone().into();
    if let Outcome::Error(e) = watcher.invoke(&task) {
        println!("  invocation error {e}");
    }
    for envelope in queued_alerts(&config, &queue).await {
        println!("   Subject: {}", envelope["Subject"].as_str().unwrap_or(""));
        for line in envelope["Message"].as_str().unwrap_or("").lines().take(6) {
            println!("   | {line}");
        }
        println!("   | …");
    }
    let _ = watcher.stop();

    println!(
        "\n== 8. The CLI against the same registry: deploy gates (check, consumer) and an audit (scan)"
    );
    let cli = |args: &[&str]| {
        println!("\n$ ecr-arch-guard {}", args.join(" "));
        let out = std::process::Command::new(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/ecr-arch-guard"),
        )
        .args(args)
        .env("AWS_ENDPOINT_URL", &gap.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("ALLOW_HTTP_DOWNLOADS", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run target/debug/ecr-arch-guard");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        println!("(exit code {})", out.status.code().unwrap_or(-1));
    };
    cli(&["check", "grafana:multi"]);
    cli(&["check", "grafana:latest", "--format", "json"]);
    cli(&[
        "consumer",
        "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
    ]);
    // scripts/demo runs from the project root.
    cli(&["scan", "--html", "target/scan-report.html"]);

    let _ = guard.stop();
    drop(gap);
    drop(moto);
    println!("\n== Done: moto and the guard are stopped.");
}
