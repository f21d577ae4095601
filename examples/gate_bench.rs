//! How long the deployment gates take to answer (section 5 of `scripts/bench`): the release
//! `bootstrap` under AWS's Lambda Runtime Interface Emulator, reading ECR and ECS on moto
//! through the harness's proxy, which adds 20 ms to every call and blob download (a fake with
//! the latency of a real AWS call; 0 ms for the floor). Cold: a new function process, its
//! first answer (process start included). Warm: the same process, a new request each time
//! (another resource, so nothing is answered from an earlier request). Medians; the AWS calls
//! one answer makes, counted at the proxy. The CloudFormation hook waits 30 s.
//!
//! Usage: cargo run --release --example gate_bench [-- path/to/bootstrap]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::CpuArchitecture;
use common::bench::{median, ms, summarize};
use common::images;
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use serde_json::Value;

const COLD_RUNS: usize = 7;
const WARM_RUNS: usize = 20;

fn status(o: Outcome) -> String {
    match o {
        Outcome::Response(v) => v["hookStatus"].as_str().unwrap_or("?").to_string(),
        Outcome::Error(e) => panic!("the gate failed its invocation: {e}"),
    }
}

/// Each request distinct (another logical id, or ECS execution id) so none is answered from an
/// earlier one's verdicts.
fn variant(request: &Value, i: usize) -> Value {
    let mut r = request.clone();
    if r.get("requestData").is_some() {
        r["requestData"]["targetLogicalId"] = format!("Resource{i}").into();
    } else {
        r["executionId"] = format!("execution-{i}").into();
    }
    r
}

#[tokio::main]
async fn main() {
    let bin = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/bootstrap"));
    let LocalAws { moto, gap, config } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    create_repository(&ecr, "grafana").await;
    push_image(
        &ecr,
        &gap,
        "grafana",
        images::ARM_MANIFEST,
        images::ARM_CONFIG,
        Some("latest"),
    )
    .await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs_service(
        &ecs,
        "prod",
        "web",
        &image_uri("grafana", "latest"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    let revision = gap.record_service_revision("prod", "web");
    let (topic, _) = topic_with_queue(&config, "alerts", "alerts").await;
    let mut ecs_hook = common::event_value("hook-ecs-pre-scale-up.json");
    ecs_hook["executionDetails"]["targetServiceRevisionArn"] = revision.clone().into();
    ecs_hook["executionDetails"]["serviceArn"] = revision
        .replacen(":service-revision/", ":service/", 1)
        .rsplit_once('/')
        .unwrap()
        .0
        .into();
    // The service update moves it to the task definition moto holds (web:1).
    let mut service_hook = common::event_value("hook-cfn-update-service.json");
    let model = &mut service_hook["requestData"]["targetModel"];
    model["resourceProperties"]["TaskDefinition"] =
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1".into();
    model["previousResourceProperties"]["TaskDefinition"] =
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:0".into();
    let kinds = [
        (
            "CloudFormation: ECS task definition (Fargate)",
            common::event_value("hook-cfn-create-task-definition.json"),
        ),
        ("CloudFormation: ECS service", service_hook),
        (
            "CloudFormation: Lambda function",
            common::event_value("hook-cfn-create-lambda-function.json"),
        ),
        ("ECS lifecycle hook: PRE_SCALE_UP", ecs_hook),
    ];
    let env = [
        ("ALERT_TOPIC_ARN", topic.as_str()),
        ("DEPLOY_GATE", "fail"),
        ("ACTIONS", "alert"),
    ];

    println!(
        "| request (answer) | AWS latency | cold answer (new process) | warm answer | AWS calls per answer (cold) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for latency_ms in [0u64, 20] {
        gap.set_latency(Duration::from_millis(latency_ms));
        for (name, request) in &kinds {
            let mut cold = Vec::new();
            let mut answer = String::new();
            let mut calls = String::new();
            for i in 0..COLD_RUNS {
                let mut lambda = Lambda::start_bin(&bin, &gap.endpoint, &env);
                gap.take_calls();
                let started = Instant::now();
                answer = status(lambda.invoke(&variant(request, i)));
                cold.push(started.elapsed());
                calls = summarize(gap.take_calls());
                lambda.stop();
            }
            let mut lambda = Lambda::start_bin(&bin, &gap.endpoint, &env);
            status(lambda.invoke(&variant(request, 1_000)));
            let mut warm = Vec::new();
            for i in 0..WARM_RUNS {
                let started = Instant::now();
                status(lambda.invoke(&variant(request, 2_000 + i)));
                warm.push(started.elapsed());
            }
            lambda.stop();
            println!(
                "| {name} ({answer}) | {latency_ms} ms | {} | {} | {calls} |",
                ms(median(cold)),
                ms(median(warm)),
            );
        }
    }
    println!(
        "\nmedians of {COLD_RUNS} cold and {WARM_RUNS} warm answers each; cold includes the \
         process start under the emulator; the hook's budget is 30 s, the gate's own deadline 20 s"
    );
    drop(moto);
}
