//! Where an ECS service's or task definition's tasks run: Fargate, the container instances of
//! the service's cluster, or (a task definition run on its own) those of any cluster; and the
//! architectures of a cluster's container instances, from their `ecs.cpu-architecture`
//! attribute (ListAttributes). Used by discovery ([`super::ecs`]) and for one changed consumer
//! ([`super::consumer`]).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ecs::types::{Compatibility, LaunchType, TargetType, TaskDefinition};
use aws_sdk_ecs::Client;
use futures_util::{StreamExt, TryStreamExt};

use super::{map_sdk_error, DISCOVERY_CONCURRENCY};
use crate::consumers::placement::{self, Capacity, Placement};
use crate::image::platform::Platform;
use crate::util::error::Error;

/// The container instance attribute ECS sets to the instance's CPU architecture (`x86_64`,
/// `arm64`): one of its built-in attributes (ECS Developer Guide, task placement constraints).
pub const CPU_ARCHITECTURE_ATTRIBUTE: &str = "ecs.cpu-architecture";

/// Where a consumer's tasks are placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Where {
    Fargate,
    /// EC2 or external container instances of this cluster (ARN).
    Cluster(String),
    /// A task definition run without a service: any cluster's instances.
    AnyCluster,
}

/// Fargate, or the container instances of the service's cluster: by launch type, else by
/// capacity provider strategy (FARGATE / FARGATE_SPOT), else by what the task definition is
/// compatible with.
pub(super) fn service_where(s: &aws_sdk_ecs::types::Service, td: &TaskDefinition) -> Where {
    let providers: Vec<&str> = s
        .capacity_provider_strategy()
        .iter()
        .map(|c| c.capacity_provider())
        .collect();
    where_of(
        s.launch_type(),
        &providers,
        s.cluster_arn().unwrap_or_default(),
        td,
    )
}

/// [`service_where`] from its parts, for what is not a described service: a service revision
/// (DescribeServiceRevisions) or a service as a CloudFormation hook proposes it. `cluster` is
/// the cluster's name or ARN.
pub(super) fn where_of(
    launch_type: Option<&LaunchType>,
    capacity_providers: &[&str],
    cluster: &str,
    td: &TaskDefinition,
) -> Where {
    let cluster = || Where::Cluster(cluster.to_string());
    match launch_type {
        Some(LaunchType::Fargate) => return Where::Fargate,
        Some(LaunchType::Ec2) | Some(LaunchType::External) | Some(LaunchType::ManagedInstances) => {
            return cluster()
        }
        _ => {}
    }
    if !capacity_providers.is_empty() {
        return if capacity_providers.iter().all(|c| c.starts_with("FARGATE")) {
            Where::Fargate
        } else {
            cluster()
        };
    }
    if td_where(td) == Where::Fargate {
        Where::Fargate
    } else {
        cluster()
    }
}

/// A task definition run on its own: Fargate when it is compatible with Fargate, otherwise any
/// cluster's container instances.
pub(super) fn td_where(td: &TaskDefinition) -> Where {
    if td
        .requires_compatibilities()
        .contains(&Compatibility::Fargate)
    {
        Where::Fargate
    } else {
        Where::AnyCluster
    }
}

pub(super) fn placement(w: &Where, capacity: &HashMap<String, Capacity>) -> Placement {
    match w {
        Where::Fargate => Placement::Fargate,
        Where::Cluster(c) => {
            Placement::Instances(capacity.get(c).cloned().unwrap_or_else(|| Capacity {
                unknown: Some(format!("cluster {} was not listed", short(c))),
                source: format!("container instances of cluster {}", short(c)),
                ..Capacity::default()
            }))
        }
        Where::AnyCluster => {
            let mut platforms: Vec<Platform> = capacity
                .values()
                .flat_map(|c| c.platforms.iter().cloned())
                .collect();
            platforms.sort();
            platforms.dedup();
            let unknown = platforms
                .is_empty()
                .then(|| "no container instance is registered in any cluster".to_string());
            Placement::Instances(Capacity {
                platforms,
                unknown,
                source: "container instances of any cluster (run without a service)".into(),
            })
        }
    }
}

fn short(cluster_arn: &str) -> &str {
    cluster_arn.rsplit('/').next().unwrap_or(cluster_arn)
}

/// The architectures of each cluster's registered container instances, from their
/// `ecs.cpu-architecture` attribute, a few clusters at a time.
pub(super) async fn cluster_capacity(
    client: &Client,
    clusters: BTreeSet<&str>,
) -> Result<HashMap<String, Capacity>, Error> {
    let clusters: Vec<String> = clusters.into_iter().map(str::to_string).collect();
    futures_util::stream::iter(clusters.into_iter().map(|c| one_cluster(client, c)))
        .buffer_unordered(DISCOVERY_CONCURRENCY)
        .try_collect()
        .await
}

async fn one_cluster(client: &Client, cluster: String) -> Result<(String, Capacity), Error> {
    let attributes: Vec<aws_sdk_ecs::types::Attribute> = client
        .list_attributes()
        .cluster(&cluster)
        .target_type(TargetType::ContainerInstance)
        .attribute_name(CPU_ARCHITECTURE_ATTRIBUTE)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("ecs:ListAttributes", e))?;
    let mut platforms: Vec<Platform> = Vec::new();
    let mut unreadable = Vec::new();
    for a in &attributes {
        match a.value().and_then(placement::cpu_architecture_platform) {
            Some(p) if !platforms.contains(&p) => platforms.push(p),
            Some(_) => {}
            None => unreadable.push(a.value().unwrap_or("").to_string()),
        }
    }
    platforms.sort();
    let name = short(&cluster).to_string();
    let unknown = if !unreadable.is_empty() {
        Some(format!(
            "container instances of cluster {name} report {CPU_ARCHITECTURE_ATTRIBUTE} {unreadable:?}"
        ))
    } else if attributes.is_empty() {
        Some(format!(
            "no container instance is registered in cluster {name}"
        ))
    } else {
        None
    };
    let capacity = Capacity {
        platforms,
        unknown,
        source: format!("container instances of cluster {name}"),
    };
    Ok((cluster, capacity))
}
