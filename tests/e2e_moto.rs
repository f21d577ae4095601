//! End to end: the real `bootstrap` binary under a local Lambda Runtime API, against moto
//! (ECR, SNS, SQS) with moto's one gap (GetDownloadUrlForLayer) filled by the harness.
//! Needs `.venv` (created by scripts/test from requirements-dev.txt).

mod common;

use common::images::{ARM_CONFIG, ARM_MANIFEST};
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use serde_json::Value;

struct Local {
    // Field order: the function stops before the servers it talks to.
    gap: GapFiller,
    moto: Moto,
    ecr: aws_sdk_ecr::Client,
    config: aws_config::SdkConfig,
    topic_arn: String,
    queue_url: String,
}

impl Local {
    async fn start(repository: &str) -> Local {
        let LocalAws { moto, gap, config } = LocalAws::start().await;
        let ecr = aws_sdk_ecr::Client::new(&config);
        create_repository(&ecr, repository).await;
        let (topic_arn, queue_url) =
            topic_with_queue(&config, "ecr-arch-guard-alerts", "alerts").await;
        Local {
            gap,
            moto,
            ecr,
            config,
            topic_arn,
            queue_url,
        }
    }

    fn guard(&self, extra: &[(&str, &str)]) -> Lambda {
        let mut env = vec![
            ("ALERT_TOPIC_ARN", self.topic_arn.as_str()),
            ("ACTIONS", "alert,tag"),
        ];
        env.extend_from_slice(extra);
        Lambda::start(&self.gap.endpoint, &env)
    }

    /// Pushes a single-image manifest with its config, as `docker push` does.
    async fn push_single(
        &self,
        repository: &str,
        manifest: &str,
        config: &str,
        tag: &str,
    ) -> Value {
        let digest = push_image(
            &self.ecr,
            &self.gap,
            repository,
            manifest,
            config,
            Some(tag),
        )
        .await;
        push_event(repository, &digest, tag, OCI_MANIFEST, OCI_CONFIG)
    }

    /// Alerts as an SQS subscriber receives them (SNS envelope).
    async fn alerts(&self) -> Vec<Value> {
        queued_alerts(&self.config, &self.queue_url).await
    }

    async fn tags_of(&self, repository: &str) -> Vec<String> {
        image_tags(&self.ecr, repository).await
    }
}

