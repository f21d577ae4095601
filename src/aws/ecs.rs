//! ECS consumers: services in every cluster (through their task definitions) and the latest
//! ACTIVE revision of every task definition family (tasks run without a service, scheduled
//! tasks). `runtimePlatform.cpuArchitecture` unset means X86_64 on Fargate; on EC2 or
//! external capacity the task runs on whatever the cluster's container instances are, read
//! from their `ecs.cpu-architecture` attribute (ListAttributes, one call per cluster that
//! needs it; [`super::ecs_placement`]) — unknown when none is registered (see
//! [`placement::needs`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use aws_sdk_ecs::types::{TaskDefinition, TaskDefinitionStatus};
use aws_sdk_ecs::Client;
use futures_util::{StreamExt, TryStreamExt};

use super::ecs_placement::{cluster_capacity, placement, service_where, td_where, Where};
use super::{map_sdk_error, DISCOVERY_CONCURRENCY};
use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::consumers::placement::{self, Need, Placement};
use crate::util::cache::Cache;
use crate::util::error::Error;

/// DescribeServices takes at most 10 services per call.
const DESCRIBE_SERVICES_BATCH: usize = 10;

/// Every cluster's ARN.
pub(super) async fn list_clusters(client: &Client) -> Result<Vec<String>, Error> {
    client
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("ecs:ListClusters", e))
}

/// A task definition by ARN, `family:revision` or family (its latest ACTIVE revision);
/// `None` when it does not exist (ECS answers ClientException), e.g. deregistered meanwhile.
pub(super) async fn describe_task_definition(
    client: &Client,
    name: &str,
) -> Result<Option<TaskDefinition>, Error> {
    match client
        .describe_task_definition()
        .task_definition(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.task_definition),
        Err(e) => match map_sdk_error("ecs:DescribeTaskDefinition", e) {
            Error::NotFound(_) => Ok(None),
            Error::Permanent(m) if m.contains("ClientException") => Ok(None),
            other => Err(other),
        },
    }
}

/// Whether the task definition leaves `runtimePlatform.cpuArchitecture` unset (on EC2 the
/// instances then decide).
pub(super) fn cpu_unset(td: &TaskDefinition) -> bool {
    td.runtime_platform()
        .and_then(|r| r.cpu_architecture())
        .is_none()
}

/// A task definition that must exist (by ARN, `family:revision` or family).
pub(super) async fn describe_td(
    client: &aws_sdk_ecs::Client,
    name: &str,
) -> Result<TaskDefinition, Error> {
    describe_task_definition(client, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("task definition {name}")))
}

/// The capacity `w` needs read: the container instances' architectures of its cluster, when
/// the task definition leaves cpuArchitecture unset.
pub(super) async fn capacity_for(
    client: &aws_sdk_ecs::Client,
    w: &Where,
    td: &TaskDefinition,
) -> Result<std::collections::HashMap<String, crate::consumers::placement::Capacity>, Error> {
    Ok(match w {
        Where::Cluster(c) if cpu_unset(td) => {
            cluster_capacity(client, BTreeSet::from([c.as_str()])).await?
        }
        Where::AnyCluster if cpu_unset(td) => {
            let clusters = list_clusters(client).await?;
            cluster_capacity(client, clusters.iter().map(String::as_str).collect()).await?
        }
        _ => Default::default(),
    })
}

