//! The consumer index end to end on moto (S3, ECS, Lambda, ECR, SNS), through the real
//! `bootstrap` under AWS's Runtime Interface Emulator, configured as template.yaml configures
//! the two functions: the refresher, woken by the schedule's event (`events/
//! scheduled-refresh.json`, SAM CLI's own sample), lists the consumers and writes
//! `consumers/ACCOUNT/REGION.json.gz`; the guard judges a push from the index alone (no listing);
//! a consumer change (UpdateService) rewrites its slot, and the very next push sees it.

#![recursion_limit = "256"]

mod common;

use aws_sdk_ecs::types::CpuArchitecture;
use aws_sdk_lambda::types::Architecture;
use bytes::Bytes;
use common::grafana::{Grafana, REPO};
use common::images::ARM_MANIFEST;
use common::lambda_rie::{Lambda, Outcome};
use common::local_aws::*;
use ecr_arch_guard::aws::index_s3::{self, S3Index};
use ecr_arch_guard::aws::s3_objects::S3Objects;
use ecr_arch_guard::aws::trust::TrustRoots;
use ecr_arch_guard::aws::{discovery_iam_actions, CONSUMER_CHANGE_IAM_ACTIONS, IAM_ACTIONS};
use ecr_arch_guard::consumers::consumer_index::ConsumerIndex;
use ecr_arch_guard::consumers::discovery::Service;
use ecr_arch_guard::consumers::index_store::{IndexRead, IndexStore};
use ecr_arch_guard::image::RegistryId;
use serde_json::Value;

const BUCKET: &str = "guard-index";

fn objects(config: &aws_config::SdkConfig) -> S3Objects {
    S3Objects::new(config, BUCKET, TrustRoots::Bundled).unwrap()
}

/// The index as stored in the bucket.
async fn stored(config: &aws_config::SdkConfig) -> ConsumerIndex {
    let scope = RegistryId::new(Some(ACCOUNT), Some(REGION));
    match S3Index::new(std::sync::Arc::new(objects(config)))
        .read(&scope, None)
        .await
        .unwrap()
    {
        IndexRead::Current { body, .. } => ConsumerIndex::decode(&body).unwrap(),
        other => panic!("no index: {other:?}"),
    }
}

fn answer(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{e:#}"),
    }
}

fn images(index: &ConsumerIndex) -> Vec<(String, String)> {
    index
        .consumers
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.image.rsplit('/').next().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresher_writes_the_index_pushes_read_it_and_a_change_is_seen_by_the_next_push() {
    let local = Grafana::start().await;
    // CreateBucket (PUT /BUCKET/), then the consumers: prod/web on X86_64 runs grafana:amd,
    // the Graviton function thumbs runs grafana:latest (arm64 only).
    let created = objects(&local.config)
        .send("PUT", "", "", &[], Bytes::new(), "s3:CreateBucket")
        .await
        .unwrap();
    assert_eq!(created.status, 200, "{:?}", created.body);
    ecs_service(
        &local.ecs,
        "prod",
        "web",
        &image_uri(REPO, "amd"),
        Some(CpuArchitecture::X8664),
    )
    .await;
    let lambda = aws_sdk_lambda::Client::new(&local.config);
    let role = create_role(&local.gap.endpoint, "fn-role").await;
    lambda_image_function(
        &lambda,
        &role,
        "thumbs",
        &image_uri(REPO, "latest"),
        Architecture::Arm64,
    )
    .await;
    local.gap.take_calls();

    // The refresher, as ConsumerIndexFunction: lists ECS and Lambda, writes the index.
    let mut refresher = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ACTIONS", "none"),
            ("DISCOVER", "ecs,lambda"),
            ("CONSUMER_INDEX_BUCKET", BUCKET),
            ("CONSUMER_INDEX_REFRESH_SECONDS", "540"),
            ("HOME_ACCOUNT_ID", ACCOUNT),
        ],
    );
    let r = answer(refresher.invoke(&common::event_value("scheduled-refresh.json")));
    refresher.stop();
    assert_eq!(r[0]["account"], ACCOUNT, "{r:#}");
    assert_eq!(r[0]["region"], REGION);
    assert_eq!(r[0]["consumers"], 2, "{r:#}");
    assert_eq!(r[0]["failed"], serde_json::json!([]));
    let mut granted: Vec<&str> = index_s3::IAM_ACTIONS.to_vec();
    granted.extend(discovery_iam_actions(Service::Ecs));
    granted.extend(discovery_iam_actions(Service::Lambda));
    assert_only_granted(&local.gap.take_calls(), &granted);
    let index = stored(&local.config).await;
    assert_eq!(
        images(&index),
        [
            ("prod/web".to_string(), "grafana:amd".to_string()),
            ("thumbs".to_string(), "grafana:latest".to_string())
        ]
    );

    // The guard, as GuardFunction with the index: a push of grafana:latest is judged against
    // the function that runs it (arm64: fits), from one GetObject — no listing.
    let mut guard = Lambda::start(
        &local.gap.endpoint,
        &[
            ("ALERT_TOPIC_ARN", &local.topic),
            ("DISCOVER", "ecs,lambda"),
            ("CONSUMER_INDEX_BUCKET", BUCKET),
            ("HOME_ACCOUNT_ID", ACCOUNT),
        ],
    );
    let digest = sha256(&common::fixture(ARM_MANIFEST));
    let mut push = push_event(REPO, &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    local.gap.take_calls(); // this test's own read of the index
    let v = answer(guard.invoke(&push));
    assert_eq!(v["verdict"], "fits", "{v:#}");
    assert_eq!(v["consumers"].as_array().unwrap().len(), 1, "{v:#}");
    let calls = local.gap.take_calls();
    let s3: Vec<&String> = calls.iter().filter(|c| c.starts_with("s3:")).collect();
    assert_eq!(s3, ["s3:GetObject"], "one read of the index: {calls:?}");
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("ecs:") || c.starts_with("lambda:")),
        "nothing listed: {calls:?}"
    );

    // prod/web is pointed at grafana:latest (still X86_64): the change alerts and rewrites the
    // service's slot of the index.
    let next = local
        .task_definition("web-next", "latest", CpuArchitecture::X8664)
        .await;
    local.point_service("prod", "web", &next).await;
    let mut change = common::event_value("change-ecs-update-service-arm64.json");
    change["detail"]["requestParameters"]["service"] = "web".into();
    change["detail"]["requestParameters"]["taskDefinition"] = next.clone().into();
    local.gap.take_calls(); // this test's own changes
    let c = answer(guard.invoke(&change));
    assert_eq!(c[0]["verdict"], "mismatch", "{c:#}");
    let mut granted: Vec<&str> = IAM_ACTIONS.to_vec();
    granted.extend(CONSUMER_CHANGE_IAM_ACTIONS);
    granted.extend(["s3:GetObject", "s3:PutObject"]);
    assert_only_granted(&local.gap.take_calls(), &granted);
    let index = stored(&local.config).await;
    assert!(
        images(&index).contains(&("prod/web".to_string(), "grafana:latest".to_string())),
        "{:?}",
        images(&index)
    );

    // The next push of grafana:latest (a new event) sees prod/web among its consumers at once.
    push["id"] = "evt-repush".into();
    let v = answer(guard.invoke(&push));
    assert_eq!(v["verdict"], "mismatch", "{v:#}");
    let consumers = v["consumers"].to_string();
    assert!(consumers.contains("prod/web"), "{consumers}");
    assert_eq!(
        local.alerts().await.len(),
        2,
        "the change's alert and the push's"
    );
    guard.stop();
}
