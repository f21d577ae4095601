//! A resource as a CloudFormation Lambda Hook proposes it (its template properties, references
//! already resolved by CloudFormation), as consumers: the same shapes and platform rules as
//! discovery ([`super::ecs`], [`super::lambda`], [`super::apprunner`], [`super::batch`]), built
//! from the proposed properties instead of a describe call. Property names from each type's
//! CloudFormation template reference.
//!
//! Reads only what the properties leave open: an ECS service names its task definition by ARN
//! (ecs:DescribeTaskDefinition), a task on EC2 without cpuArchitecture runs on the cluster's
//! instances (ecs:ListAttributes, and ecs:ListClusters for a task definition alone), a Batch job
//! on EC2 on its compute environments (batch:DescribeComputeEnvironments).

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, LaunchType, OsFamily, RuntimePlatform,
    TaskDefinition,
};
use serde_json::Value;

use super::batch::{self, JobImage};
use super::clients::Clients;
use super::ecs_placement::{self, Where};
use super::{apprunner, ecs, lambda};
use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::consumers::placement::{Capacity, Placement};
use crate::gate::cloudformation::{Proposal, ResourceType};
use crate::util::error::Error;

pub async fn read(clients: &Clients, p: &Proposal) -> Result<Vec<Consumer>, Error> {
    let ecs_client = || {
        clients
            .ecs
            .as_ref()
            .ok_or_else(|| Error::Permanent("no ECS client".into()))
    };
    let name = p.name();
    match p.resource_type {
        ResourceType::EcsTaskDefinition => {
            let td = task_definition(&p.properties);
            let w = ecs_placement::td_where(&td);
            let capacity = if w == Where::Fargate || !ecs::cpu_unset(&td) {
                Default::default()
            } else {
                ecs::capacity_for(ecs_client()?, &w, &td).await?
            };
            Ok(ecs::consumers_of(
                ConsumerKind::EcsTaskDefinition,
                &name,
                "",
                &td,
                &ecs_placement::placement(&w, &capacity),
                &ecs::Pins::new(),
            ))
        }
        ResourceType::EcsService => {
            // A service on the EXTERNAL deployment controller names no task definition.
            let Some(td_name) = p.text(&["TaskDefinition"]) else {
                return Ok(Vec::new());
            };
            let client = ecs_client()?;
            let td = ecs::describe_td(client, td_name).await?;
            let providers: Vec<&str> = array(&p.properties, "CapacityProviderStrategy")
                .iter()
                .filter_map(|c| c.get("CapacityProvider").and_then(Value::as_str))
                .collect();
            let launch = p.text(&["LaunchType"]).map(LaunchType::from);
            let cluster = p.text(&["Cluster"]).unwrap_or("default");
            let w = ecs_placement::where_of(launch.as_ref(), &providers, cluster, &td);
            let capacity = ecs::capacity_for(client, &w, &td).await?;
            Ok(ecs::consumers_of(
                ConsumerKind::EcsService,
                &name,
                "",
                &td,
                &ecs_placement::placement(&w, &capacity),
                &ecs::Pins::new(),
            ))
        }
        ResourceType::EcsExpressGatewayService => {
            // Express tasks run on Fargate. With a task definition of the user's own, its
            // runtimePlatform decides; otherwise the primary container runs on CpuArchitecture,
            // X86_64 by default (ECS API Reference, CreateExpressGatewayService).
            let td = match p.text(&["TaskDefinitionArn"]) {
                Some(arn) => ecs::describe_td(ecs_client()?, arn).await?,
                None => {
                    let Some(image) = p.text(&["PrimaryContainer", "Image"]) else {
                        return Ok(Vec::new());
                    };
                    let mut rp = RuntimePlatform::builder();
                    if let Some(cpu) = p.text(&["CpuArchitecture"]) {
                        rp = rp.cpu_architecture(CpuArchitecture::from(cpu));
                    }
                    TaskDefinition::builder()
                        .container_definitions(
                            ContainerDefinition::builder()
                                .name("Main")
                                .image(image)
                                .build(),
                        )
                        .runtime_platform(rp.build())
                        .requires_compatibilities(Compatibility::Fargate)
                        .build()
                }
            };
            Ok(ecs::consumers_of(
                ConsumerKind::EcsService,
                &format!("{name} (Express Mode)"),
                "",
                &td,
                &Placement::Fargate,
                &ecs::Pins::new(),
            ))
        }
        ResourceType::LambdaFunction => {
            let Some(image) = p.text(&["Code", "ImageUri"]) else {
                return Ok(Vec::new());
            };
            let arm = array(&p.properties, "Architectures")
                .iter()
                .any(|a| a.as_str() == Some("arm64"));
            Ok(vec![lambda::function_consumer(
                name,
                String::new(),
                arm,
                image.to_string(),
            )])
        }
        ResourceType::AppRunnerService => {
            let Some(image) =
                p.text(&["SourceConfiguration", "ImageRepository", "ImageIdentifier"])
            else {
                return Ok(Vec::new());
            };
            Ok(vec![apprunner::image_consumer(&name, "", image)])
        }
        ResourceType::BatchJobDefinition => {
            let fargate = array(&p.properties, "PlatformCapabilities")
                .iter()
                .any(|c| c.as_str() == Some("FARGATE"));
            let images = job_images(&p.properties);
            let ec2 = if fargate || images.is_empty() {
                Capacity::default()
            } else {
                let client = clients
                    .batch
                    .as_ref()
                    .ok_or_else(|| Error::Permanent("no Batch client".into()))?;
                batch::compute_capacity(client).await?
            };
            Ok(batch::job_consumers_of(&name, "", fargate, &images, &ec2))
        }
    }
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An `AWS::ECS::TaskDefinition`'s properties as the SDK's task definition: the containers'
/// names and images, `RuntimePlatform`, `RequiresCompatibilities` (what placement reads).
fn task_definition(props: &Value) -> TaskDefinition {
    let mut b = TaskDefinition::builder();
    if let Some(f) = text(props, "Family") {
        b = b.family(f);
    }
    for c in array(props, "ContainerDefinitions") {
        let mut cd = ContainerDefinition::builder();
        if let Some(n) = text(c, "Name") {
            cd = cd.name(n);
        }
        if let Some(i) = text(c, "Image") {
            cd = cd.image(i);
        }
        b = b.container_definitions(cd.build());
    }
    if let Some(rp) = props.get("RuntimePlatform") {
        let mut r = RuntimePlatform::builder();
        if let Some(cpu) = text(rp, "CpuArchitecture") {
            r = r.cpu_architecture(CpuArchitecture::from(cpu));
        }
        if let Some(os) = text(rp, "OperatingSystemFamily") {
            r = r.operating_system_family(OsFamily::from(os));
        }
        b = b.runtime_platform(r.build());
    }
    for c in array(props, "RequiresCompatibilities") {
        if let Some(c) = c.as_str() {
            b = b.requires_compatibilities(Compatibility::from(c));
        }
    }
    b.build()
}

/// An `AWS::Batch::JobDefinition`'s container images: `ContainerProperties`, each node range's
/// `Container`, each `EcsProperties.TaskProperties` entry's `Containers`, with the
/// `RuntimePlatform` each names.
fn job_images(props: &Value) -> Vec<JobImage> {
    let image = |c: &Value, rp: Option<&Value>| {
        text(c, "Image").map(|i| JobImage {
            image: i.to_string(),
            os_family: rp
                .and_then(|r| text(r, "OperatingSystemFamily"))
                .map(str::to_string),
            cpu: rp
                .and_then(|r| text(r, "CpuArchitecture"))
                .map(str::to_string),
        })
    };
    let mut out = Vec::new();
    if let Some(c) = props.get("ContainerProperties") {
        out.extend(image(c, c.get("RuntimePlatform")));
    }
    if let Some(n) = props.get("NodeProperties") {
        for range in array(n, "NodeRangeProperties") {
            if let Some(c) = range.get("Container") {
                out.extend(image(c, c.get("RuntimePlatform")));
            }
        }
    }
    if let Some(e) = props.get("EcsProperties") {
        for task in array(e, "TaskProperties") {
            for c in array(task, "Containers") {
                out.extend(image(c, task.get("RuntimePlatform")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_definition_properties_become_the_sdks_shape() {
        let td = task_definition(&json!({
            "Family": "web",
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "ContainerDefinitions": [{"Name": "app", "Image": "r:1"}, {"Name": "sidecar", "Image": "r:2"}]
        }));
        assert_eq!(ecs_placement::td_where(&td), Where::Fargate);
        assert!(!ecs::cpu_unset(&td));
        let consumers = ecs::consumers_of(
            ConsumerKind::EcsTaskDefinition,
            "web (Web)",
            "",
            &td,
            &Placement::Fargate,
            &ecs::Pins::new(),
        );
        let images: Vec<(&str, String)> = consumers
            .iter()
            .map(|c| (c.image.as_str(), c.platform.as_ref().unwrap().to_string()))
            .collect();
        assert_eq!(
            images,
            [("r:1", "linux/arm64".into()), ("r:2", "linux/arm64".into())]
        );
    }

    #[test]
    fn job_images_come_from_every_place_a_job_definition_names_one() {
        let images = job_images(&json!({
            "ContainerProperties": {"Image": "a", "RuntimePlatform": {"CpuArchitecture": "ARM64"}},
            "NodeProperties": {"NodeRangeProperties": [{"TargetNodes": "0:", "Container": {"Image": "b"}}]},
            "EcsProperties": {"TaskProperties": [{"RuntimePlatform": {"CpuArchitecture": "X86_64"},
                "Containers": [{"Name": "c", "Image": "c"}]}]}
        }));
        let got: Vec<(&str, Option<&str>)> = images
            .iter()
            .map(|i| (i.image.as_str(), i.cpu.as_deref()))
            .collect();
        assert_eq!(
            got,
            [("a", Some("ARM64")), ("b", None), ("c", Some("X86_64"))]
        );
    }
}