/// Every service's and every family's latest ACTIVE revision's consumers; task definitions
/// already in `known` (by ARN: a revision never changes) are not described again.
pub async fn consumers(
    client: &Client,
    known: &Cache<String, TaskDefinition>,
) -> Result<Vec<Consumer>, Error> {
    let clusters = list_clusters(client).await?;

    // Services, cluster by cluster, described 10 at a time.
    let mut services = Vec::new();
    for cluster in &clusters {
        // 100 a page, the most ListServices returns (10 when not asked).
        let arns: Vec<String> = client
            .list_services()
            .cluster(cluster)
            .max_results(100)
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
        futures_util::stream::iter(wanted.into_iter().map(|name| async move {
            if let Some(td) = known.get(&name) {
                return Ok((name, Some(td)));
            }
            // Deregistered between the listing and now (None): nothing runs it.
            let td = describe_task_definition(client, &name).await?;
            if let Some(td) = &td {
                if name.contains(":task-definition/") {
                    known.insert(name.clone(), td.clone());
                }
            }
            Ok::<_, Error>((name, td))
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

    // Where each consumer's tasks run; the capacity of the clusters that matter is read once.
    let mut services_on: Vec<(&aws_sdk_ecs::types::Service, &TaskDefinition, Where)> = Vec::new();
    let mut used_by_services = HashSet::new();
    for s in &services {
        let Some(td) = s.task_definition().and_then(|t| by_name.get(t)) else {
            continue;
        };
        used_by_services.insert(td.task_definition_arn().unwrap_or_default().to_string());
        services_on.push((s, td, service_where(s, td)));
    }
    let mut standalone: Vec<&TaskDefinition> = by_name.values().collect();
    standalone.sort_by_key(|td| td.task_definition_arn());
    standalone.dedup_by_key(|td| td.task_definition_arn());
    standalone
        .retain(|td| !used_by_services.contains(td.task_definition_arn().unwrap_or_default()));
    let standalone: Vec<(&TaskDefinition, Where)> = standalone
        .into_iter()
        .map(|td| (td, td_where(td)))
        .collect();
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for (_, td, w) in &services_on {
        if let (Where::Cluster(c), true) = (w, cpu_unset(td)) {
            wanted.insert(c);
        }
    }
    if standalone
        .iter()
        .any(|(td, w)| *w == Where::AnyCluster && cpu_unset(td))
    {
        wanted.extend(clusters.iter().map(String::as_str));
    }
    let capacity = cluster_capacity(client, wanted).await?;

    let mut out = Vec::new();
    for (s, td, w) in &services_on {
        let cluster = s
            .cluster_arn()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("?");
        out.extend(service_consumers(
            s,
            &format!("{cluster}/{}", s.service_name().unwrap_or("?")),
            td,
            &placement(w, &capacity),
        ));
    }
    for (td, w) in &standalone {
        out.extend(task_definition_consumers(td, &placement(w, &capacity)));
    }
    Ok(out)
}

/// A service named `name` (`cluster/service`) running `td`, placed as `placement` says: one
/// consumer per container image and platform.
pub(super) fn service_consumers(
    s: &aws_sdk_ecs::types::Service,
    name: &str,
    td: &TaskDefinition,
    placement: &Placement,
) -> Vec<Consumer> {
    consumers_of(
        ConsumerKind::EcsService,
        name,
        s.service_arn().unwrap_or_default(),
        td,
        placement,
        &Pins::new(),
    )
}

/// A task definition run on its own (`family:revision`), placed as `placement` says.
pub(super) fn task_definition_consumers(
    td: &TaskDefinition,
    placement: &Placement,
) -> Vec<Consumer> {
    consumers_of(
        ConsumerKind::EcsTaskDefinition,
        &format!("{}:{}", td.family().unwrap_or("?"), td.revision()),
        td.task_definition_arn().unwrap_or_default(),
        td,
        placement,
        &Pins::new(),
    )
}

/// The digest each container's image runs at, by container name (a service revision's
/// `containerImages`: ECS resolved the tags when it created the revision).
pub(super) type Pins = HashMap<String, String>;

/// The consumers a task definition makes, under any name: one per container image and
/// platform; an image pinned in `pins` is named `IMAGE@DIGEST`, so exactly that is judged.
pub(super) fn consumers_of(
    kind: ConsumerKind,
    name: &str,
    arn: &str,
    td: &TaskDefinition,
    placement: &Placement,
    pins: &Pins,
) -> Vec<Consumer> {
    containers(td, placement, pins)
        .into_iter()
        .map(|(image, (platform, architecture_label, detail))| Consumer {
            kind,
            name: name.to_string(),
            arn: arn.to_string(),
            image,
            platform,
            architecture_label,
            detail,
        })
        .collect()
}

/// `(family, revision)` of `arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION`.
fn family_revision(arn: &str) -> Option<(&str, i64)> {
    let (_, tail) = arn.rsplit_once("task-definition/")?;
    let (family, revision) = tail.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// Each container image with one platform the task needs (several on mixed capacity).
fn containers(td: &TaskDefinition, placement: &Placement, pins: &Pins) -> Vec<(String, Need)> {
    let rp = td.runtime_platform();
    let needs = placement::needs(
        rp.and_then(|r| r.operating_system_family())
            .map(|f| f.as_str()),
        rp.and_then(|r| r.cpu_architecture()).map(|a| a.as_str()),
        placement,
    );
    td.container_definitions()
        .iter()
        .filter_map(|c| {
            let image = c.image()?;
            let pinned = c
                .name()
                .and_then(|n| pins.get(n))
                .filter(|_| !image.contains('@'));
            Some(match pinned {
                Some(digest) => format!("{image}@{digest}"),
                None => image.to_string(),
            })
        })
        .flat_map(|image| needs.iter().map(move |n| (image.clone(), n.clone())))
        .collect()
}
