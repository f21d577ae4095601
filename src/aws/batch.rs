//! AWS Batch consumers: the latest ACTIVE revision of each job definition, with its container
//! image(s) and `runtimePlatform` (unset = X86_64, Linux).

use std::collections::BTreeMap;

use aws_sdk_batch::types::{JobDefinition, RuntimePlatform};
use aws_sdk_batch::Client;

use super::map_sdk_error;
use crate::consumer::{self, Consumer, ConsumerKind};
use crate::error::Error;

pub async fn consumers(client: &Client) -> Result<Vec<Consumer>, Error> {
    let all: Vec<JobDefinition> = client
        .describe_job_definitions()
        .status("ACTIVE")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("batch:DescribeJobDefinitions", e))?;
    // Latest revision per name: older ACTIVE revisions are usually history.
    let mut latest: BTreeMap<String, JobDefinition> = BTreeMap::new();
    for jd in all {
        let name = jd.job_definition_name().unwrap_or_default().to_string();
        if latest
            .get(&name)
            .is_none_or(|l| l.revision() < jd.revision())
        {
            latest.insert(name, jd);
        }
    }
    let mut out = Vec::new();
    for jd in latest.values() {
        let mut images: Vec<(&str, Option<&RuntimePlatform>)> = Vec::new();
        if let Some(c) = jd.container_properties() {
            images.extend(c.image().map(|i| (i, c.runtime_platform())));
        }
        for node in jd
            .node_properties()
            .map(|n| n.node_range_properties())
            .unwrap_or_default()
        {
            if let Some(c) = node.container() {
                images.extend(c.image().map(|i| (i, c.runtime_platform())));
            }
        }
        for task in jd
            .ecs_properties()
            .map(|e| e.task_properties())
            .unwrap_or_default()
        {
            for c in task.containers() {
                images.extend(c.image().map(|i| (i, task.runtime_platform())));
            }
        }
        let fargate = jd
            .platform_capabilities()
            .iter()
            .any(|p| p.as_str() == "FARGATE");
        for (image, rp) in images {
            let (platform, label, assumed) = consumer::runtime_platform(
                rp.and_then(|r| r.operating_system_family()),
                rp.and_then(|r| r.cpu_architecture()),
            );
            let mut detail = vec![if fargate { "Fargate" } else { "EC2" }.to_string()];
            if assumed {
                detail.push(consumer::ARCHITECTURE_ASSUMED.into());
            }
            out.push(Consumer {
                kind: ConsumerKind::BatchJobDefinition,
                name: format!(
                    "{}:{}",
                    jd.job_definition_name().unwrap_or("?"),
                    jd.revision().unwrap_or_default()
                ),
                arn: jd.job_definition_arn().unwrap_or_default().to_string(),
                image: image.to_string(),
                platform,
                architecture_label: label,
                detail: Some(detail.join(", ")),
            });
        }
    }
    Ok(out)
}
