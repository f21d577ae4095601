//! The Lambda's figures (`scripts/bench` runs this after building the release `bootstrap`):
//! cold init, first-event latency against moto, warm per-event latency, peak RSS over 1,000
//! events, binary size, and the AWS API calls each kind of event makes (counted at the
//! harness's proxy in front of moto). Medians of >= 20 runs.
//!
//! Usage: cargo run --release --example bench_lambda [-- path/to/bootstrap] [--startup]
//! (`--startup`: only the start-up table, which needs no moto.)

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::bench::{median, ms, summarize};
use common::images;
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;

const RUNS: usize = 20;

fn response(o: Outcome) -> serde_json::Value {
    match o {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("invocation failed: {e}"),
    }
}

fn with_id(mut e: serde_json::Value, id: &str) -> serde_json::Value {
    e["id"] = id.into();
    e
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Spawn → the function's first `GET /2018-06-01/runtime/invocation/next`, against a listener
/// that only notes when it arrives (no emulator in between): the start-up as the issue defines
/// it. Returns the duration and the function's stdout up to then (its init log lines).
fn spawn_to_first_next(bin: &std::path::Path, env: &[(&str, &str)]) -> (Duration, String) {
    use std::io::{BufRead, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut cmd = std::process::Command::new(bin);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "ecr-arch-guard-guard")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/guard")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let (mut stream, _) = listener.accept().unwrap();
    let mut reader = std::io::BufReader::new(&mut stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let took = started.elapsed();
    assert!(line.contains("/runtime/invocation/next"), "{line}");
    let _ = child.kill();
    let _ = child.wait();
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    (took, out)
}

/// A number field of a JSON log line (`"config_us":1234`).
fn log_field(logs: &str, message: &str, field: &str) -> Option<f64> {
    logs.lines()
        .filter(|l| l.contains(message))
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["fields"][field].as_f64())
}

/// Start-up of the hello-world floor and of the guard, alternating in one run, medians.
fn startup_table(bin: &std::path::Path) {
    let hello = bin.with_file_name("examples").join("hello_lambda");
    let guard_env: &[(&str, &str)] = &[("ACTIONS", "none")];
    let all_env: &[(&str, &str)] = &[("ACTIONS", "none"), ("DISCOVER", "all")];
    let (mut floor, mut guard, mut all) = (Vec::new(), Vec::new(), Vec::new());
    let mut steps: Vec<[f64; 4]> = Vec::new();
    for _ in 0..RUNS {
        if hello.exists() {
            floor.push(spawn_to_first_next(&hello, &[]).0);
        }
        let (took, logs) = spawn_to_first_next(bin, guard_env);
        guard.push(took);
        steps.push([
            log_field(&logs, "initialised", "settings_us").unwrap_or(f64::NAN),
            log_field(&logs, "guard wired", "config_us").unwrap_or(f64::NAN),
            log_field(&logs, "guard wired", "clients_us").unwrap_or(f64::NAN),
            log_field(&logs, "initialised", "total_us").unwrap_or(f64::NAN),
        ]);
        all.push(spawn_to_first_next(bin, all_env).0);
    }
    let median_of = |i: usize| {
        let mut v: Vec<f64> = steps.iter().map(|s| s[i]).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2] / 1000.0
    };
    let guard = median(guard);
    println!(
        "| start-up: spawn → first `GET /runtime/invocation/next`, guard | {} | {RUNS} |",
        ms(guard)
    );
    println!(
        "| start-up, guard with `DISCOVER=all` | {} | {RUNS} |",
        ms(median(all))
    );
    if !floor.is_empty() {
        let floor = median(floor);
        println!(
            "| start-up, bare `lambda_runtime` hello-world (same package, profile and link) | {} | {RUNS} |",
            ms(floor)
        );
        println!(
            "| start-up ratio, guard / hello-world (medians of this run) | {:.2}x | {RUNS} |",
            guard.as_secs_f64() / floor.as_secs_f64()
        );
    }
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "| binary size, guard / hello-world | {} B / {} B | |",
        size(bin),
        size(&hello)
    );
    println!(
        "| in the guard's main: logging + settings {:.2} ms, AWS configuration {:.2} ms, clients {:.2} ms, main total {:.2} ms | | {RUNS} |",
        median_of(0),
        median_of(1),
        median_of(2),
        median_of(3)
    );
}

