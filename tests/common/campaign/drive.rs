//! Driving the function as Lambda does, and reading the outcome back from moto.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use super::super::grafana::REPO;
use super::super::lambda_rie::{Lambda, Outcome};
use super::super::local_aws::*;
use super::events::Event;
use super::{Kind, Report, ATTEMPTS, RETRY_WAITS};
use ecr_arch_guard::aws::s3_objects::{xml_values, S3Objects};

/// Replays `dead_letters` with `ecr-arch-guard replay` (the CLI at `cli`) into `function`,
/// through a dead-letter queue on moto: (replayed, kept in the queue).
pub async fn replay(
    direct: &aws_config::SdkConfig,
    cli: &str,
    endpoint: &str,
    function: &Lambda,
    dead_letters: &[Value],
) -> (usize, usize) {
    let sqs = aws_sdk_sqs::Client::new(direct);
    let dlq = create_queue(direct, "guard-dlq").await;
    for body in dead_letters {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }
    let out = local_cli(cli, endpoint)
        .env("AWS_ENDPOINT_URL_LAMBDA", function.invoke_endpoint())
        .args([
            "replay",
            "--queue-url",
            dlq.as_str(),
            "--function",
            "function",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // "N replayed, M kept in the queue"
    let count = |word: &str| {
        text.lines()
            .rev()
            .find_map(|l| {
                l.split(", ").find_map(|part| {
                    let (n, rest) = part.trim().split_once(' ')?;
                    rest.starts_with(word)
                        .then(|| n.parse::<usize>().ok())
                        .flatten()
                })
            })
            .unwrap_or(0)
    };
    (count("replayed"), count("kept"))
}

/// Counts the alerts in the topic's queue against the mismatching events.
pub async fn count_alerts(
    direct: &aws_config::SdkConfig,
    queue: &str,
    events: &[Event],
    report: &mut Report,
) {
    // Each SNS message once, by its MessageId: a queue message received again after its
    // visibility timeout (30 s) while a long queue is drained is not a second alert; a second
    // Publish of the same alert is (another MessageId).
    let mut alerts: BTreeMap<String, Value> = BTreeMap::new();
    loop {
        let batch = queued_alerts(direct, queue).await;
        if batch.is_empty() {
            break;
        }
        for a in batch {
            let id = a["MessageId"].as_str().unwrap_or_default().to_string();
            alerts.insert(id, a);
        }
    }
    let alerts: Vec<Value> = alerts.into_values().collect();
    let subjects: Vec<String> = alerts
        .iter()
        .map(|a| a["Subject"].as_str().unwrap_or_default().to_string())
        .collect();
    report.subjects = subjects.clone();
    for e in events.iter().filter(|e| e.kind.is_mismatch()) {
        report.mismatches += 1;
        let n = subjects
            .iter()
            .filter(|s| {
                if e.kind == Kind::ConsumerChange {
                    s.contains(&format!("ECS service prod/{}", e.token))
                } else {
                    s.contains(&format!("{REPO}:{}", e.token))
                }
            })
            .count();
        match n {
            0 => report.lost.push(e.token.clone()),
            1 => {}
            n => {
                report.alerted_more_than_once.push((e.token.clone(), n));
                report.duplicates_delivered_twice += usize::from(e.twice);
            }
        }
    }
}

/// One delivery as Lambda's asynchronous invocation makes it: up to [`ATTEMPTS`] attempts while
/// the function fails; `true` when it gave up (the event goes to the dead-letter queue). A hook
/// is invoked synchronously by ECS or CloudFormation: one attempt, its answer.
pub fn deliver(
    lambda: &mut Lambda,
    payload: &Value,
    hook: bool,
    wait: &dyn Fn(usize),
) -> (bool, Vec<(Outcome, Duration)>) {
    let mut attempts = Vec::new();
    let tries = if hook { 1 } else { ATTEMPTS };
    for n in 0..tries {
        if n > 0 {
            wait(n - 1);
        }
        let t = Instant::now();
        let o = lambda.invoke(payload);
        let failed = matches!(o, Outcome::Error(_));
        attempts.push((o, t.elapsed()));
        if !failed {
            return (false, attempts);
        }
    }
    (!hook, attempts)
}

/// The emulator's answer for an invocation it ended at the function's timeout.
pub fn timed_out(err: &Value) -> bool {
    let text = err.to_string();
    text.contains("Timedout") || text.contains("Task timed out")
}

/// Ages every `sending` claim of `event`'s alerts by the wait before Lambda's `retry`-th retry (moto's S3,
/// directly: the harness's own write, outside the faults).
pub async fn age_claims(objects: &S3Objects, event: &Value, retry: usize) {
    let Some(id) = event["id"].as_str() else {
        return;
    };
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let query = format!("list-type=2&prefix=alerts%2F{safe}%2F");
    let Ok(list) = objects
        .send("GET", "", &query, &[], Bytes::new(), "s3:ListBucket")
        .await
    else {
        return;
    };
    for key in xml_values(&list.body, "Key") {
        let Ok(got) = objects.get_object(&key, None).await else {
            continue;
        };
        let Ok(mut record) = serde_json::from_slice::<Value>(&got.body) else {
            continue;
        };
        if record["state"] != "sending" {
            continue;
        }
        let at = record["at"].as_u64().unwrap_or(0);
        record["at"] = at.saturating_sub(RETRY_WAITS[retry.min(1)]).into();
        let _ = objects
            .send(
                "PUT",
                &key,
                "",
                &[("content-type", "application/json")],
                Bytes::from(record.to_string()),
                "s3:PutObject",
            )
            .await;
    }
}

/// The changed services whose slot in the index does not show their new task definition.
pub async fn missing_changes(objects: &S3Objects, changes: &[(String, String)]) -> Vec<String> {
    let key = format!("consumers/{ACCOUNT}/{REGION}.json.gz");
    let Ok(got) = objects.get_object(&key, None).await else {
        return changes.iter().map(|(s, _)| s.clone()).collect();
    };
    let Ok(index) = ecr_arch_guard::consumers::consumer_index::ConsumerIndex::decode(&got.body)
    else {
        return changes.iter().map(|(s, _)| s.clone()).collect();
    };
    changes
        .iter()
        .filter(|(svc, _)| {
            !index.consumers.iter().any(|c| {
                c.name.contains(&format!("prod/{svc}"))
                    && c.image.ends_with(&format!("{REPO}:latest"))
            })
        })
        .map(|(s, _)| s.clone())
        .collect()
}
