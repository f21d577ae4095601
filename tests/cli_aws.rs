//! The CLI against ECR on moto (issue 5's harness): `check` and `consumer` as deploy gates,
//! `scan` as an audit, `event` running the Lambda handler with and without `--dry-run`.

mod common;

use std::process::Output;

use common::fixture;
use common::images::{AMD_CONFIG, AMD_MANIFEST, ARM_CONFIG, ARM_MANIFEST};
use common::local_aws::*;
use serde_json::Value;

const SBOM: &str = "oci-artifact-manifest-sbom-with-subject-regclient.json";

/// Moto with three repositories:
/// - `hello-world`: a buildx push (amd64 child untagged, then the index with attestations as
///   `latest`);
/// - `grafana`: the Mac accident (`latest`, arm64 only), an SBOM artifact (`sbom`), and an old
///   untagged amd64 image that is nobody's child;
/// - `team/api`: the arm64 image as `v1`, with the repository tag saying arm64 is what it needs.
struct World {
    gap: GapFiller,
    _moto: Moto,
    config: aws_config::SdkConfig,
    arm_digest: String,
    index_digest: String,
}

impl World {
    async fn start() -> World {
        let LocalAws { moto, gap, config } = LocalAws::start().await;
        let ecr = aws_sdk_ecr::Client::new(&config);
        for r in ["hello-world", "grafana", "team/api"] {
            create_repository(&ecr, r).await;
        }
        let (_, index_digest) = push_multi_platform(&ecr, &gap, "hello-world", "latest").await;

        gap.upload("grafana", &fixture(ARM_CONFIG));
        gap.upload("grafana", &fixture(AMD_CONFIG));
        let arm_digest = put_manifest(
            &ecr,
            "grafana",
            &fixture(ARM_MANIFEST),
            OCI_MANIFEST,
            Some("latest"),
        )
        .await;
        put_manifest(&ecr, "grafana", &fixture(SBOM), OCI_MANIFEST, Some("sbom")).await;
        put_manifest(&ecr, "grafana", &fixture(AMD_MANIFEST), OCI_MANIFEST, None).await;

        push_image(&ecr, &gap, "team/api", ARM_MANIFEST, ARM_CONFIG, Some("v1")).await;
        require_platforms(&ecr, "team/api", "linux/arm64").await;
        World {
            gap,
            _moto: moto,
            config,
            arm_digest,
            index_digest,
        }
    }

