//! `ecr-arch-guard replay`: the events in the dead-letter queue (SQS on moto) are sent back to
//! the function (the real `bootstrap` under AWS's runtime emulator, reached through the Lambda
//! Invoke API the emulator serves) and judged; each is deleted only when the function answered
//! without an error; what still fails stays.

mod common;

use common::images::{ARM_CONFIG, ARM_MANIFEST};
use common::lambda_rie::Lambda;
use common::local_aws::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_replayed_judged_and_deleted_and_failures_stay() {
    let LocalAws { moto, gap, config } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    create_repository(&ecr, "grafana").await;
    let digest = push_image(
        &ecr,
        &gap,
        "grafana",
        ARM_MANIFEST,
        ARM_CONFIG,
        Some("latest"),
    )
    .await;
    let (topic, alerts) = topic_with_queue(&config, "alerts", "alerts").await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dlq = create_queue(&config, "guard-dlq").await;
    // What the dead-letter queue holds: the push the guard could not handle (say the topic was
    // unavailable), as EventBridge writes it (the event itself), and an event it never will.
    let push = push_event("grafana", &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    let mut malformed = push.clone();
    malformed["detail"]
        .as_object_mut()
        .unwrap()
        .remove("repository-name");
    for body in [push.to_string(), malformed.to_string()] {
        sqs.send_message()
            .queue_url(&dlq)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let function = Lambda::start(&gap.endpoint, &[("ALERT_TOPIC_ARN", topic.as_str())]);
    let cli = |args: &[&str]| {
        local_cli(env!("CARGO_BIN_EXE_ecr-arch-guard"), &gap.endpoint)
            .env("AWS_ENDPOINT_URL_LAMBDA", function.invoke_endpoint())
            .args(args)
            .output()
            .unwrap()
    };
    let args = [
        "replay",
        "--queue-url",
        dlq.as_str(),
        "--function",
        "function",
    ];

    let dry = cli(&[&args[..], &["--dry-run"]].concat());
    let text = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(dry.status.code(), Some(0), "{text}");
    assert!(
        text.contains("would replay") && text.contains("ECR Image Action grafana:latest"),
        "{text}"
    );

    let out = cli(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "one kept: {text}{err}");
    assert!(
        text.contains("replayed") && text.contains("mismatch grafana"),
        "{text}"
    );
    assert!(text.contains("1 replayed, 1 kept in the queue"), "{text}");
    assert_eq!(
        queued_alerts(&config, &alerts).await.len(),
        1,
        "the replayed push was judged and alerted"
    );
    let left = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let count = |k| {
        left.attributes()
            .and_then(|a| a.get(&k))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    assert_eq!(
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        1,
        "the malformed event stays in the queue; the replayed one is gone"
    );
    drop((function, gap, moto));
}
