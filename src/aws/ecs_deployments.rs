//! ECS service deployments for the deployment watcher (ECS API Reference): the service's
//! ongoing deployment (ListServiceDeployments filtered on PENDING and IN_PROGRESS, the newest by
//! `createdAt`; DescribeServiceDeployments for its lifecycle hooks) and its rollback
//! (StopServiceDeployment with `stopType` ROLLBACK, which "rolls back the service deployment to
//! the previous service revision … even if you didn't configure the service deployment for the
//! rollback option").

use aws_sdk_ecs::types::{ServiceDeploymentStatus, StopServiceDeploymentStopType};

use super::map_sdk_error;
use crate::consumers::service_deployment::ServiceDeployment;
use crate::util::error::Error;

/// The actions the watcher calls beyond the revision read ([`super::GATE_IAM_ACTIONS`]'s
/// DescribeServiceRevisions and the task definition reads): granted only with
/// `EcsDeploymentGuard` on; StopServiceDeployment only with `rollback`.
pub const WATCH_IAM_ACTIONS: [&str; 2] = [
    "ecs:ListServiceDeployments",
    "ecs:DescribeServiceDeployments",
];
pub const ROLLBACK_IAM_ACTIONS: [&str; 1] = ["ecs:StopServiceDeployment"];

/// The newest PENDING or IN_PROGRESS service deployment of `service` in `cluster`.
pub async fn ongoing(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Option<ServiceDeployment>, Error> {
    let listed = client
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .status(ServiceDeploymentStatus::Pending)
        .status(ServiceDeploymentStatus::InProgress)
        .send()
        .await
        .map_err(|e| map_sdk_error("ecs:ListServiceDeployments", e))?;
    let Some(newest) = listed
        .service_deployments()
        .iter()
        .filter(|d| d.service_deployment_arn().is_some())
        .max_by_key(|d| d.created_at().map(|t| (t.secs(), t.subsec_nanos())))
    else {
        return Ok(None);
    };
    let arn = newest
        .service_deployment_arn()
        .unwrap_or_default()
        .to_string();
    let described = client
        .describe_service_deployments()
        .service_deployment_arns(&arn)
        .send()
        .await
        .map_err(|e| map_sdk_error("ecs:DescribeServiceDeployments", e))?;
    let detail = described.service_deployments().first();
    let hook_targets = detail
        .and_then(|d| d.deployment_configuration())
        .map(|c| {
            c.lifecycle_hooks()
                .iter()
                .filter_map(|h| h.hook_target_arn().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let status = detail
        .and_then(|d| d.status())
        .or(newest.status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let target_revision = detail
        .and_then(|d| d.target_service_revision())
        .and_then(|r| r.arn())
        .or(newest.target_service_revision_arn())
        .map(str::to_string);
    Ok(Some(ServiceDeployment {
        arn,
        status,
        target_revision,
        hook_targets,
    }))
}

/// StopServiceDeployment(`arn`, ROLLBACK).
pub async fn roll_back(client: &aws_sdk_ecs::Client, arn: &str) -> Result<(), Error> {
    client
        .stop_service_deployment()
        .service_deployment_arn(arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .map_err(|e| map_sdk_error("ecs:StopServiceDeployment", e))?;
    Ok(())
}