fn response(o: Outcome) -> Value {
    match o {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("invocation failed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mac_pulled_arm64_image_alerts_once_and_is_tagged() {
    let local = Local::start("grafana").await;
    let mut guard = local.guard(&[]);
    let event = local
        .push_single("grafana", ARM_MANIFEST, ARM_CONFIG, "latest")
        .await;
    local.gap.take_calls(); // the harness's own setup calls

    let v = response(guard.invoke(&event));
    // The guard's calls are exactly what the template grants it, no more.
    assert_only_granted(&local.gap.take_calls(), &ecr_arch_guard::aws::IAM_ACTIONS);
    assert_eq!(v["verdict"], "mismatch", "{v:#}");
    assert_eq!(v["platforms"], serde_json::json!(["linux/arm64"]));
    assert_eq!(v["missing"], serde_json::json!(["linux/amd64"]));
    assert_eq!(v["actions"][0]["status"], "tagged");
    assert_eq!(v["actions"][1]["status"], "sent");
    assert_eq!(local.gap.download_count(), 1, "one HTTPS GET of the config");

    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["Subject"], "arm64-only image pushed: grafana:latest");
    let body = a["Message"].as_str().unwrap();
    assert!(
        body.contains("docker pull --platform linux/amd64"),
        "{body}"
    );
    assert!(body.contains("123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:latest"));
    assert!(body.contains("linux/arm64") && body.contains("exec format error"));
    assert_eq!(a["MessageAttributes"]["verdict"]["Value"], "mismatch");
    assert_eq!(
        a["MessageAttributes"]["architectures"]["Value"],
        r#"["arm64"]"#
    );

    let tags = local.tags_of("grafana").await;
    assert!(tags.contains(&"latest-arm64-only".to_string()), "{tags:?}");

    // ECR then emits a push event for the marker tag: recognised, nothing sent.
    let digest = event["detail"]["image-digest"].as_str().unwrap();
    let marker = push_event(
        "grafana",
        digest,
        "latest-arm64-only",
        OCI_MANIFEST,
        OCI_CONFIG,
    );
    let v = response(guard.invoke(&marker));
    assert_eq!(v["verdict"], "skipped");
    assert!(local.alerts().await.is_empty());

    let logs = guard.stop();
    assert!(logs.contains("\"verdict\""), "verdicts are logged: {logs}");
    assert!(!logs.contains("X-Amz-Signature") && !logs.contains("local-presigned-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buildx_multi_platform_push_fits_without_alert_or_tag() {
    let local = Local::start("hello-world").await;
    let mut guard = local.guard(&[]);
    // buildx pushes the children untagged, then the index under the tag.
    let (child, index) = push_multi_platform(&local.ecr, &local.gap, "hello-world", "latest").await;

    let v = response(guard.invoke(&push_event(
        "hello-world",
        &child,
        "",
        OCI_MANIFEST,
        OCI_CONFIG,
    )));
    assert_eq!(v["verdict"], "skipped");
    let v = response(guard.invoke(&push_event(
        "hello-world",
        &index,
        "latest",
        OCI_INDEX,
        OCI_INDEX,
    )));
    assert_eq!(v["verdict"], "fits", "{v:#}");
    assert!(v["platforms"].as_array().unwrap().len() > 5);
    assert!(local.alerts().await.is_empty());
    assert_eq!(
        local.tags_of("hello-world").await,
        vec!["latest".to_string()]
    );
    assert_eq!(
        local.gap.download_count(),
        0,
        "platforms came from the index alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_failure_events_are_skipped_and_send_nothing() {
    let local = Local::start("grafana").await;
    let mut guard = local.guard(&[]);
    let push = local
        .push_single("grafana", ARM_MANIFEST, ARM_CONFIG, "latest")
        .await;
    for (field, value) in [("action-type", "DELETE"), ("result", "FAILURE")] {
        let mut e = push.clone();
        e["detail"][field] = value.into();
        e["id"] = format!("evt-{value}").into();
        let v = response(guard.invoke(&e));
        assert_eq!(v["verdict"], "skipped", "{value}");
    }
    assert!(local.alerts().await.is_empty());
    assert_eq!(local.tags_of("grafana").await, vec!["latest".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_filter_policies_route_alerts_by_architecture_and_verdict() {
    let local = Local::start("grafana").await;
    let subscribe = |queue: &'static str, policy: &'static str| {
        subscribe_queue(&local.config, &local.topic_arn, queue, Some(policy))
    };
    let arm_team = subscribe("arm-team", r#"{"architectures": ["arm64"]}"#).await;
    let s390x_team = subscribe("s390x-team", r#"{"architectures": ["s390x"]}"#).await;
    let mismatches = subscribe(
        "mismatches",
        r#"{"verdict": ["mismatch"], "repository": ["grafana"]}"#,
    )
    .await;
    let mut guard = local.guard(&[]);
    let event = local
        .push_single("grafana", ARM_MANIFEST, ARM_CONFIG, "latest")
        .await;
    assert_eq!(response(guard.invoke(&event))["verdict"], "mismatch");

    let arm = queued_alerts(&local.config, &arm_team).await;
    assert_eq!(
        arm.len(),
        1,
        "the arm64 filter matches the String.Array attribute"
    );
    assert_eq!(
        arm[0]["MessageAttributes"]["architectures"]["Type"],
        "String.Array"
    );
    assert_eq!(
        arm[0]["MessageAttributes"]["architectures"]["Value"],
        r#"["arm64"]"#
    );
    assert!(queued_alerts(&local.config, &s390x_team).await.is_empty());
    assert_eq!(queued_alerts(&local.config, &mismatches).await.len(), 1);
    assert_eq!(
        local.alerts().await.len(),
        1,
        "the unfiltered queue gets it too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_tag_for_arm64_makes_the_arm64_image_fit() {
    let local = Local::start("edge-agent").await;
    require_platforms(&local.ecr, "edge-agent", "linux/arm64").await;
    let mut guard = local.guard(&[]);
    let event = local
        .push_single("edge-agent", ARM_MANIFEST, ARM_CONFIG, "v1")
        .await;
    let v = response(guard.invoke(&event));
    assert_eq!(v["verdict"], "fits", "{v:#}");
    assert_eq!(v["required_from"], "repository-tag");
    assert!(local.alerts().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_unavailable_fails_the_invocation_so_lambda_retries() {
    let local = Local::start("grafana").await;
    let missing_topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic");
    let mut guard = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", missing_topic.as_str()),
            ("ACTIONS", "alert"),
        ],
    );
    let event = local
        .push_single("grafana", ARM_MANIFEST, ARM_CONFIG, "latest")
        .await;
    match guard.invoke(&event) {
        Outcome::Error(e) => {
            let text = e.to_string();
            assert!(text.contains("alert not sent"), "{text}");
        }
        Outcome::Response(v) => panic!("expected an invocation error, got {v:#}"),
    }
    let _ = &local.moto;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_presigned_urls_or_credentials_at_any_level() {
    const SECRET: &str = "wJalrXUtnFEMI-distinctive-secret-key";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEDistinctiveSessionToken";
    for level in ["INFO", "DEBUG", "TRACE"] {
        let local = Local::start("grafana").await;
        let mut guard = local.guard(&[
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", TOKEN),
            ("AWS_LAMBDA_LOG_LEVEL", level),
        ]);
        let event = local
            .push_single("grafana", ARM_MANIFEST, ARM_CONFIG, "latest")
            .await;
        let v = response(guard.invoke(&event));
        assert_eq!(v["verdict"], "mismatch");
        let logs = guard.stop();
        assert!(
            logs.contains("\"verdict\""),
            "{level}: the verdict is logged"
        );
        assert!(
            logs.contains("\"requestId\""),
            "{level}: log lines carry the invocation's request id (lambda_runtime's span)"
        );
        assert_eq!(
            logs.contains("\"level\":\"DEBUG\""),
            level != "INFO",
            "{level}: DEBUG lines appear exactly when asked for"
        );
        for secret in [SECRET, TOKEN, "X-Amz-Signature", "local-presigned-secret"] {
            assert!(
                !logs.contains(secret),
                "{level}: {secret} leaked into the logs"
            );
        }
    }
}

/// ECR sends a PUSH event for every tag put on an image, the guard's marker included. Each new
/// tag's event is delivered back here, as ECR would, until nothing new appears. Found on the
/// real binary before the fix: an architecture outside a fixed list of twelve (`wasm`,
/// `ppc64`) made `latest-wasm-only` look like a user's tag, so it was judged and tagged
/// `latest-wasm-only-wasm-only`, and so on (5 chained tags and 5 alerts after 4 rounds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_tags_never_chain_whatever_the_architecture_or_template() {
    let local = Local::start("edge").await;
    for (i, (os, arch, template)) in [
        ("wasi", "wasm", "{tag}-{arch}-only"),
        ("linux", "ppc64", "{tag}-{arch}-only"),
        ("linux", "sparc64", "guard-{digest12}-{arch}"),
        ("wasip1", "wasm", "{arch}.only.{tag}"),
    ]
    .into_iter()
    .enumerate()
    {
        let repository = format!("edge-{i}");
        create_repository(&local.ecr, &repository).await;
        let mut guard = local.guard(&[("TAG_TEMPLATE", template)]);
        // A single-platform image for os/arch (synthetic: no public image of each exists).
        let config = format!(
            r#"{{"architecture":"{arch}","os":"{os}","config":{{}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let config_digest = local.gap.upload(&repository, config.as_bytes());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"{config_digest}","size":{}}},"layers":[]}}"#,
            config.len()
        );
        let digest = put_manifest(
            &local.ecr,
            &repository,
            manifest.as_bytes(),
            OCI_MANIFEST,
            Some("latest"),
        )
        .await;
        let mut seen = vec!["latest".to_string()];
        let mut pending = vec!["latest".to_string()];
        let mut verdicts = Vec::new();
        while let Some(tag) = pending.pop() {
            assert!(verdicts.len() < 5, "{template}/{arch}: chain {seen:?}");
            let event = push_event(&repository, &digest, &tag, OCI_MANIFEST, OCI_CONFIG);
            verdicts.push(response(guard.invoke(&event))["verdict"].clone());
            for t in local.tags_of(&repository).await {
                if !seen.contains(&t) {
                    seen.push(t.clone());
                    pending.push(t);
                }
            }
        }
        assert_eq!(seen.len(), 2, "{template}/{arch}: one marker, {seen:?}");
        assert_eq!(verdicts, ["mismatch", "skipped"], "{template}/{arch}");
        assert_eq!(
            local.alerts().await.len(),
            1,
            "{template}/{arch}: one alert"
        );
        guard.stop();
    }
}

/// ECR replication copies an image into this region and sends "ECR Replication Action" here,
/// not "ECR Image Action". The guard judges it against this region's own policy. With the
/// default (`REPLICATION=local-policy`) it acts only when this region's repository tag or
/// consumers decide: against the rules and default, the guard of the region it was pushed to
/// already judged it and sent the alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_images_are_judged_where_they_land_without_a_second_alert() {
    let local = Local::start("grafana").await;
    for repository in ["edge", "judged"] {
        create_repository(&local.ecr, repository).await;
    }
    // What replication put here: the Mac-pulled arm64 image, in three repositories.
    let mut digest = String::new();
    for repository in ["grafana", "edge", "judged"] {
        digest = push_image(
            &local.ecr,
            &local.gap,
            repository,
            ARM_MANIFEST,
            ARM_CONFIG,
            Some("latest"),
        )
        .await;
    }
    // The destination's own requirement for one repository.
    require_platforms(&local.ecr, "edge", "linux/amd64").await;

    let mut guard = local.guard(&[]);
    // Default policy only: judged, reported in the verdict, no alert, no tag.
    let v = response(guard.invoke(&replication_event(
        "grafana",
        &digest,
        "latest",
        "us-west-2",
    )));
    assert_eq!(v["verdict"], "mismatch", "{v:#}");
    assert_eq!(v["required_from"], "default");
    assert_eq!(v["actions"], serde_json::json!([]));
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("replicated from 123456789012 (us-west-2)"),
        "{v:#}"
    );
    // The destination's repository tag decides: alert and marker tag, here.
    let v = response(guard.invoke(&replication_event("edge", &digest, "latest", "us-west-2")));
    assert_eq!(v["verdict"], "mismatch");
    assert_eq!(v["required_from"], "repository-tag", "{v:#}");
    assert_eq!(v["actions"][0]["status"], "tagged", "{v:#}");
    assert_eq!(v["actions"][1]["status"], "sent");
    let alerts = local.alerts().await;
    assert_eq!(alerts.len(), 1, "only the repository-tag decision alerts");
    assert!(alerts[0]["Message"]
        .as_str()
        .unwrap()
        .contains("/edge:latest"));
    // The source region's marker tag, replicated here: recognised, nothing done.
    let v = response(guard.invoke(&replication_event(
        "grafana",
        &digest,
        "latest-arm64-only",
        "us-west-2",
    )));
    assert_eq!(v["verdict"], "skipped", "{v:#}");
    guard.stop();

    // REPLICATION=judge: every replicated image alerts in every region.
    let mut guard = local.guard(&[("REPLICATION", "judge")]);
    let v = response(guard.invoke(&replication_event("judged", &digest, "latest", "us-west-2")));
    assert_eq!(v["actions"][1]["status"], "sent", "{v:#}");
    assert_eq!(local.alerts().await.len(), 1);
    guard.stop();

    // REPLICATION=off: not judged at all, no call.
    let mut guard = local.guard(&[("REPLICATION", "off")]);
    local.gap.take_calls();
    let v = response(guard.invoke(&replication_event("judged", &digest, "v2", "us-west-2")));
    assert_eq!(v["verdict"], "skipped");
    assert!(v["reason"].as_str().unwrap().contains("REPLICATION=off"));
    assert!(local.gap.take_calls().is_empty());
    // AWS's documented failed replication and pull-through-cache samples: skipped.
    for name in [
        "ecr-event-replication-failed.json",
        "ecr-event-pull-through-cache.json",
    ] {
        let e: Value = serde_json::from_slice(&common::fixture(name)).unwrap();
        assert_eq!(response(guard.invoke(&e))["verdict"], "skipped", "{name}");
    }
    assert!(local.alerts().await.is_empty());
}
