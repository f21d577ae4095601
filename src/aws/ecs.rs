//! ECS consumers: services in every cluster (through their task definitions) and the latest
//! ACTIVE revision of every task definition family (tasks run without a service, scheduled
//! tasks). `runtimePlatform.cpuArchitecture` unset means X86_64, as ECS assumes on Fargate.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_ecs::types::{Compatibility, LaunchType, TaskDefinition, TaskDefinitionStatus};
use aws_sdk_ecs::Client;
use futures_util::{StreamExt, TryStreamExt};

use super::{map_sdk_error, DISCOVERY_CONCURRENCY};
use crate::consumer::{self, Consumer, ConsumerKind};
use crate::error::Error;
use crate::platform::Platform;

/// DescribeServices takes at most 10 services per call.
const DESCRIBE_SERVICES_BATCH: usize = 10;

pub async fn consumers(client: &Client) -> Result<Vec<Consumer>, Error> {
    let clusters: Vec<String> = client
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("ecs:ListClusters", e))?;

    // Services, cluster by cluster, described 10 at a time.
    let mut services = Vec::new();
    for cluster in &clusters {
        let arns: Vec<String> = client
            .list_services()
            .cluster(cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk_error("ecs:ListServices", e))?;
        let requests: Vec<_> = arns
            .chunks(DESCRIBE_SERVICES_BATCH)
            .map(|chunk| {
                client
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(chunk.to_vec()))
            })
            .collect();
        let described: Vec<Vec<aws_sdk_ecs::types::Service>> =
            futures_util::stream::iter(requests.into_iter().map(|req| async move {
                req.send()
                    .await
                    .map(|out| out.services.unwrap_or_default())
                    .map_err(|e| map_sdk_error("ecs:DescribeServices", e))
            }))
            .buffer_unordered(DISCOVERY_CONCURRENCY)
            .try_collect()
            .await?;
        services.extend(described.into_iter().flatten());
    }

    // Task definitions: those the services use, and the latest ACTIVE revision of every family
    // (tasks started without a service). ARNs carry family and revision, so each distinct task
    // definition is described exactly once.
    let active: Vec<String> = client
        .list_task_definitions()
        .status(TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("ecs:ListTaskDefinitions", e))?;
    let mut latest: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for arn in active {
        if let Some((family, revision)) = family_revision(&arn) {
            let entry = latest
                .entry(family.to_string())
                .or_insert((revision, arn.clone()));
            if revision > entry.0 {
                *entry = (revision, arn);
            }
        }
    }
    let mut wanted: Vec<String> = services
        .iter()
        .filter_map(|s| s.task_definition().map(str::to_string))
        .collect();
    wanted.extend(latest.into_values().map(|(_, arn)| arn));
    let mut seen = HashSet::new();
    wanted.retain(|w| seen.insert(w.clone()));
    let described: Vec<(String, Option<TaskDefinition>)> =
        futures_util::stream::iter(wanted.into_iter().map(|name| {
            let req = client.describe_task_definition().task_definition(&name);
            async move {
                match req.send().await {
                    Ok(out) => Ok((name, out.task_definition)),
                    Err(e) => match map_sdk_error("ecs:DescribeTaskDefinition", e) {
                        // Deregistered between the listing and now: nothing runs it.
                        Error::NotFound(_) => Ok((name, None)),
                        Error::Permanent(m) if m.contains("ClientException") => Ok((name, None)),
                        other => Err(other),
                    },
                }
            }
        }))
        .buffer_unordered(DISCOVERY_CONCURRENCY)
        .try_collect()
        .await?;
    // Keyed by what was asked (service reference or family) and by ARN.
    let mut by_name: BTreeMap<String, TaskDefinition> = BTreeMap::new();
    for (name, td) in described {
        if let Some(td) = td {
            if let Some(arn) = td.task_definition_arn() {
                by_name.insert(arn.to_string(), td.clone());
            }
            by_name.insert(name, td);
        }
    }

    let mut out = Vec::new();
    let mut used_by_services = HashSet::new();
    for s in &services {
        let Some(td) = s.task_definition().and_then(|t| by_name.get(t)) else {
            continue;
        };
        used_by_services.insert(td.task_definition_arn().unwrap_or_default().to_string());
        let cluster = s
            .cluster_arn()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("?");
        let launch = service_launch(s);
        for (image, platform, label, detail) in containers(td, launch) {
            out.push(Consumer {
                kind: ConsumerKind::EcsService,
                name: format!("{cluster}/{}", s.service_name().unwrap_or("?")),
                arn: s.service_arn().unwrap_or_default().to_string(),
                image,
                platform,
                architecture_label: label,
                detail,
            });
        }
    }
    let mut standalone: Vec<&TaskDefinition> = by_name.values().collect();
    standalone.sort_by_key(|td| td.task_definition_arn());
    standalone.dedup_by_key(|td| td.task_definition_arn());
    for td in standalone {
        let arn = td.task_definition_arn().unwrap_or_default();
        if used_by_services.contains(arn) {
            continue; // the service names it
        }
        for (image, platform, label, detail) in containers(td, td_launch(td)) {
            out.push(Consumer {
                kind: ConsumerKind::EcsTaskDefinition,
                name: format!("{}:{}", td.family().unwrap_or("?"), td.revision()),
                arn: arn.to_string(),
                image,
                platform,
                architecture_label: label,
                detail,
            });
        }
    }
    Ok(out)
}

/// `(family, revision)` of `arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION`.
fn family_revision(arn: &str) -> Option<(&str, i64)> {
    let (_, tail) = arn.rsplit_once("task-definition/")?;
    let (family, revision) = tail.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// Fargate or EC2, as far as the service says.
fn service_launch(s: &aws_sdk_ecs::types::Service) -> Option<&'static str> {
    match s.launch_type() {
        Some(LaunchType::Fargate) => Some("Fargate"),
        Some(LaunchType::Ec2) => Some("EC2"),
        Some(LaunchType::External) => Some("ECS Anywhere"),
        _ => s.capacity_provider_strategy().first().map(|c| {
            if c.capacity_provider().starts_with("FARGATE") {
                "Fargate"
            } else {
                "EC2"
            }
        }),
    }
}

fn td_launch(td: &TaskDefinition) -> Option<&'static str> {
    let c = td.requires_compatibilities();
    if c.contains(&Compatibility::Fargate) {
        Some("Fargate")
    } else if c.contains(&Compatibility::Ec2) {
        Some("EC2")
    } else {
        None
    }
}

/// Each container image with the platform the task runs on.
fn containers(
    td: &TaskDefinition,
    launch: Option<&str>,
) -> Vec<(String, Platform, String, Option<String>)> {
    let rp = td.runtime_platform();
    let (platform, label, assumed) = consumer::runtime_platform(
        rp.and_then(|r| r.operating_system_family())
            .map(|f| f.as_str()),
        rp.and_then(|r| r.cpu_architecture()).map(|a| a.as_str()),
    );
    let mut detail: Vec<String> = launch.map(str::to_string).into_iter().collect();
    if assumed {
        detail.push(consumer::ARCHITECTURE_ASSUMED.into());
    }
    let detail = (!detail.is_empty()).then(|| detail.join(", "));
    td.container_definitions()
        .iter()
        .filter_map(|c| c.image())
        .map(|image| {
            (
                image.to_string(),
                platform.clone(),
                label.clone(),
                detail.clone(),
            )
        })
        .collect()
}
