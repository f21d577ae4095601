//! `ecr-arch-guard plan` at scale: a Terraform plan of 500 task definitions naming 100 distinct
//! images (5 resources each, by tag), judged by the release CLI against moto's ECR behind the
//! gap filler, with no added latency and with 20 ms added to every AWS call. Prints the wall
//! time and the AWS calls by operation (each image should be read once).
//!
//! Usage: cargo run --release --example plan_bench -- target/release/ecr-arch-guard

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::images::{AMD_CONFIG, AMD_MANIFEST};
use common::local_aws::*;
use serde_json::{json, Value};

const RESOURCES: usize = 500;
const IMAGES: usize = 100;

#[tokio::main]
async fn main() {
    let cli = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/ecr-arch-guard".into());
    let LocalAws { moto, gap, config } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    create_repository(&ecr, "bench").await;
    gap.upload("bench", &common::fixture(AMD_CONFIG));
    // 100 distinct amd64 images: the same config, each manifest with its own annotation.
    let base: Value = serde_json::from_slice(&common::fixture(AMD_MANIFEST)).unwrap();
    for i in 0..IMAGES {
        let mut m = base.clone();
        m["annotations"] = json!({"org.opencontainers.image.version": format!("{i}")});
        let bytes = serde_json::to_vec(&m).unwrap();
        put_manifest(&ecr, "bench", &bytes, OCI_MANIFEST, Some(&format!("v{i}"))).await;
    }
    let changes: Vec<Value> = (0..RESOURCES)
        .map(|n| {
            let image = image_uri("bench", &format!("v{}", n % IMAGES));
            json!({"address": format!("module.svc{n}.aws_ecs_task_definition.app"),
                   "module_address": format!("module.svc{n}"), "mode": "managed",
                   "type": "aws_ecs_task_definition", "name": "app",
                   "change": {"actions": ["create"], "after": {
                       "family": format!("svc{n}"),
                       "container_definitions": json!([{"name": "app", "image": image}]).to_string(),
                       "requires_compatibilities": ["FARGATE"],
                       "runtime_platform": [{"cpu_architecture": "X86_64", "operating_system_family": "LINUX"}]},
                       "after_unknown": {"arn": true}}})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        json!({"format_version": "1.2", "resource_changes": changes}).to_string(),
    )
    .unwrap();

    println!("| latency per AWS call | resources | distinct images | wall time | AWS calls |");
    println!("| --- | --- | --- | --- | --- |");
    for latency in [Duration::ZERO, Duration::from_millis(20)] {
        gap.set_latency(latency);
        gap.take_calls();
        let started = Instant::now();
        let out = local_cli(&cli, &gap.endpoint)
            .args(["plan", plan.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let judged: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(judged.as_array().unwrap().len(), RESOURCES);
        let mut by_op: BTreeMap<String, usize> = BTreeMap::new();
        for c in gap.take_calls() {
            *by_op.entry(c).or_default() += 1;
        }
        let calls: Vec<String> = by_op.iter().map(|(op, n)| format!("{op} {n}")).collect();
        println!(
            "| {} ms | {RESOURCES} | {IMAGES} | {:.2} s | {} |",
            latency.as_millis(),
            took.as_secs_f64(),
            calls.join(", ")
        );
    }
    drop(gap);
    drop(moto);
}