#[tokio::main]
async fn main() {
    let startup_only = std::env::args().any(|a| a == "--startup");
    let bin = std::env::args()
        .skip(1)
        .find(|a| a != "--startup")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/bootstrap")
        });
    assert!(
        bin.exists(),
        "{} missing: cargo build --release -p ecr-arch-guard-lambda",
        bin.display()
    );

    if startup_only {
        println!("| figure | median | runs |");
        println!("| --- | --- | --- |");
        startup_table(&bin);
        return;
    }
    let LocalAws {
        moto: _moto,
        gap,
        config,
    } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    create_repository(&ecr, "grafana").await;
    let (topic, _queue) = topic_with_queue(&config, "alerts", "alerts").await;

    let (child, index) = push_multi_platform(&ecr, &gap, "grafana", "multi").await;
    let arm = push_image(
        &ecr,
        &gap,
        "grafana",
        images::ARM_MANIFEST,
        images::ARM_CONFIG,
        Some("latest"),
    )
    .await;
    let index_event = push_event("grafana", &index, "multi", OCI_INDEX, OCI_INDEX);
    let single_event = push_event("grafana", &arm, "latest", OCI_MANIFEST, OCI_CONFIG);
    let alert_env = [
        ("ALERT_TOPIC_ARN", topic.as_str()),
        ("ACTIONS", "alert,tag"),
    ];

    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::env::consts::ARCH
    );
    println!("bootstrap: {}", bin.display());
    println!();
    println!("| figure | median | runs |");
    println!("| --- | --- | --- |");
    startup_table(&bin);

    // Cold init: process start to the first GET /runtime/invocation/next, as AWS's runtime
    // emulator reports it (INIT REPORT durationMs); it starts the function on the first
    // invocation, here an event that costs no AWS call.
    let delete = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/delete.json"))
            .unwrap(),
    )
    .unwrap();
    let start_warm = |env: &[(&str, &str)]| {
        let mut f = Lambda::start_bin(&bin, &gap.endpoint, env);
        response(f.invoke(&delete));
        f
    };
    for (label, env) in [
        ("cold init (discovery off)", vec![("ACTIONS", "none")]),
        (
            "cold init (DISCOVER=all)",
            vec![("ACTIONS", "none"), ("DISCOVER", "all")],
        ),
    ] {
        let mut inits = Vec::new();
        for _ in 0..RUNS {
            let f = start_warm(&env);
            inits.push(f.init_duration().expect("INIT REPORT"));
        }
        println!("| {label} | {} | {RUNS} |", ms(median(inits)));
    }

    // First event of a fresh process (cold caches, cold connections) against moto.
    for (label, event) in [
        (
            "first event: single-image mismatch, tag + alert",
            &single_event,
        ),
        ("first event: multi-platform index, fits", &index_event),
    ] {
        let mut firsts = Vec::new();
        for i in 0..RUNS {
            let mut f = start_warm(&alert_env);
            let start = Instant::now();
            response(f.invoke(&with_id(event.clone(), &format!("first-{label}-{i}"))));
            firsts.push(start.elapsed());
        }
        println!("| {label} | {} | {RUNS} |", ms(median(firsts)));
    }

    // Warm: the same function, new events for a digest it has judged (no AWS call): the
    // guard's own cost plus the Runtime API round trip.
    let mut f = Lambda::start_bin(&bin, &gap.endpoint, &alert_env);
    response(f.invoke(&with_id(index_event.clone(), "warm-0")));
    let mut warm = Vec::new();
    for i in 1..=200 {
        let start = Instant::now();
        response(f.invoke(&with_id(index_event.clone(), &format!("warm-{i}"))));
        warm.push(start.elapsed());
    }
    println!(
        "| warm event, cached digest (invoke through AWS's runtime emulator included) | {} | 200 |",
        ms(median(warm))
    );
    drop(f);

    // Peak RSS over 1,000 events: 100 distinct images (each read once), the rest cached.
    let mut digests = Vec::new();
    for i in 0..100 {
        let cfg = format!(
            r#"{{"architecture":"{}","os":"linux","config":{{}},"history":[{{"created_by":"{i}"}}]}}"#,
            if i % 2 == 0 { "arm64" } else { "amd64" }
        );
        let d = gap.upload("grafana", cfg.as_bytes());
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"{d}","size":{}}},"layers":[]}}"#,
            cfg.len()
        );
        digests.push(
            put_manifest(
                &ecr,
                "grafana",
                m.as_bytes(),
                OCI_MANIFEST,
                Some(&format!("v{i}")),
            )
            .await,
        );
    }
    let mut f = Lambda::start_bin(&bin, &gap.endpoint, &[("ACTIONS", "none")]);
    let started = Instant::now();
    for i in 0..1000 {
        let d = &digests[i % digests.len()];
        let e = push_event(
            "grafana",
            d,
            &format!("v{}", i % 100),
            OCI_MANIFEST,
            OCI_CONFIG,
        );
        response(f.invoke(&with_id(e, &format!("rss-{i}"))));
    }
    let took = started.elapsed();
    println!(
        "| peak RSS over 1,000 events (VmHWM) | {:.1} MiB | 1 |",
        peak_rss_kib(f.function_pid().expect("function running")) as f64 / 1024.0
    );
    println!(
        "| 1,000 events (100 distinct images), wall | {} total, {:.0} events/s | 1 |",
        ms(took),
        1000.0 / took.as_secs_f64()
    );
    drop(f);

    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    println!(
        "| bootstrap binary (release, stripped) | {:.2} MiB | - |",
        size as f64 / 1024.0 / 1024.0
    );

    // API calls per event kind, counted at the proxy.
    println!();
    println!("| event | verdict | AWS calls |");
    println!("| --- | --- | --- |");
    let mut f = start_warm(&alert_env);
    gap.take_calls();
    let kinds = [
        (
            "untagged child of a multi-platform push",
            push_event("grafana", &child, "", OCI_MANIFEST, OCI_CONFIG),
        ),
        ("tagged multi-platform index (cold)", index_event.clone()),
        (
            "tagged single image, arm64-only (cold)",
            single_event.clone(),
        ),
        (
            "our marker tag's push",
            push_event(
                "grafana",
                &arm,
                "latest-arm64-only",
                OCI_MANIFEST,
                OCI_CONFIG,
            ),
        ),
        (
            "same digest under a new tag (warm)",
            push_event("grafana", &arm, "prod", OCI_MANIFEST, OCI_CONFIG),
        ),
        (
            "same event delivered again",
            push_event("grafana", &arm, "prod", OCI_MANIFEST, OCI_CONFIG),
        ),
    ];
    for (label, event) in kinds {
        let v = response(f.invoke(&event));
        println!(
            "| {label} | {} | {} |",
            v["verdict"].as_str().unwrap_or("?"),
            summarize(gap.take_calls())
        );
    }
    drop(f);

    // Discovery on: cold listing, then warm within the TTL.
    let role = create_role(&gap.endpoint, "fn-role").await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs_service(&ecs, "prod", "web", &image_uri("grafana", "latest"), None).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    lambda_image_function(
        &lambda,
        &role,
        "resize",
        &image_uri("grafana", "multi"),
        aws_sdk_lambda::types::Architecture::Arm64,
    )
    .await;
    let mut env = alert_env.to_vec();
    env.push(("DISCOVER", "ecs,lambda"));
    let mut f = start_warm(&env);
    gap.take_calls();
    for (label, event) in [
        (
            "DISCOVER=ecs,lambda: single image (cold listing)",
            with_id(single_event.clone(), "disc-1"),
        ),
        (
            "DISCOVER=ecs,lambda: index (warm, within the TTL)",
            with_id(index_event.clone(), "disc-2"),
        ),
    ] {
        let v = response(f.invoke(&event));
        println!(
            "| {label} | {} | {} |",
            v["verdict"].as_str().unwrap_or("?"),
            summarize(gap.take_calls())
        );
    }
    drop(f);

    // Consumer changes (ConsumerChanges=true), discovery off, a fresh function: ECS service
    // prod/web above runs grafana:latest (arm64 only) on Fargate, cpuArchitecture unset.
    let mut f = start_warm(&alert_env);
    gap.take_calls();
    for (label, sample) in [
        (
            "consumer change: CreateService prod/web (cold)",
            "change-ecs-create-service.json",
        ),
        (
            "consumer change: UpdateService, desiredCount only",
            "change-ecs-update-service-scaling.json",
        ),
    ] {
        let v = response(f.invoke(&common::event_value(sample)));
        println!(
            "| {label} | {} | {} |",
            v[0]["verdict"].as_str().unwrap_or("?"),
            summarize(gap.take_calls())
        );
    }
}
