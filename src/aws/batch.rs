//! AWS Batch consumers: the latest ACTIVE revision of each job definition, with its container
//! image(s). On Fargate, `runtimePlatform` decides (unset = X86_64). On EC2 it does not apply
//! (AWS Batch documents `runtimePlatform` for Fargate jobs): the job runs on the instance
//! types of the compute environments, read with DescribeComputeEnvironments (only when an EC2
//! job definition exists) — unknown where they cannot be told (see [`placement::needs`]).

use std::collections::BTreeMap;

use aws_sdk_batch::operation::describe_job_definitions::builders::DescribeJobDefinitionsFluentBuilder;
use aws_sdk_batch::types::{
    CeState, CeType, ComputeEnvironmentDetail, CrType, JobDefinition, OrchestrationType,
    RuntimePlatform,
};
use aws_sdk_batch::Client;

use super::map_sdk_error;
use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::consumers::placement::{self, Capacity, Placement};
use crate::image::platform::Platform;
use crate::util::error::Error;

pub async fn consumers(client: &Client) -> Result<Vec<Consumer>, Error> {
    let listing = client.describe_job_definitions().status("ACTIVE");
    Ok(latest_consumers(client, listing).await?.unwrap_or_default())
}

/// The consumers of the latest revision of each job definition `listing` returns (older
/// ACTIVE revisions are usually history); `None` when it returns none.
pub(super) async fn latest_consumers(
    client: &Client,
    listing: DescribeJobDefinitionsFluentBuilder,
) -> Result<Option<Vec<Consumer>>, Error> {
    let all: Vec<JobDefinition> = listing
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("batch:DescribeJobDefinitions", e))?;
    if all.is_empty() {
        return Ok(None);
    }
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
    let ec2 = if latest.values().any(|jd| !on_fargate(jd)) {
        compute_capacity(client).await?
    } else {
        Capacity::default()
    };
    Ok(Some(
        latest
            .values()
            .flat_map(|jd| job_consumers(jd, &ec2))
            .collect(),
    ))
}

/// One container image of a job definition, with the `runtimePlatform` it names.
pub(super) struct JobImage {
    pub image: String,
    pub os_family: Option<String>,
    pub cpu: Option<String>,
}

impl JobImage {
    fn of(image: &str, rp: Option<&RuntimePlatform>) -> JobImage {
        JobImage {
            image: image.to_string(),
            os_family: rp
                .and_then(|r| r.operating_system_family())
                .map(str::to_string),
            cpu: rp.and_then(|r| r.cpu_architecture()).map(str::to_string),
        }
    }
}

/// The consumers of one job definition: each container image with each platform it needs
/// (`ec2`: the capacity EC2 jobs land on, unused for a Fargate job definition).
fn job_consumers(jd: &JobDefinition, ec2: &Capacity) -> Vec<Consumer> {
    let mut images: Vec<JobImage> = Vec::new();
    if let Some(c) = jd.container_properties() {
        images.extend(c.image().map(|i| JobImage::of(i, c.runtime_platform())));
    }
    for node in jd
        .node_properties()
        .map(|n| n.node_range_properties())
        .unwrap_or_default()
    {
        if let Some(c) = node.container() {
            images.extend(c.image().map(|i| JobImage::of(i, c.runtime_platform())));
        }
    }
    for task in jd
        .ecs_properties()
        .map(|e| e.task_properties())
        .unwrap_or_default()
    {
        for c in task.containers() {
            images.extend(c.image().map(|i| JobImage::of(i, task.runtime_platform())));
        }
    }
    let name = format!(
        "{}:{}",
        jd.job_definition_name().unwrap_or("?"),
        jd.revision().unwrap_or_default()
    );
    job_consumers_of(
        &name,
        jd.job_definition_arn().unwrap_or_default(),
        on_fargate(jd),
        &images,
        ec2,
    )
}

/// The consumers of a job definition's `images`, on Fargate or on the EC2 capacity `ec2`.
pub(super) fn job_consumers_of(
    name: &str,
    arn: &str,
    fargate: bool,
    images: &[JobImage],
    ec2: &Capacity,
) -> Vec<Consumer> {
    let placement = if fargate {
        Placement::Fargate
    } else {
        Placement::Instances(ec2.clone())
    };
    let mut out = Vec::new();
    for i in images {
        // runtimePlatform is a Fargate setting; on EC2 the instances decide.
        let (os, cpu) = if fargate {
            (i.os_family.as_deref(), i.cpu.as_deref())
        } else {
            (None, None)
        };
        for (platform, architecture_label, detail) in placement::needs(os, cpu, &placement) {
            out.push(Consumer {
                kind: ConsumerKind::BatchJobDefinition,
                name: name.to_string(),
                arn: arn.to_string(),
                image: i.image.clone(),
                platform,
                architecture_label,
                detail,
            });
        }
    }
    out
}

