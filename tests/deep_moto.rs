//! The deep check against ECR (moto, with the gap filler serving layers the way ECR's
//! GetDownloadUrlForLayer and presigned URLs do): an image pushed with an arm64 label whose
//! entrypoint is an x86-64 ELF (Debian's busybox-static, first 4 KiB) is `mislabelled` — for the
//! real `bootstrap` under AWS's runtime emulator with `DEEP_CHECK=true` (alerted, never
//! marker-tagged), and for `ecr-arch-guard check --deep`; without the deep check the label
//! decides. Reads: GetDownloadUrlForLayer and one streamed GET for the config and for the one
//! layer, all within the granted ECR actions.

mod common;

use common::image_layout::{elf, gzip, tar_of, E};
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::IAM_ACTIONS;
use serde_json::{json, Value};

/// Pushes `app:latest`, labelled linux/arm64, whose one layer holds an x86-64 /app/server, as
/// `docker push` does (blobs, then the manifest). Its digest.
async fn push_mislabelled(ecr: &aws_sdk_ecr::Client, gap: &GapFiller) -> String {
    let layer = gzip(&tar_of(&[
        E::Dir("app/"),
        E::File("app/server", elf("busybox-static-amd64")),
    ]));
    let config = serde_json::to_vec(&json!({"architecture": "arm64", "os": "linux",
        "config": {"Entrypoint": ["/app/server"]},
        "rootfs": {"type": "layers", "diff_ids": []}}))
    .unwrap();
    let layer_digest = gap.upload("app", &layer);
    let config_digest = gap.upload("app", &config);
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}]}))
    .unwrap();
    put_manifest(ecr, "app", &manifest, OCI_MANIFEST, Some("latest")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mislabelled_push_is_caught_by_the_lambda_and_the_cli() {
    let LocalAws { moto, gap, config } = LocalAws::start().await;
    let ecr = aws_sdk_ecr::Client::new(&config);
    create_repository(&ecr, "app").await;
    let digest = push_mislabelled(&ecr, &gap).await;
    let (topic, queue) = topic_with_queue(&config, "alerts", "alerts").await;

    let mut lambda = Lambda::start(
        &gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", topic.as_str()),
            ("ACTIONS", "alert,tag"),
            ("REQUIRED_PLATFORMS", "linux/arm64"),
            ("DEEP_CHECK", "true"),
        ],
    );
    gap.take_calls();
    let event = push_event("app", &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    let v: Value = match lambda.invoke(&event) {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{e}\n{}", lambda.logs()),
    };
    assert_eq!(v["verdict"], "mislabelled", "{v:#}");
    assert_eq!(v["runs_on"], json!(["linux/amd64"]));
    assert_eq!(v["missing"], json!(["linux/arm64"]));
    assert_eq!(v["deep"][0]["executables"][0]["path"], "/app/server");
    assert!(
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] != "tag"),
        "a mislabelled image is not marker-tagged: {v:#}"
    );
    let calls = gap.take_calls();
    assert_only_granted(&calls, &IAM_ACTIONS);
    let urls = calls
        .iter()
        .filter(|c| *c == "ecr:GetDownloadUrlForLayer")
        .count();
    let gets = calls.iter().filter(|c| *c == "GET blob").count();
    assert_eq!(
        (urls, gets),
        (2, 2),
        "the config and the one layer: {calls:?}"
    );

    let alerts = queued_alerts(&config, &queue).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0]["Subject"],
        "mislabelled image (arm64 label, amd64 executables): app:latest"
    );
    let body = alerts[0]["Message"].as_str().unwrap();
    for says in [
        "Runs on:   linux/amd64 (its executables, not its label)",
        "/app/server (ENTRYPOINT, image labelled linux/arm64): ELF 64-bit LSB x86-64, statically linked",
        "rebuild it for linux/arm64",
    ] {
        assert!(body.contains(says), "{says:?} missing from:\n{body}");
    }
    assert_eq!(
        alerts[0]["MessageAttributes"]["verdict"]["Value"],
        "mislabelled"
    );
    drop(lambda);

    let cli = |args: &[&str]| {
        let out = local_cli(env!("CARGO_BIN_EXE_ecr-arch-guard"), &gap.endpoint)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = cli(&["check", "app:latest", "--require", "linux/arm64", "--deep"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Verdict:   MISLABELLED"), "{out}");
    let (code, out) = cli(&["check", "app:latest", "--require", "linux/arm64"]);
    assert_eq!(code, 0, "the label alone says arm64: {out}");
    drop(moto);
}
