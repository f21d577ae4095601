//! Metrics: the EMF lines the guard writes match AWS's Embedded Metric Format specification
//! (its JSON schema and its rules, checked by tests/aws_reference/emf_reference.py), from the
//! library and from the real `bootstrap` under AWS's Lambda runtime emulator, and they count
//! what happened.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::images::{ARM_CONFIG, ARM_MANIFEST};
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use common::loopback::project;
use ecr_arch_guard::handler::metrics::{Invocation, METRICS, NAMESPACE};
use serde_json::Value;

/// Runs AWS's specification over `lines` (one document per line): (exit code, report).
fn check(lines: &[String]) -> (i32, String) {
    let mut child = Command::new(project().join(".venv/bin/python"))
        .arg(project().join("tests/aws_reference/emf_reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run .venv/bin/python (scripts/setup-python creates it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_line_the_writer_can_produce_matches_the_specification_and_a_broken_one_fails() {
    let busy = Invocation {
        mismatches: 2,
        fits: 1,
        alerts_sent: 2,
        tags_written: 1,
        tags_failed: 1,
        discovery_failures: 3,
        duration_ms: 12.75,
        repositories: vec!["team/web".into()],
        ..Invocation::default()
    };
    let failed = Invocation {
        errors: 1,
        ..Invocation::default()
    };
    let lines: Vec<String> = [
        busy.emf("ecr-arch-guard-guard", 1_764_064_800_000, false),
        busy.emf("ecr-arch-guard-guard", 1_764_064_800_000, true),
        failed.emf("ecr-arch-guard-guard", 1_764_064_800_000, true),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    let (code, report) = check(&lines);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("3 document(s) match"), "{report}");

    let mut broken: Value = serde_json::from_str(&lines[0]).unwrap();
    broken.as_object_mut().unwrap().remove("Mismatches");
    let (code, report) = check(&[broken.to_string()]);
    assert_eq!(
        code, 1,
        "a line CloudWatch would reject must fail: {report}"
    );
    assert!(report.contains("'Mismatches'"), "{report}");
}

/// The lines the function under AWS's runtime emulator writes, one per invocation.
fn emf_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_writes_one_valid_emf_line_per_invocation_counting_what_it_did() {
    let LocalAws { moto, gap, config } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    create_repository(&ecr, "grafana").await;
    let (topic, _queue) = topic_with_queue(&config, "alerts", "alerts").await;
    let digest = push_image(
        &ecr,
        &gap,
        "grafana",
        ARM_MANIFEST,
        ARM_CONFIG,
        Some("latest"),
    )
    .await;
    let mut guard = Lambda::start(
        &gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", topic.as_str()),
            ("ACTIONS", "alert,tag"),
            ("METRICS_PER_REPOSITORY", "true"),
        ],
    );
    let push = push_event("grafana", &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    for event in [
        push.clone(),
        push,
        common::event_value("change-ecs-update-service-scaling.json"),
    ] {
        assert!(matches!(guard.invoke(&event), Outcome::Response(_)));
    }
    // A push event without a repository: malformed, the invocation fails (dead-letter queue).
    let mut missing = push_event("grafana", &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    missing["detail"]
        .as_object_mut()
        .unwrap()
        .remove("repository-name");
    missing["id"] = "malformed".into();
    assert!(matches!(guard.invoke(&missing), Outcome::Error(_)));
    let logs = guard.stop();
    drop((gap, moto));
    let lines = emf_lines(&logs);
    assert_eq!(lines.len(), 4, "one line per invocation:\n{logs}");
    let (code, report) = check(&lines.iter().map(Value::to_string).collect::<Vec<_>>());
    assert_eq!(code, 0, "{report}");
    let first = &lines[0];
    assert_eq!(
        first["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        NAMESPACE
    );
    assert_eq!(first["FunctionName"], "ecr-arch-guard-guard");
    assert_eq!(first["Repository"], "grafana", "opted in");
    for (name, value) in [
        ("Events", 1.0),
        ("Mismatches", 1.0),
        ("AlertsSent", 1.0),
        ("TagsWritten", 1.0),
        ("Errors", 0.0),
    ] {
        assert_eq!(first[name], value, "{name}: {first}");
    }
    assert!(first["Duration"].as_f64().unwrap() > 0.0);
    assert_eq!(
        lines[1]["AlertsSent"], 0.0,
        "a duplicate delivery sends nothing again"
    );
    assert_eq!(lines[2]["Skipped"], 1.0, "the scaling-only change");
    assert!(lines[2].get("Repository").is_none(), "no repository");
    assert_eq!(lines[3]["Errors"], 1.0, "a failed invocation: {}", lines[3]);
    assert_eq!(lines[3]["Events"], 1.0);
    assert_eq!(
        first["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .len(),
        METRICS.len()
    );
}
