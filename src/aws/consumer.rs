//! One consumer's current state, for a consumer change or the CLI's `consumer` command: the
//! same shapes and platform rules as discovery ([`super::ecs`], [`super::lambda`],
//! [`super::apprunner`], [`super::batch`]), for one task definition, service, function or job
//! definition instead of all of them; and for the deployment gates a service revision about to
//! start, an ECS Express Mode service, a resource a CloudFormation hook proposes
//! ([`super::proposed`]). Calls: ecs:DescribeTaskDefinition, ecs:DescribeServices,
//! ecs:DescribeServiceRevisions, ecs:DescribeExpressGatewayService (+ ecs:ListClusters /
//! ecs:ListAttributes only for EC2 tasks without cpuArchitecture),
//! lambda:GetFunction, apprunner:DescribeService, batch:DescribeJobDefinitions (+
//! batch:DescribeComputeEnvironments only for EC2 job definitions).

use super::clients::Clients;
use super::ecs;
use super::ecs_placement;
use super::{apprunner, batch, lambda, map_sdk_error};
use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::consumers::target::Target;
use crate::util::error::Error;

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
        Target::EcsServiceRevision(arn) => {
            let client = clients.ecs.as_ref().ok_or_else(|| missing("ECS"))?;
            service_revision(client, arn).await
        }
        Target::EcsExpressService(arn) => {
            let client = clients.ecs.as_ref().ok_or_else(|| missing("ECS"))?;
            express_service(client, arn).await
        }
        Target::Proposed(p) => super::proposed::read(clients, p).await,
    }
}

/// A service revision an ECS deployment is about to start (DescribeServiceRevisions): its
/// task definition, where its tasks run, and each container's image at the digest ECS
/// resolved it to when it created the revision ("Container image resolution", ECS Developer
/// Guide): exactly what the tasks will pull.
async fn service_revision(client: &aws_sdk_ecs::Client, arn: &str) -> Result<Vec<Consumer>, Error> {
    let out = client
        .describe_service_revisions()
        .service_revision_arns(arn)
        .send()
        .await
        .map_err(|e| map_sdk_error("ecs:DescribeServiceRevisions", e))?;
    let Some(r) = out.service_revisions().first() else {
        let why: Vec<String> = out
            .failures()
            .iter()
            .map(|f| format!("{} {}", f.reason().unwrap_or(""), f.detail().unwrap_or("")))
            .collect();
        return Err(Error::NotFound(format!(
            "service revision {arn} ({})",
            why.join("; ").trim()
        )));
    };
    let Some(td_name) = r.task_definition() else {
        return Ok(Vec::new());
    };
    let mut td = ecs::describe_td(client, td_name).await?;
    // "The effective runtime overrides that Amazon ECS applies to this service revision ...
    // present only when Amazon ECS detects a difference between the task definition and the
    // actual runtime configuration" (ECS API Reference, ServiceRevision `overrides`;
    // RuntimePlatformOverride: the CPU architecture the revision's tasks run on, e.g. an Express
    // deployment moved to another architecture). Where present it decides, not the task
    // definition.
    if let Some(arch) = r
        .overrides()
        .and_then(|o| o.runtime_platform())
        .and_then(|p| p.cpu_architecture())
    {
        let declared = td.runtime_platform.take();
        td.runtime_platform = Some(
            aws_sdk_ecs::types::RuntimePlatform::builder()
                .cpu_architecture(aws_sdk_ecs::types::CpuArchitecture::from(arch))
                .set_operating_system_family(
                    declared.and_then(|d| d.operating_system_family().cloned()),
                )
                .build(),
        );
    }
    let providers: Vec<&str> = r
        .capacity_provider_strategy()
        .iter()
        .map(|c| c.capacity_provider())
        .collect();
    let w = ecs_placement::where_of(
        r.launch_type(),
        &providers,
        r.cluster_arn().unwrap_or_default(),
        &td,
    );
    let capacity = ecs::capacity_for(client, &w, &td).await?;
    let pins: ecs::Pins = r
        .container_images()
        .iter()
        .filter_map(|c| {
            Some((
                c.container_name()?.to_string(),
                c.image_digest()?.to_string(),
            ))
        })
        .collect();
    // service-revision/CLUSTER/SERVICE/ID
    let path = arn.split(":service-revision/").nth(1).unwrap_or(arn);
    let name = match path.rsplit_once('/') {
        Some((service, id)) => format!("{service} revision {id}"),
        None => path.to_string(),
    };
    Ok(ecs::consumers_of(
        ConsumerKind::EcsService,
        &name,
        r.service_arn().unwrap_or_default(),
        &td,
        &ecs_placement::placement(&w, &capacity),
        &pins,
    ))
}

/// An ECS Express Mode service (DescribeExpressGatewayService): the task definition of its
/// newest active configuration ("present for all Express services ... whether managed by
/// Amazon ECS or provided by the customer", ECS API Reference), on Fargate (an Express task
/// definition must be Fargate-compatible).
async fn express_service(client: &aws_sdk_ecs::Client, arn: &str) -> Result<Vec<Consumer>, Error> {
    let out = client
        .describe_express_gateway_service()
        .service_arn(arn)
        .send()
        .await
        .map_err(|e| map_sdk_error("ecs:DescribeExpressGatewayService", e))?;
    let service = out
        .service()
        .filter(|s| {
            s.status()
                .and_then(|st| st.status_code())
                .map(|c| c.as_str())
                != Some("INACTIVE")
        })
        .ok_or_else(|| Error::NotFound(format!("Express service {arn}")))?;
    let Some(td_name) = service
        .active_configurations()
        .iter()
        .max_by_key(|c| c.created_at().map(|t| (t.secs(), t.subsec_nanos())))
        .and_then(|c| c.task_definition_arn())
    else {
        return Ok(Vec::new());
    };
    let td = ecs::describe_td(client, td_name).await?;
    let name = format!(
        "{}/{} (Express Mode)",
        service.cluster().unwrap_or("default"),
        service.service_name().unwrap_or("?")
    );
    Ok(ecs::consumers_of(
        ConsumerKind::EcsService,
        &name,
        service.service_arn().unwrap_or(arn),
        &td,
        &crate::consumers::placement::Placement::Fargate,
        &ecs::Pins::new(),
    ))
}

/// A task definition run on its own (RegisterTaskDefinition): Fargate, or any cluster's
/// container instances.
async fn task_definition(client: &aws_sdk_ecs::Client, name: &str) -> Result<Vec<Consumer>, Error> {
    let td = ecs::describe_td(client, name).await?;
    let w = ecs_placement::td_where(&td);
    let capacity = ecs::capacity_for(client, &w, &td).await?;
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
    let td = ecs::describe_td(client, td_name).await?;
    let w = ecs_placement::service_where(s, &td);
    let capacity = ecs::capacity_for(client, &w, &td).await?;
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