    fn cli(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = local_cli(env!("CARGO_BIN_EXE_ecr-arch-guard"), &self.gap.endpoint);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_is_a_deploy_gate() {
    let w = World::start().await;

    let o = w.cli(&["check", "hello-world:latest", "--format", "json"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["verdict"], "fits");
    assert_eq!(v["digest"], w.index_digest.as_str());

    let o = w.cli(&["check", "grafana"], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("MISMATCH: linux/amd64 missing"), "{text}");
    assert!(
        text.contains("docker pull --platform linux/amd64"),
        "{text}"
    );

    // Full ECR URI, by digest.
    let uri = format!(
        "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/grafana@{}",
        w.arm_digest
    );
    let o = w.cli(&["check", &uri, "--format", "json"], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(json(&o)["missing"], serde_json::json!(["linux/amd64"]));

    // The repository tag decides for team/api; --require overrides everything.
    let o = w.cli(&["check", "team/api:v1", "--format", "json"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["required_from"], "repository-tag");
    let o = w.cli(
        &[
            "check",
            "team/api:v1",
            "--require",
            "linux/amd64,linux/arm64",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["required_from"], "flag");

    // RULES from the environment, as the Lambda reads them.
    let o = w.cli(
        &["check", "grafana:latest", "--format", "json"],
        &[("RULES", "graf*=linux/arm64")],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["required_from"], "rule:graf*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_errors_exit_2_with_a_clear_message() {
    let w = World::start().await;
    for (args, expect) in [
        (vec!["check", "Grafana:latest"], "invalid repository name"),
        (
            vec!["check", "docker.io/grafana/grafana:latest"],
            "only Amazon ECR",
        ),
        (
            vec!["check", "grafana:nope"],
            "tag nope in repository grafana",
        ),
        (vec!["check", "nothere:v1"], "repository nothere"),
        (
            vec!["check", "grafana", "--require", "arm64"],
            "invalid platform",
        ),
    ] {
        let o = w.cli(&args, &[]);
        assert_eq!(code(&o), 2, "{args:?}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("error: ") && err.contains(expect),
            "{args:?}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_audits_every_repository_and_judges_children_with_their_index() {
    let w = World::start().await;
    let o = w.cli(&["scan", "--format", "json", "--concurrency", "4"], &[]);
    assert_eq!(code(&o), 1, "a mismatch exists: {}", stderr(&o));
    let v = json(&o);
    let rows: Vec<String> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let tags: Vec<&str> = r["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            format!(
                "{} [{}] {}",
                r["repository"].as_str().unwrap(),
                tags.join(","),
                r["verdict"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            "grafana [latest] mismatch",
            "grafana [] fits",
            "hello-world [latest] fits",
            "team/api [v1] fits",
            "grafana [sbom] not-an-image",
        ],
        "mismatches first; the hello-world child is judged with its index"
    );
    assert_eq!(v["children_skipped"], 1);

    // JSON lines: the same rows, one object per line.
    let o = w.cli(&["scan", "--format", "jsonl"], &[]);
    assert_eq!(code(&o), 1);
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), rows.len());
    assert_eq!(lines[0]["repository"], "grafana");
    assert_eq!(lines[0]["verdict"], "mismatch");

    // Filters, CSV and the text table.
    let o = w.cli(
        &[
            "scan",
            "--repository",
            "grafana",
            "--tagged-only",
            "--format",
            "csv",
        ],
        &[],
    );
    assert_eq!(code(&o), 1);
    let csv = stdout(&o);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "repository,tags,digest,verdict,platforms,required,missing,consumers,reason"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("grafana,latest,sha256:")
            && lines[1].contains(",mismatch,linux/arm64,linux/amd64,linux/amd64,")
    );

    let o = w.cli(
        &["scan", "--repository", "hello-*", "--repository", "team/*"],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let table = stdout(&o);
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(table.contains("2 images: 0 mismatch, 2 fits"), "{table}");

    let o = w.cli(&["scan", "--since", "2999-01-01"], &[]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("0 images"));

    // The HTML report, linked from the table's summary.
    let page = std::env::temp_dir().join(format!("scan-{}.html", std::process::id()));
    let o = w.cli(&["scan", "--html", page.to_str().unwrap()], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(&format!("HTML report: {}\n", page.display())),
        "{}",
        stdout(&o)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let _ = std::fs::remove_file(&page);
    assert!(
        html.contains("<td>grafana</td><td class=\"num\">3</td><td class=\"num\">1</td>"),
        "{html}"
    );
    let images = &html[html.find("<h2>Images").unwrap()..];
    assert!(images.find("mismatch").unwrap() < images.find(">fits<").unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_runs_the_handler_and_dry_run_takes_no_action() {
    let w = World::start().await;
    let (topic, queue) = topic_with_queue(&w.config, "alerts", "alerts").await;
    let event = push_event("grafana", &w.arm_digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, event.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let ecr = aws_sdk_ecr::Client::new(&w.config);
    let env = [
        ("ALERT_TOPIC_ARN", topic.as_str()),
        ("ACTIONS", "alert,tag"),
    ];

    let o = w.cli(&["event", file, "--dry-run"], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    let actions: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["would-tag", "would-send"]);
    assert!(
        !image_tags(&ecr, "grafana")
            .await
            .contains(&"latest-arm64-only".to_string()),
        "dry run added no tag"
    );
    assert!(
        queued_alerts(&w.config, &queue).await.is_empty(),
        "dry run sent no alert"
    );

    // Without --dry-run: exactly what the Lambda does.
    let o = w.cli(&["event", file, "--format", "text"], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Action:    tag tagged (latest-arm64-only)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(queued_alerts(&w.config, &queue).await.len(), 1);

    let o = w.cli(&["event", "/nonexistent.json"], &env);
    assert_eq!(code(&o), 2);
    let o = w.cli(&["event", "-"], &env);
    assert_eq!(code(&o), 2, "empty stdin is not an event");
    assert!(stderr(&o).contains("not an EventBridge event"));
}

/// `consumer ARN` judges what an ECS service or task definition runs now against it: exit 1
/// when the image will not run there, 0 when it fits, 2 for an ARN that names nothing or is not
/// a consumer's, each with a message that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_is_a_deploy_gate_for_a_service_or_task_definition() {
    let w = World::start().await;
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let uri = |r: &str, t: &str| format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{r}:{t}");
    ecs_service(
        &ecs,
        "prod",
        "web",
        &uri("grafana", "latest"),
        Some(aws_sdk_ecs::types::CpuArchitecture::X8664),
    )
    .await;
    ecs_service(
        &ecs,
        "prod",
        "api",
        &uri("team/api", "v1"),
        Some(aws_sdk_ecs::types::CpuArchitecture::Arm64),
    )
    .await;
    let arn = |what: &str| format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{what}");

    let o = w.cli(&["consumer", &arn("service/prod/web")], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Consumer:  ECS service prod/web"), "{text}");
    assert!(!text.contains("Change:"), "judged on demand: {text}");
    assert!(
        text.contains("ECS service prod/web (X86_64, Fargate): will fail with exec format error"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "docker buildx imagetools inspect {}",
            uri("grafana", "latest")
        )),
        "{text}"
    );

    let o = w.cli(
        &[
            "consumer",
            &arn("task-definition/api:1"),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v[0]["verdict"], "fits");
    assert_eq!(v[0]["change"]["consumer"], "ECS task definition api:1");
    assert!(v[0]["change"].get("event_name").is_none(), "{v:#}");

    // `event` runs the Lambda's handler on a consumer change too (the sample names prod/web).
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/change-ecs-create-service.json"
    );
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:alerts");
    let o = w.cli(
        &["event", file, "--dry-run"],
        &[("ALERT_TOPIC_ARN", topic.as_str())],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v[0]["change"]["event_name"], "CreateService", "{v:#}");
    assert_eq!(v[0]["actions"][0]["status"], "would-send", "{v:#}");

    // `event` answers a deployment gate's request as the Lambda would: the hook's answer with
    // --format json, the message CloudFormation shows as text; exit 1 when it refuses.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/hook-cfn-create-task-definition.json"
    );
    let env = [("ALERT_TOPIC_ARN", topic.as_str()), ("DEPLOY_GATE", "fail")];
    let o = w.cli(&["event", file, "--format", "json"], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["hookStatus"], "FAILED", "{v:#}");
    assert_eq!(v["errorCode"], "NonCompliant");
    assert_eq!(
        v["clientRequestToken"],
        "2b9f3c12-4d6e-4e8a-9a51-6c0f0d6b7e21"
    );
    let o = w.cli(&["event", file, "--format", "text"], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with(
            "hookStatus: FAILED\nerrorCode:  NonCompliant\n\nREFUSED by ecr-arch-guard"
        ),
        "{text}"
    );
    assert!(text.contains("Verdict:   MISMATCH"), "{text}");
    let scaling = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/hook-cfn-update-service-scaling.json"
    );
    let o = w.cli(&["event", scaling], &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["hookStatus"], "SUCCESS");

    let o = w.cli(&["consumer", &arn("service/prod/gone")], &[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("gone"), "{}", stderr(&o));
    let o = w.cli(&["consumer", "grafana:latest"], &[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("is not the ARN of"), "{}", stderr(&o));
}

/// `event FILE` answers ECS's own events as the Lambda would: a rolling deployment of the
/// arm64-only image to an X86_64 service (`events/ecs-deployment-in-progress.json`) is judged
/// and, with `--dry-run`, neither alerted nor stopped (exit 1); without it, stopped once; a
/// task of it that crashed (`events/ecs-task-stopped.json`) is explained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_answers_ecs_deployment_and_task_events_as_the_lambda_would() {
    let w = World::start().await;
    let (topic, queue) = topic_with_queue(&w.config, "alerts", "alerts").await;
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    let image = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/grafana:latest");
    ecs_service(
        &ecs,
        "prod",
        "web",
        &image,
        Some(aws_sdk_ecs::types::CpuArchitecture::X8664),
    )
    .await;
    let (deployment, _) = w.gap.record_service_deployment("prod", "web", None);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let mut e = common::event_value("ecs-deployment-in-progress.json");
    e["account"] = ACCOUNT.into();
    e["region"] = REGION.into();
    e["resources"][0] = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web").into();
    let file = write("deployment.json", &e);
    let env = [
        ("ALERT_TOPIC_ARN", topic.as_str()),
        ("ECS_DEPLOYMENT_GUARD", "rollback"),
        ("ECS_TASK_STOPS", "true"),
    ];

    let o = w.cli(&["event", &file, "--dry-run", "--format", "text"], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ECS service prod/web deployment ecs-svc/123: AlertAndRollBack"),
        "{}",
        stdout(&o)
    );
    assert!(
        w.gap.deployments.stops().is_empty(),
        "a dry run stops nothing"
    );
    assert!(queued_alerts(&w.config, &queue).await.is_empty());

    let o = w.cli(&["event", &file], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(json(&o)["rolled_back"], true);
    assert_eq!(
        w.gap.deployments.stops(),
        vec![(deployment, "ROLLBACK".to_string())]
    );
    assert_eq!(queued_alerts(&w.config, &queue).await.len(), 1);

    let mut t = common::event_value("ecs-task-stopped.json");
    t["account"] = ACCOUNT.into();
    t["region"] = REGION.into();
    t["detail"]["containers"][0]["image"] = image.clone().into();
    t["detail"]["containers"][0]["imageDigest"] = w.arm_digest.clone().into();
    let file = write("task.json", &t);
    let o = w.cli(&["event", &file, "--dry-run"], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(json(&o)[0]["verdict"], "mismatch", "{}", stdout(&o));
}
