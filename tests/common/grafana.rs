//! The world most AWS-side tests start from: moto (with the gap filler) holding the repository
//! `grafana` — `latest` the Mac-pulled arm64-only image, `amd` its amd64 sibling, `multi`
//! Docker Hub's hello-world index (attestations) — and an alert topic with a subscribed queue.
#![allow(dead_code)]

use serde_json::Value;

use super::fixtures::{fixture, images};
use super::local_aws::*;

pub const REPO: &str = "grafana";

pub struct Grafana {
    pub gap: GapFiller,
    pub config: aws_config::SdkConfig,
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub topic: String,
    pub alerts: String,
    // Last: dropped after the proxy that forwards to it.
    pub moto: Moto,
}

impl Grafana {
    pub async fn start() -> Grafana {
        let LocalAws { moto, gap, config } = LocalAws::start().await;
        let ecr = aws_sdk_ecr::Client::new(&config);
        create_repository(&ecr, REPO).await;
        push_image(
            &ecr,
            &gap,
            REPO,
            images::ARM_MANIFEST,
            images::ARM_CONFIG,
            Some("latest"),
        )
        .await;
        push_image(
            &ecr,
            &gap,
            REPO,
            images::AMD_MANIFEST,
            images::AMD_CONFIG,
            Some("amd"),
        )
        .await;
        put_manifest(
            &ecr,
            REPO,
            &fixture(images::INDEX),
            OCI_INDEX,
            Some("multi"),
        )
        .await;
        let (topic, alerts) = topic_with_queue(&config, "alerts", "alerts").await;
        Grafana {
            ecs: aws_sdk_ecs::Client::new(&config),
            gap,
            config,
            ecr,
            topic,
            alerts,
            moto,
        }
    }

    /// Registers a Fargate task definition `family` on `cpu` running REPO:`tag`; its ARN.
    pub async fn task_definition(
        &self,
        family: &str,
        tag: &str,
        cpu: aws_sdk_ecs::types::CpuArchitecture,
    ) -> String {
        fargate_task_definition(&self.ecs, family, &image_uri(REPO, tag), Some(cpu)).await
    }

    /// Points the ECS service `cluster`/`service` at the task definition `arn` (UpdateService).
    pub async fn point_service(&self, cluster: &str, service: &str, arn: &str) {
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(arn)
            .send()
            .await
            .expect("UpdateService");
    }

    /// The alerts the topic's queue holds now (each read once).
    pub async fn alerts(&self) -> Vec<Value> {
        queued_alerts(&self.config, &self.alerts).await
    }
}