fn on_fargate(jd: &JobDefinition) -> bool {
    jd.platform_capabilities()
        .iter()
        .any(|p| p.as_str() == "FARGATE")
}

/// The architectures EC2 jobs can land on: the instance types of every enabled ECS-orchestrated
/// EC2 or Spot compute environment. Unmanaged environments (the instances are the user's own)
/// and instance types this code cannot place make the capacity (partly) unknown.
pub(super) async fn compute_capacity(client: &Client) -> Result<Capacity, Error> {
    let all: Vec<ComputeEnvironmentDetail> = client
        .describe_compute_environments()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("batch:DescribeComputeEnvironments", e))?;
    Ok(capacity_of(&all))
}

/// `compute_capacity` over listed compute environments (pure, for tests).
pub fn capacity_of(environments: &[ComputeEnvironmentDetail]) -> Capacity {
    let mut platforms: Vec<Platform> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut names = Vec::new();
    for ce in environments {
        let name = ce.compute_environment_name().unwrap_or("?");
        if ce.state() == Some(&CeState::Disabled)
            || ce.container_orchestration_type() == Some(&OrchestrationType::Eks)
        {
            continue;
        }
        if ce.r#type() == Some(&CeType::Unmanaged) {
            names.push(name.to_string());
            unknown.push(format!(
                "unmanaged compute environment {name} (its instances are your own)"
            ));
            continue;
        }
        let Some(resources) = ce.compute_resources() else {
            continue;
        };
        if matches!(
            resources.r#type(),
            Some(CrType::Fargate) | Some(CrType::FargateSpot)
        ) {
            continue;
        }
        names.push(name.to_string());
        if resources.instance_types().is_empty() {
            unknown.push(format!("compute environment {name} lists no instance type"));
        }
        for t in resources.instance_types() {
            match placement::instance_type_platform(t) {
                Some(p) if !platforms.contains(&p) => platforms.push(p),
                Some(_) => {}
                None => unknown.push(format!("instance type {t:?} of compute environment {name}")),
            }
        }
    }
    platforms.sort();
    if names.is_empty() {
        unknown.push("no enabled EC2 compute environment".into());
    }
    Capacity {
        platforms,
        unknown: (!unknown.is_empty()).then(|| unknown.join("; ")),
        source: format!("compute environments {}", names.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_batch::types::ComputeResource;

    fn ce(name: &str, kind: CeType, cr: Option<(CrType, &[&str])>) -> ComputeEnvironmentDetail {
        let mut b = ComputeEnvironmentDetail::builder()
            .compute_environment_name(name)
            .compute_environment_arn(format!(
                "arn:aws:batch:us-east-1:123456789012:compute-environment/{name}"
            ))
            .state(CeState::Enabled)
            .r#type(kind);
        if let Some((t, types)) = cr {
            let mut r = ComputeResource::builder().r#type(t).maxv_cpus(16);
            for i in types {
                r = r.instance_types(*i);
            }
            b = b.compute_resources(r.build());
        }
        b.build()
    }

    #[test]
    fn compute_environments_tell_the_architectures_or_say_why_not() {
        let show = |c: Capacity| {
            (
                crate::image::platform::join(&c.platforms),
                c.unknown.unwrap_or_default(),
            )
        };
        let graviton = ce(
            "graviton",
            CeType::Managed,
            Some((CrType::Spot, &["m7g", "c7g.large"])),
        );
        assert_eq!(
            show(capacity_of(std::slice::from_ref(&graviton))),
            ("linux/arm64".into(), String::new())
        );
        let x86 = ce("x86", CeType::Managed, Some((CrType::Ec2, &["optimal"])));
        assert_eq!(
            show(capacity_of(&[graviton.clone(), x86])),
            ("linux/amd64,linux/arm64".into(), String::new())
        );
        let fargate = ce("fargate", CeType::Managed, Some((CrType::Fargate, &[])));
        let (ps, why) = show(capacity_of(&[fargate]));
        assert_eq!(
            (ps.as_str(), why.as_str()),
            ("", "no enabled EC2 compute environment")
        );
        let (ps, why) = show(capacity_of(&[graviton, ce("own", CeType::Unmanaged, None)]));
        assert_eq!(ps, "linux/arm64");
        assert!(why.contains("unmanaged compute environment own"), "{why}");
    }
}
