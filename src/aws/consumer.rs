//! One consumer's current state, for a consumer change or the CLI's `consumer` command: the
//! same shapes and platform rules as discovery ([`super::ecs`], [`super::lambda`],
//! [`super::apprunner`], [`super::batch`]), for one task definition, service, function or job
//! definition instead of all of them. Calls: ecs:DescribeTaskDefinition, ecs:DescribeServices
//! (+ ecs:ListClusters / ecs:ListAttributes only for EC2 tasks without cpuArchitecture),
//! lambda:GetFunction, apprunner:DescribeService, batch:DescribeJobDefinitions (+
//! batch:DescribeComputeEnvironments only for EC2 job definitions).

use std::collections::BTreeSet;

use aws_sdk_ecs::types::TaskDefinition;

use super::clients::Clients;
use super::ecs;
use super::ecs_placement::{self, Where};
use super::{apprunner, batch, lambda, map_sdk_error};
use crate::change::Target;
use crate::consumer::Consumer;
use crate::error::Error;

pub async fn read(clients: &Clients, target: &Target) -> Result<Vec<Consumer>, Error> {
    let missing = |s: &str| Error::Permanent(format!("no {s} client"));
    match target {
        Target::EcsTaskDefinition(name) => {
            let client = clients.ecs.as_ref().ok_or_else(|| missing("ECS"))?;
            task_definition(client, name).await
        }
        Target::EcsService { cluster, service } => {
            let client = clients.ecs.as_ref().ok_or_else(|| missing("ECS"))?;
            ecs_service(client, cluster, service).await
        }
        Target::LambdaFunction(name) => {
            let client = clients.lambda.as_ref().ok_or_else(|| missing("Lambda"))?;
            function(client, name).await
        }
        Target::AppRunnerService(arn) => {
            let client = clients
                .apprunner
                .as_ref()
                .ok_or_else(|| missing("App Runner"))?;
            let out = client
                .describe_service()
                .service_arn(arn)
                .send()
                .await
                .map_err(|e| map_sdk_error("apprunner:DescribeService", e))?;
            Ok(out
                .service
                .as_ref()
                .and_then(apprunner::service_consumer)
                .into_iter()
                .collect())
        }
        Target::BatchJobDefinition(name) => {
            let client = clients.batch.as_ref().ok_or_else(|| missing("Batch"))?;
            job_definition(client, name).await
        }
    }
}

async fn describe_td(client: &aws_sdk_ecs::Client, name: &str) -> Result<TaskDefinition, Error> {
    ecs::describe_task_definition(client, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("task definition {name}")))
}

/// A task definition run on its own (RegisterTaskDefinition): Fargate, or any cluster's
/// container instances.
async fn task_definition(client: &aws_sdk_ecs::Client, name: &str) -> Result<Vec<Consumer>, Error> {
    let td = describe_td(client, name).await?;
    let w = ecs_placement::td_where(&td);
    let capacity = if w == Where::AnyCluster && ecs::cpu_unset(&td) {
        let clusters = ecs::list_clusters(client).await?;
        ecs_placement::cluster_capacity(client, clusters.iter().map(String::as_str).collect())
            .await?
    } else {
        Default::default()
    };
    Ok(ecs::task_definition_consumers(
        &td,
        &ecs_placement::placement(&w, &capacity),
    ))
}

/// A service (CreateService, UpdateService): its current task definition, where its tasks run.
async fn ecs_service(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Vec<Consumer>, Error> {
    let out = client
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| map_sdk_error("ecs:DescribeServices", e))?;
    let s = out
        .services()
        .first()
        .filter(|s| s.status() != Some("INACTIVE"))
        .ok_or_else(|| Error::NotFound(format!("service {service} in cluster {cluster}")))?;
    // A service on the EXTERNAL deployment controller names no task definition (its task sets
    // do): nothing to judge here.
    let Some(td_name) = s.task_definition() else {
        return Ok(Vec::new());
    };
    let td = describe_td(client, td_name).await?;
    let w = ecs_placement::service_where(s, &td);
    let capacity = match &w {
        Where::Cluster(c) if ecs::cpu_unset(&td) => {
            ecs_placement::cluster_capacity(client, BTreeSet::from([c.as_str()])).await?
        }
        _ => Default::default(),
    };
    let name = format!(
        "{}/{}",
        s.cluster_arn()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or(cluster),
        s.service_name().unwrap_or(service)
    );
    Ok(ecs::service_consumers(
        s,
        &name,
        &td,
        &ecs_placement::placement(&w, &capacity),
    ))
}

/// An image function, with the digest Lambda resolved its tag to (`ResolvedImageUri`): what it
/// runs, whatever the tag points at now.
async fn function(client: &aws_sdk_lambda::Client, name: &str) -> Result<Vec<Consumer>, Error> {
    let out = client
        .get_function()
        .function_name(name)
        .send()
        .await
        .map_err(|e| map_sdk_error("lambda:GetFunction", e))?;
    let Some(config) = out.configuration() else {
        return Err(Error::NotFound(format!("function {name}")));
    };
    let Some(code) = out.code() else {
        return Ok(Vec::new());
    };
    let Some(image) = code.image_uri() else {
        return Ok(Vec::new());
    };
    let pinned = match code.resolved_image_uri().and_then(|r| r.split_once('@')) {
        Some((_, digest)) if !image.contains('@') => format!("{image}@{digest}"),
        _ => image.to_string(),
    };
    let arm = config
        .architectures()
        .contains(&aws_sdk_lambda::types::Architecture::Arm64);
    Ok(vec![lambda::function_consumer(
        config.function_name().unwrap_or(name).to_string(),
        config.function_arn().unwrap_or_default().to_string(),
        arm,
        pinned,
    )])
}

/// A job definition (RegisterJobDefinition): by ARN, or the latest ACTIVE revision of a name.
async fn job_definition(
    client: &aws_sdk_batch::Client,
    name: &str,
) -> Result<Vec<Consumer>, Error> {
    let listing = if name.starts_with("arn:") {
        client.describe_job_definitions().job_definitions(name)
    } else {
        client
            .describe_job_definitions()
            .job_definition_name(name)
            .status("ACTIVE")
    };
    batch::latest_consumers(client, listing)
        .await?
        .ok_or_else(|| Error::NotFound(format!("job definition {name}")))
}
