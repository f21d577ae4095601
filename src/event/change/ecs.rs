//! The ECS calls among the watched consumer changes, and the consumer each names:
//! `RegisterTaskDefinition`, `CreateService`, `UpdateService`, and ECS Express Mode's
//! `CreateExpressGatewayService` / `UpdateExpressGatewayService` (ECS API Reference: an Express
//! service is an ECS service, `…:service/CLUSTER/NAME`, whose `primaryContainer.image` runs on
//! `cpuArchitecture`, default X86_64, or on a task definition of the user's own).

use serde_json::Value;

use super::{present, text, Target};
use crate::util::error::Error;

/// The consumer an ECS call names, `Ok(Err(reason))` when it changes no image and no platform
/// (nothing to read), or an error when it names none.
pub(super) fn target(
    name: &str,
    req: &Value,
    resp: &Value,
    error: Option<&str>,
) -> Result<Result<Target, String>, Error> {
    let missing = |what: &str| {
        Error::Malformed(format!(
            "ecs.amazonaws.com {name} event names no {what} (neither requestParameters nor responseElements)"
        ))
    };
    let failed = || error.map(|e| format!(" ({e})")).unwrap_or_default();
    Ok(Ok(match name {
        "RegisterTaskDefinition" => Target::EcsTaskDefinition(
            text(resp, &["taskDefinition", "taskDefinitionArn"])
                .or_else(|| text(req, &["family"]))
                .ok_or_else(|| missing("task definition"))?
                .to_string(),
        ),
        "CreateService" => {
            // The cluster as the call named it (the default cluster when it named none); the
            // service from the response's ARN, else the request.
            let cluster = text(req, &["cluster"])
                .or_else(|| text(resp, &["service", "clusterArn"]))
                .unwrap_or("default");
            let service = text(resp, &["service", "serviceArn"])
                .or_else(|| text(req, &["serviceName"]))
                .ok_or_else(|| missing("service"))?;
            Target::EcsService {
                cluster: cluster.to_string(),
                service: service.to_string(),
            }
        }
        "UpdateService" => {
            let touches = present(req, "taskDefinition")
                || present(req, "capacityProviderStrategy")
                || req.get("forceNewDeployment") == Some(&Value::Bool(true));
            if !touches {
                return Ok(Err(format!(
                    "UpdateService changes neither the task definition nor the capacity (e.g. \
                     desiredCount only): no image or architecture changed, nothing read{}",
                    failed()
                )));
            }
            Target::EcsService {
                cluster: text(req, &["cluster"]).unwrap_or("default").to_string(),
                service: text(req, &["service"])
                    .ok_or_else(|| missing("service"))?
                    .to_string(),
            }
        }
        "CreateExpressGatewayService" => Target::EcsExpressService(
            text(resp, &["service", "serviceArn"])
                .ok_or_else(|| missing("service ARN"))?
                .to_string(),
        ),
        "UpdateExpressGatewayService" => {
            let touches = ["primaryContainer", "taskDefinitionArn", "cpuArchitecture"]
                .iter()
                .any(|k| present(req, k));
            if !touches {
                return Ok(Err(format!(
                    "UpdateExpressGatewayService changes neither the container, the task \
                     definition nor the CPU architecture (scaling, network or health check \
                     only): nothing read{}",
                    failed()
                )));
            }
            Target::EcsExpressService(
                text(req, &["serviceArn"])
                    .or_else(|| text(resp, &["service", "serviceArn"]))
                    .ok_or_else(|| missing("service ARN"))?
                    .to_string(),
            )
        }
        other => {
            return Err(Error::Malformed(format!(
                "ecs.amazonaws.com {other} is watched but has no reader"
            )))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/default/web-api";

    #[test]
    fn express_calls_name_the_service_and_scaling_only_updates_are_skipped() {
        let created = target(
            "CreateExpressGatewayService",
            &json!({"serviceName": "web-api", "primaryContainer": {"image": "x"}}),
            &json!({"service": {"serviceArn": ARN, "cluster": "default"}}),
            None,
        )
        .unwrap();
        assert_eq!(created, Ok(Target::EcsExpressService(ARN.into())));
        let image = target(
            "UpdateExpressGatewayService",
            &json!({"serviceArn": ARN, "primaryContainer": {"image": "y"}}),
            &Value::Null,
            None,
        )
        .unwrap();
        assert_eq!(image, Ok(Target::EcsExpressService(ARN.into())));
        let scaling = target(
            "UpdateExpressGatewayService",
            &json!({"serviceArn": ARN, "scalingTarget": {"minTaskCount": 2}}),
            &Value::Null,
            None,
        )
        .unwrap();
        assert!(matches!(scaling, Err(r) if r.contains("scaling")));
        assert!(target(
            "CreateExpressGatewayService",
            &json!({}),
            &Value::Null,
            None
        )
        .is_err());
    }
}
